import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import { QueueSetupRepository } from '../modules/denials/queue-setup.repository';
import { CATEGORIES, CATEGORY_WORDS, type Category } from '../modules/denials/work-filter';
import { AuditService } from '../modules/staff/audit.service';
import type { StaffSession } from '../modules/staff/staff.service';
import { html, raw } from './html';
import { page } from './layout';
import { actorOf, Roles, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';


/**
 * Admin pages for what the queue is built on: the CARC (+ group, + RARC) → category rules and the
 * per-payer deadline days. A rule applies to items made from then on (and to open items when their
 * denial changes); every change is audited.
 */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Roles('admin')
@Controller('admin')
export class RulesController {
  constructor(
    private readonly setup: QueueSetupRepository,
    private readonly audit: AuditService,
  ) {}

  @Get('rules')
  async rules(@Res() res: Response, @Staff() session: StaffSession, @Query('done') done?: string, @Query('error') error?: string): Promise<void> {
    const [rules, settings, payers] = await Promise.all([this.setup.rules(), this.setup.deadlines(), this.setup.payers()]);
    const csrf = html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
    const categoryOptions = (selected: string): ReturnType<typeof html> =>
      html`${CATEGORIES.filter((c) => c !== 'uncategorised').map((c) => html`<option value="${c}"${c === selected ? raw(' selected') : ''}>${CATEGORY_WORDS[c]}</option>`)}`;
    res.type('html').send(page({
      title: 'Denial rules',
      session,
      section: 'admin',
      body: html`<h1>Denial categories and deadlines</h1>
        ${typeof done === 'string' && done !== '' ? html`<div class="notice" role="status">${done.slice(0, 200)}</div>` : ''}
        ${typeof error === 'string' && error !== '' ? html`<p class="error" role="alert">${error.slice(0, 200)}</p>` : ''}
        <h2>Add or change a rule</h2>
        <form method="post" action="/admin/rules" class="filters">${csrf}
          <div class="field"><label for="r-carc">CARC</label><input id="r-carc" name="carc" required size="4" pattern="[A-Za-z0-9]{1,3}"></div>
          <div class="field"><label for="r-group">Group (optional)</label><select id="r-group" name="group"><option value="">any</option>${['CO', 'OA', 'PI', 'PR'].map((g) => html`<option>${g}</option>`)}</select></div>
          <div class="field"><label for="r-rarc">RARC (optional)</label><input id="r-rarc" name="rarc" size="6" pattern="[A-Za-z0-9]{2,6}"></div>
          <div class="field"><label for="r-cat">Category</label><select id="r-cat" name="category">${categoryOptions('other')}</select></div>
          <div class="field"><label for="r-rec">Recoverability (0-1)</label><input id="r-rec" name="recoverability" value="0.50" size="5" required></div>
          <div class="field"><label for="r-step">Next step</label><input id="r-step" name="nextStep" size="40" required minlength="5" maxlength="500"></div>
          <button type="submit">Save rule</button>
        </form>
        <table><caption>${rules.length} rules (a CARC with a RARC or group is more specific than the CARC alone; a combination no rule covers is uncategorised)</caption>
          <thead><tr><th scope="col">CARC</th><th scope="col">Group</th><th scope="col">RARC</th><th scope="col">Category</th><th scope="col" class="num">Recoverability</th><th scope="col">Next step</th><th scope="col">Set by</th><th scope="col">Action</th></tr></thead>
          <tbody>${rules.map((r) => html`<tr><td>${r.carc}</td><td>${r.group_code ?? 'any'}</td><td>${r.rarc ?? 'any'}</td><td>${CATEGORY_WORDS[r.category]}</td><td class="num">${r.recoverability}</td><td>${r.next_step}</td><td>${r.updated_by}</td>
            <td><form method="post" action="/admin/rules/${r.id}/delete" data-confirm="Delete the rule for CARC ${r.carc}?">${csrf}<button type="submit" class="secondary" aria-label="Delete the rule for CARC ${r.carc}${r.rarc !== null ? ` with ${r.rarc}` : ''}">Delete</button></form></td></tr>`)}</tbody>
        </table>
        <h2>Deadlines (days)</h2>
        <table><caption>Appeal from the denial date, timely filing from the date of service, no response after sending</caption>
          <thead><tr><th scope="col">Payer</th><th scope="col" class="num">Appeal</th><th scope="col" class="num">Timely filing</th><th scope="col" class="num">No response</th></tr></thead>
          <tbody>${settings.map((x) => html`<tr><td>${x.payer === null ? 'Default (every other payer)' : `${x.name ?? ''} (${x.payer})`}</td><td class="num">${x.appeal}</td><td class="num">${x.filing}</td><td class="num">${x.noResponse}</td></tr>`)}</tbody>
        </table>
        <form method="post" action="/admin/deadlines" class="filters">${csrf}
          <div class="field"><label for="d-payer">Payer</label><select id="d-payer" name="payer"><option value="">Default</option>${payers.map((p) => html`<option value="${p.id}">${p.name} (${p.payerId})</option>`)}</select></div>
          <div class="field"><label for="d-appeal">Appeal days</label><input id="d-appeal" name="appeal" size="4" required inputmode="numeric" pattern="[0-9]{1,4}"></div>
          <div class="field"><label for="d-filing">Timely filing days</label><input id="d-filing" name="filing" size="4" required inputmode="numeric" pattern="[0-9]{1,4}"></div>
          <div class="field"><label for="d-none">No response days</label><input id="d-none" name="noResponse" size="4" required inputmode="numeric" pattern="[0-9]{1,4}"></div>
          <button type="submit">Save deadlines</button>
        </form>`,
    }));
  }

  @Post('rules')
  @HttpCode(200)
  async saveRule(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
    const carc = str(body.carc).toUpperCase();
    const group = str(body.group) === '' ? null : str(body.group).toUpperCase();
    const rarc = str(body.rarc) === '' ? null : str(body.rarc).toUpperCase();
    const category = str(body.category);
    const recoverability = str(body.recoverability);
    const nextStep = str(body.nextStep);
    const problem = !/^[A-Z0-9]{1,3}$/.test(carc) ? 'the CARC must be 1 to 3 letters or digits'
      : group !== null && !['CO', 'OA', 'PI', 'PR'].includes(group) ? 'the group must be CO, OA, PI or PR'
      : rarc !== null && !/^[A-Z0-9]{2,6}$/.test(rarc) ? 'the RARC must be 2 to 6 letters or digits'
      : !(CATEGORIES as readonly string[]).includes(category) || category === 'uncategorised' ? 'choose a category'
      : !/^(0(\.\d{1,2})?|1(\.0{1,2})?)$/.test(recoverability) ? 'recoverability is a number from 0 to 1 with at most two decimals'
      : nextStep.length < 5 || nextStep.length > 500 ? 'the next step needs 5 to 500 characters' : null;
    if (problem !== null) {
      res.redirect(303, `/admin/rules?error=${encodeURIComponent(`Nothing saved: ${problem}.`)}`);
      return;
    }
    const actor = actorOf(req);
    await this.setup.transaction(async (m) => {
      await this.setup.saveRule(m, { carc, group, rarc, category, recoverability, nextStep }, actor.name);
      await this.audit.record(actor, { action: 'rule.save', objectType: 'denial_category_rule', objectId: `${carc}/${group ?? '*'}/${rarc ?? '*'}`, detail: { category, recoverability } }, m);
    });
    res.redirect(303, `/admin/rules?done=${encodeURIComponent(`Rule for CARC ${carc}${rarc !== null ? ` with ${rarc}` : ''} saved: ${CATEGORY_WORDS[category as Category]}.`)}`);
  }

  @Post('rules/:id/delete')
  @HttpCode(200)
  async deleteRule(@Req() req: Request, @Res() res: Response, @Param('id') id: string): Promise<void> {
    if (!/^\d{1,18}$/.test(id)) {
      res.redirect(303, '/admin/rules?error=No%20such%20rule.');
      return;
    }
    const actor = actorOf(req);
    const deleted = await this.setup.transaction(async (m) => {
      const carc = await this.setup.deleteRule(m, id);
      if (carc !== null) await this.audit.record(actor, { action: 'rule.delete', objectType: 'denial_category_rule', objectId: id, detail: { carc } }, m);
      return carc !== null;
    });
    res.redirect(303, deleted ? '/admin/rules?done=Rule%20deleted.' : '/admin/rules?error=No%20such%20rule.');
  }

  @Post('deadlines')
  @HttpCode(200)
  async saveDeadlines(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const num = (v: unknown): number | null => (typeof v === 'string' && /^\d{1,4}$/.test(v.trim()) && Number(v) > 0 ? Number(v) : null);
    const payer = typeof body.payer === 'string' && /^\d{1,18}$/.test(body.payer) ? body.payer : null;
    const [appeal, filing, noResponse] = [num(body.appeal), num(body.filing), num(body.noResponse)];
    if (appeal === null || filing === null || noResponse === null) {
      res.redirect(303, '/admin/rules?error=' + encodeURIComponent('Nothing saved: each number of days must be from 1 to 9999.'));
      return;
    }
    const actor = actorOf(req);
    await this.setup.transaction(async (m) => {
      await this.setup.saveDeadlines(m, payer, { appeal, filing, noResponse }, actor.name);
      await this.audit.record(actor, { action: 'deadlines.save', objectType: 'work_setting', objectId: payer ?? 'default', detail: { appeal, filing, noResponse } }, m);
    });
    res.redirect(303, '/admin/rules?done=' + encodeURIComponent('Deadlines saved; they apply to items made or updated from now on.'));
  }
}
