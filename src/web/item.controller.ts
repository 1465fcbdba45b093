import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import { CATEGORIES, CATEGORY_WORDS, CLOSED_STATUSES, KIND_WORDS, STATUS_WORDS, deadlineWords, priority, type Category, type WorkKind, type WorkStatus } from '../modules/denials/work-filter';
import { QueueSetupRepository } from '../modules/denials/queue-setup.repository';
import { WorkItemsQueries, type WorkItemDetail } from '../modules/denials/work-items.queries';
import { SETTABLE_STATUSES, WorkItemError, WorkItemsService } from '../modules/denials/work-items.service';
import { GROUP_WORDS } from '../modules/remittance/remittance.queries';
import { AuditService } from '../modules/staff/audit.service';
import type { StaffSession } from '../modules/staff/staff.service';
import { html, raw, type Html } from './html';
import { messagePage, page } from './layout';
import { actorOf, Roles, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';

/** One work item: what happened, why it matters (priority explained), what to do next, and the actions. */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Controller('items')
export class ItemController {
  constructor(
    private readonly queries: WorkItemsQueries,
    private readonly work: WorkItemsService,
    private readonly audit: AuditService,
    private readonly setup: QueueSetupRepository,
  ) {}

  @Get(':id')
  async show(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Query('done') done?: string): Promise<void> {
    await this.render(req, res, session, id, typeof done === 'string' && done !== '' ? done.slice(0, 200) : null, null);
  }

  private async render(req: Request, res: Response, session: StaffSession, id: string, message: string | null, error: string | null, status = 200): Promise<void> {
    const item = await this.queries.item(id);
    if (item === null) {
      res.status(404).type('html').send(messagePage(session, 'No such work item', `There is no work item ${id}.`));
      return;
    }
    const [timeline, codes, workers, letters] = await Promise.all([
      this.queries.timeline(item),
      this.queries.describeCodes(item.carcs, item.rarcs),
      this.setup.workers(),
      this.setup.letters(id),
    ]);
    await this.audit.record(actorOf(req), { action: 'work.view', objectType: 'work_item', objectId: item.id, detail: { claimId: item.claimId } });
    res.status(status).type('html').send(page({ title: `Work item ${item.id}`, session, section: 'queue', body: this.body(session, item, timeline, codes, workers, letters, message, error) }));
  }

  private body(
    session: StaffSession, i: WorkItemDetail, timeline: Awaited<ReturnType<WorkItemsQueries['timeline']>>, codes: Awaited<ReturnType<WorkItemsQueries['describeCodes']>>,
    workers: { id: string; email: string }[], letters: { id: string; created: string; actor: string }[], message: string | null, error: string | null,
  ): Html {
    const canWork = session.role !== 'viewer';
    const p = priority(i.amount, i.recoverability, i.daysLeft);
    const csrf = html`<input type="hidden" name="_csrf" value="${session.csrfToken}"><input type="hidden" name="version" value="${i.version}">`;
    const closed = (CLOSED_STATUSES as readonly string[]).includes(i.status);
    return html`<p><a href="/">← Work queue</a></p>
      <h1>${KIND_WORDS[i.kind as WorkKind]}: ${i.patientControlNumber ?? `payment ${i.claimPaymentId ?? ''}`}${i.lineNumber !== null ? ` line ${i.lineNumber}` : ''}</h1>
      ${message !== null ? html`<div class="notice" role="status">${message}</div>` : ''}
      ${error !== null ? html`<p class="error" role="alert">${error}</p>` : ''}
      <div class="item-grid">
        <section aria-labelledby="h-facts"><h2 id="h-facts">The item</h2>
          <dl class="facts">
            <dt>Status</dt><dd>${STATUS_WORDS[i.status as WorkStatus]}${i.followUpOn !== null ? ` until ${i.followUpOn}` : ''}${i.closedReason !== null ? html` <span class="muted">(${i.closedReason})</span>` : ''}</dd>
            <dt>Owner</dt><dd>${i.ownerEmail ?? 'unassigned'}</dd>
            <dt>Patient</dt><dd>${i.patientName ?? '—'}</dd>
            <dt>Payer</dt><dd>${i.payerName ?? '—'} ${i.payerId !== null ? html`<span class="muted">(${i.payerId})</span>` : ''}</dd>
            <dt>Provider</dt><dd>${i.providerName ?? '—'}</dd>
            <dt>Claim</dt><dd>${i.patientControlNumber ?? '—'}${i.claimStatus !== null ? ` (${i.claimStatus.replace(/_/g, ' ')})` : ''}${i.billed !== null ? `, billed ${i.billed}` : ''}</dd>
            ${i.lineNumber !== null ? html`<dt>Line</dt><dd>${i.lineNumber}: ${i.procedureCode ?? ''}</dd>` : ''}
            <dt>Date of service</dt><dd>${i.serviceDate ?? '—'}</dd>
            <dt>Amount at stake</dt><dd class="num-inline">${i.amount}</dd>
            <dt>Category</dt><dd>${CATEGORY_WORDS[i.category as Category]}${i.categoryCarc !== null ? html` <span class="muted">(from CARC ${i.categoryCarc})</span>` : ''}${i.categorySetBy !== null ? html` <span class="muted">(set by ${i.categorySetBy})</span>` : ''}</dd>
            <dt>Deadline</dt><dd>${i.deadline} — ${deadlineWords(i.daysLeft)}</dd>
            ${i.appealDeadline !== null ? html`<dt>Appeal by</dt><dd>${i.appealDeadline}</dd>` : ''}
            ${i.timelyFilingDeadline !== null ? html`<dt>Timely filing ends</dt><dd>${i.timelyFilingDeadline}</dd>` : ''}
            <dt>Opened</dt><dd>${i.openedOn} (${i.ageDays} days ago)</dd>
            <dt>Priority</dt><dd><strong>${p.value}</strong><br><small>${p.explanation}</small></dd>
          </dl>
        </section>
        <section aria-labelledby="h-why"><h2 id="h-why">Why</h2>
          ${codes.carcs.length === 0 && codes.rarcs.length === 0 ? html`<p class="muted">No adjustment codes (${KIND_WORDS[i.kind as WorkKind]}).</p>` : ''}
          <ul class="codes">
            ${codes.carcs.map((c) => html`<li><strong>${c.group}-${c.reason}</strong> ${c.amount}: ${c.text}${c.status !== 'current' ? html` <span class="tag">${c.status}</span>` : ''}<br><small class="muted">${c.group}: ${GROUP_WORDS[c.group] ?? 'unknown group code'}</small></li>`)}
            ${codes.rarcs.map((r) => html`<li><strong>${r.code}</strong>: ${r.text}${r.status !== 'current' ? html` <span class="tag">${r.status}</span>` : ''}</li>`)}
          </ul>
          <h2>Next step</h2>
          <p>${i.nextStep}</p>
        </section>
      </div>
      ${canWork ? html`<section aria-labelledby="h-act"><h2 id="h-act">Work it</h2>
        <div class="actions">
          <form method="post" action="/items/${i.id}/assign">${csrf}
            ${i.ownerId === session.userId
              ? html`<input type="hidden" name="owner" value="none"><button type="submit" class="secondary">Release</button>`
              : html`<input type="hidden" name="owner" value="me"><button type="submit">Take it</button>`}
          </form>
          <form method="post" action="/items/${i.id}/assign" class="inline-form">${csrf}
            <label for="assign-to">Assign to</label>
            <select id="assign-to" name="owner">${workers.map((w) => html`<option value="${w.id}"${w.id === i.ownerId ? raw(' selected') : ''}>${w.email}</option>`)}</select>
            <button type="submit" class="secondary">Assign</button>
          </form>
          <form method="post" action="/items/${i.id}/status" class="inline-form">${csrf}
            <label for="set-status">Status</label>
            <select id="set-status" name="status">${SETTABLE_STATUSES.map((s) => html`<option value="${s}"${s === i.status ? raw(' selected') : ''}>${STATUS_WORDS[s]}</option>`)}</select>
            <label for="follow-up">follow-up date (for pending)</label><input id="follow-up" name="followUpOn" type="date" value="${i.followUpOn ?? ''}">
            <button type="submit" class="secondary">Set status</button>
          </form>
          <form method="post" action="/items/${i.id}/category" class="inline-form">${csrf}
            <label for="set-category">Category</label>
            <select id="set-category" name="category">${CATEGORIES.filter((c) => c !== 'uncategorised').map((c) => html`<option value="${c}"${c === i.category ? raw(' selected') : ''}>${CATEGORY_WORDS[c]}</option>`)}</select>
            <button type="submit" class="secondary">Set category</button>
          </form>
        </div>
        ${!closed && i.claimId !== null && i.kind !== 'unmatched' ? html`<form method="post" action="/items/${i.id}/resubmit" class="inline-form" data-confirm="Make a replacement claim (frequency 7) from the encounter's current data and send it in the next batch?">${csrf}
          <button type="submit">Correct and resubmit</button> <span class="muted">A replacement claim (frequency 7, REF*F8 ${i.claimStatus !== null ? 'with the payer\'s claim number' : ''}) built from the encounter as it is now: correct the charges or registration first.</span>
        </form>` : ''}
        ${!closed && i.kind === 'denial' ? html`<form method="post" action="/items/${i.id}/appeal" class="inline-form">${csrf}
          <button type="submit" class="secondary">Appeal (letter as PDF)</button> <span class="muted">A letter with the denial, the ${CATEGORY_WORDS[i.category as Category].toLowerCase()} argument and proof of timely filing from our 837 and its acknowledgements.</span>
        </form>` : ''}
        ${letters.length > 0 ? html`<p>Appeal letters: ${letters.map((l) => html`<a href="/items/${i.id}/letters/${l.id}.pdf">${l.created} by ${l.actor}</a> `)}</p>` : ''}
        ${!closed ? html`<form method="post" action="/items/${i.id}/write-off" class="inline-form" data-confirm="Write off this amount? It is posted and cannot be undone.">${csrf}
          <label for="wo-amount">Write off</label><input id="wo-amount" name="amount" value="${i.amount}" size="9" inputmode="decimal" required>
          <label for="wo-reason">reason</label><input id="wo-reason" name="reason" size="30" minlength="3" maxlength="500" required>
          <button type="submit" class="danger">Write off</button>
        </form>` : ''}
        <form method="post" action="/items/${i.id}/note" class="note-form">${csrf}
          <div class="field"><label for="note">Add a note</label><textarea id="note" name="note" rows="3" cols="60" maxlength="4000" required></textarea></div>
          <button type="submit">Add note</button>
        </form>
        ${closed ? html`<p class="muted">This item is closed; setting a status such as New or In progress reopens it.</p>` : ''}
      </section>` : ''}
      <section aria-labelledby="h-story"><h2 id="h-story">The story</h2>
        <ol class="timeline">
          ${timeline.map((t) => html`<li class="t-${t.source}"><time datetime="${t.at}">${t.at.slice(0, 16).replace('T', ' ')}</time> <strong>${t.title}</strong>${t.actor !== null ? html` <span class="muted">by ${t.actor}</span>` : ''}${t.detail !== null ? html`<br><span class="detail">${t.detail}</span>` : ''}</li>`)}
        </ol>
      </section>`;
  }

  private async act(req: Request, res: Response, session: StaffSession, id: string, fn: () => Promise<string>): Promise<void> {
    try {
      const said = await fn();
      // Post, redirect, get: a reload does not post again.
      res.redirect(303, `/items/${id}?done=${encodeURIComponent(said)}`);
    } catch (e) {
      if (!(e instanceof WorkItemError)) throw e;
      await this.render(req, res, session, id, null, `Nothing changed: ${e.message}.`, e.code === 'changed' ? 409 : e.code === 'not_found' ? 404 : 400);
    }
  }

  private static version(body: Record<string, unknown>): number | undefined {
    const v = typeof body.version === 'string' ? Number.parseInt(body.version, 10) : NaN;
    return Number.isInteger(v) ? v : undefined;
  }

  @Post(':id/assign')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async assign(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    const owner = typeof body.owner === 'string' ? body.owner : '';
    await this.act(req, res, session, id, async () => {
      const to = owner === 'me' ? session.userId : owner === 'none' ? null : owner;
      await this.work.assign([id], to, actorOf(req), ItemController.version(body));
      return to === null ? 'Released.' : to === session.userId ? 'You own it now.' : 'Assigned.';
    });
  }

  @Post(':id/status')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async status(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    const status = typeof body.status === 'string' ? body.status : '';
    const followUpOn = typeof body.followUpOn === 'string' && status === 'pending' ? body.followUpOn : undefined;
    await this.act(req, res, session, id, async () => {
      await this.work.setStatus([id], status, { followUpOn, actor: actorOf(req), version: ItemController.version(body) });
      return `Status: ${STATUS_WORDS[status as WorkStatus]}.`;
    });
  }

  @Post(':id/resubmit')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async resubmit(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    await this.act(req, res, session, id, async () => {
      const r = await this.work.resubmit(id, actorOf(req), ItemController.version(body));
      return `Replacement claim ${r.claimId} made (${r.status}); it goes out in the next batch.`;
    });
  }

  @Post(':id/appeal')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async appeal(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    await this.act(req, res, session, id, async () => {
      const r = await this.work.appeal(id, actorOf(req), ItemController.version(body));
      return `Appeal letter ${r.letterId} made (PDF below); the item is appealed.`;
    });
  }

  @Get(':id/letters/:letter')
  async letter(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Param('letter') letter: string): Promise<void> {
    const letterId = letter.replace(/\.pdf$/, '');
    const pdf = await this.work.letter(id, letterId);
    if (pdf === null) {
      res.status(404).type('html').send(messagePage(session, 'No such letter', `Work item ${id} has no letter ${letterId}.`));
      return;
    }
    await this.audit.record(actorOf(req), { action: 'work.letter', objectType: 'work_item', objectId: id, detail: { letterId } });
    res.setHeader('Content-Type', 'application/pdf');
    res.setHeader('Content-Disposition', `attachment; filename="appeal-${letterId}.pdf"`);
    res.send(pdf);
  }

  @Post(':id/write-off')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async writeOff(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    await this.act(req, res, session, id, async () => {
      const r = await this.work.writeOff(id, typeof body.amount === 'string' ? body.amount : '', typeof body.reason === 'string' ? body.reason : '', { ...actorOf(req), role: session.role }, ItemController.version(body));
      return `Written off ${r.amount}.`;
    });
  }

  @Post(':id/note')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async note(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    await this.act(req, res, session, id, async () => {
      await this.work.note(id, typeof body.note === 'string' ? body.note : '', actorOf(req));
      return 'Note added.';
    });
  }

  @Post(':id/category')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async category(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Body() body: Record<string, unknown>): Promise<void> {
    await this.act(req, res, session, id, async () => {
      await this.work.setCategory(id, typeof body.category === 'string' ? body.category : '', actorOf(req), ItemController.version(body));
      return 'Category set.';
    });
  }
}
