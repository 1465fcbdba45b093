import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import { DEFAULT_ARGUMENTS, PLACEHOLDERS, templateProblem } from '../modules/denials/appeal-letter';
import { QueueSetupRepository } from '../modules/denials/queue-setup.repository';
import { CATEGORIES, CATEGORY_WORDS, type Category } from '../modules/denials/work-filter';
import { AuditService } from '../modules/staff/audit.service';
import type { StaffSession } from '../modules/staff/staff.service';
import { html } from './html';
import { page } from './layout';
import { actorOf, Roles, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';

const isCategory = (c: string): c is Category => (CATEGORIES as readonly string[]).includes(c);

/**
 * Admin page for the appeal letters' argument, one template per denial category: the shipped text
 * until an admin writes another, placeholders checked on save, reset to the shipped text; audited.
 * Letters already generated keep their text.
 */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Roles('admin')
@Controller('admin/letters')
export class LettersController {
  constructor(
    private readonly setup: QueueSetupRepository,
    private readonly audit: AuditService,
  ) {}

  @Get()
  async show(@Res() res: Response, @Staff() session: StaffSession, @Query('done') done?: string, @Query('error') error?: string): Promise<void> {
    const templates = await this.setup.templates();
    const csrf = html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
    res.type('html').send(page({
      title: 'Appeal letters',
      session,
      section: 'admin',
      body: html`<h1>Appeal letter templates</h1>
        ${typeof done === 'string' && done !== '' ? html`<div class="notice" role="status">${done.slice(0, 200)}</div>` : ''}
        ${typeof error === 'string' && error !== '' ? html`<p class="error" role="alert">${error.slice(0, 300)}</p>` : ''}
        <p>Each denial category's letter argues with the text below; the letter adds the claim, the denial's codes in words, the request and the proof of timely filing from our own records.
          A blank line starts a new paragraph. Letters already generated keep their text.</p>
        <table><caption>Placeholders a template may use</caption>
          <thead><tr><th scope="col">Placeholder</th><th scope="col">Stands for</th></tr></thead>
          <tbody>${Object.entries(PLACEHOLDERS).map(([k, p]) => html`<tr><td><code>{${k}}</code></td><td>${p.says}</td></tr>`)}</tbody>
        </table>
        ${CATEGORIES.map((c) => {
          const t = templates.get(c);
          return html`<section aria-labelledby="h-${c}"><h2 id="h-${c}">${CATEGORY_WORDS[c]}</h2>
            <p class="muted">${t ? `Edited by ${t.updatedBy} on ${t.updatedAt} UTC.` : 'The shipped text.'}</p>
            <form method="post" action="/admin/letters/${c}">${csrf}
              <label for="t-${c}">Argument for ${CATEGORY_WORDS[c]}</label>
              <textarea id="t-${c}" name="body" rows="5" cols="100" required minlength="20" maxlength="4000">${t?.body ?? DEFAULT_ARGUMENTS[c]}</textarea>
              <button type="submit">Save</button>
            </form>
            ${t ? html`<form method="post" action="/admin/letters/${c}/reset" data-confirm="Go back to the shipped text for ${CATEGORY_WORDS[c]}?">${csrf}<button type="submit" class="secondary">Use the shipped text</button></form>` : ''}
          </section>`;
        })}`,
    }));
  }

  @Post(':category')
  @HttpCode(200)
  async save(@Req() req: Request, @Res() res: Response, @Param('category') category: string, @Body() body: Record<string, unknown>): Promise<void> {
    if (!isCategory(category)) {
      res.redirect(303, '/admin/letters?error=No%20such%20category.');
      return;
    }
    const text = typeof body.body === 'string' ? body.body.trim().replace(/\r\n?/g, '\n') : '';
    const problem = templateProblem(text);
    if (problem !== null) {
      res.redirect(303, `/admin/letters?error=${encodeURIComponent(`Nothing saved for ${CATEGORY_WORDS[category]}: ${problem}.`)}#h-${category}`);
      return;
    }
    const actor = actorOf(req);
    await this.setup.transaction(async (m) => {
      await this.setup.saveTemplate(m, category, text, actor.name);
      await this.audit.record(actor, { action: 'letter_template.save', objectType: 'appeal_template', objectId: category, detail: { characters: text.length } }, m);
    });
    res.redirect(303, `/admin/letters?done=${encodeURIComponent(`Template for ${CATEGORY_WORDS[category]} saved; letters generated from now on use it.`)}#h-${category}`);
  }

  @Post(':category/reset')
  @HttpCode(200)
  async reset(@Req() req: Request, @Res() res: Response, @Param('category') category: string): Promise<void> {
    if (!isCategory(category)) {
      res.redirect(303, '/admin/letters?error=No%20such%20category.');
      return;
    }
    const actor = actorOf(req);
    await this.setup.transaction(async (m) => {
      if (await this.setup.resetTemplate(m, category)) await this.audit.record(actor, { action: 'letter_template.reset', objectType: 'appeal_template', objectId: category }, m);
    });
    res.redirect(303, `/admin/letters?done=${encodeURIComponent(`${CATEGORY_WORDS[category]} uses the shipped text again.`)}#h-${category}`);
  }
}
