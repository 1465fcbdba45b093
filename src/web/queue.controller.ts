import { Body, Controller, Get, HttpCode, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import {
  CATEGORIES, CATEGORY_WORDS, DUE_BUCKETS, DUE_WORDS, KIND_WORDS, KINDS, AGE_BUCKETS, SORTS, STATUS_WORDS, WORK_STATUSES, deadlineWords, parseWorkFilter, workFilterParams,
  type Category, type WorkFilter, type WorkKind, type WorkStatus,
} from '../modules/denials/work-filter';
import { QueueSetupRepository } from '../modules/denials/queue-setup.repository';
import { WorkItemsQueries, type WorkRow } from '../modules/denials/work-items.queries';
import { SETTABLE_STATUSES, WorkItemError, WorkItemsService } from '../modules/denials/work-items.service';
import { AuditService } from '../modules/staff/audit.service';
import type { StaffSession } from '../modules/staff/staff.service';
import { csvRow } from './csv';
import { html, query, raw, type Html } from './html';
import { page } from './layout';
import { actorOf, Roles, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';

export const PAGE_SIZE = 50;

const SORT_WORDS: Record<(typeof SORTS)[number], string> = { deadline: 'Deadline', amount: 'Amount', age: 'Age', priority: 'Priority' };

function deadlineCell(r: { deadline: string; daysLeft: number }): Html {
  const cls = r.daysLeft < 0 ? 'overdue' : r.daysLeft <= 7 ? 'soon' : '';
  return html`<span class="${cls}">${r.deadline}<br><small>${deadlineWords(r.daysLeft)}</small></span>`;
}

function select(name: string, id: string, label: string, options: readonly { value: string; text: string }[], selected: readonly string[], multiple = false): Html {
  return html`<div class="field"><label for="${id}">${label}</label><select id="${id}" name="${name}"${multiple ? raw(' multiple size="4"') : ''}>
    ${options.map((o) => html`<option value="${o.value}"${selected.includes(o.value) ? raw(' selected') : ''}>${o.text}</option>`)}</select></div>`;
}

/**
 * The work queue: the list a biller lands on (filters in the URL, counts per bucket, sorting,
 * paging, bulk actions, CSV export of the whole filtered set, saved views). htmx swaps the results
 * when a filter changes and pushes the URL; a direct load renders the whole page.
 */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Controller()
export class QueueController {
  constructor(
    private readonly queries: WorkItemsQueries,
    private readonly work: WorkItemsService,
    private readonly audit: AuditService,
    private readonly setup: QueueSetupRepository,
  ) {}

  @Get()
  async list(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Query() q: Record<string, unknown>): Promise<void> {
    const { filter: f, ignored } = parseWorkFilter(q);
    const [r, counts, workers, payers, views] = await Promise.all([
      this.queries.list(f, session.userId, PAGE_SIZE), this.queries.counts(f, session.userId), this.setup.workers(), this.setup.payers(), this.setup.views(session.userId),
    ]);
    await this.audit.record(actorOf(req), { action: 'work.list', detail: { query: query(workFilterParams(f)), shown: r.items.length, total: r.total, items: r.items.map((i) => i.id) } });
    res.setHeader('Vary', 'HX-Request');
    res.type('html').send(page({ title: 'Work queue', session, section: 'queue', body: this.listBody(session, f, r, counts, workers, payers, views, ignored, typeof q.done === 'string' ? q.done : null) }));
  }

  private listBody(
    session: StaffSession, f: WorkFilter, r: { items: WorkRow[]; total: number }, counts: Awaited<ReturnType<WorkItemsQueries['counts']>>,
    workers: { id: string; email: string }[], payerRows: { payerId: string; name: string }[], views: { id: string; name: string; query: string; shared: boolean; mine: boolean }[], ignored: string[], done: string | null,
  ): Html {
    const canWork = session.role !== 'viewer';
    // One option per X12 payer id (several setup entries may share one).
    const payers = [...new Map(payerRows.map((p) => [p.payerId, p])).values()];
    const params = workFilterParams(f);
    const pages = Math.max(1, Math.ceil(r.total / PAGE_SIZE));
    const link = (over: Partial<WorkFilter>): string => `/${query(workFilterParams(f, { page: 1, ...over }))}`;
    const sortLink = (s: (typeof SORTS)[number], label: string): Html => {
      const active = f.sort === s;
      const nextDir = active ? (f.dir === 'asc' ? 'desc' : 'asc') : s === 'deadline' ? 'asc' : 'desc';
      return html`<a href="${link({ sort: s, dir: nextDir })}"${active ? raw(` aria-current="true"`) : ''}>${label}${active ? (f.dir === 'asc' ? ' ▲' : ' ▼') : ''}</a>`;
    };
    const th = (s: (typeof SORTS)[number] | null, label: string, cls = ''): Html => {
      const sort = s !== null && f.sort === s ? raw(` aria-sort="${f.dir === 'asc' ? 'ascending' : 'descending'}"`) : '';
      return html`<th scope="col"${cls !== '' ? html` class="${cls}"` : ''}${sort}>${s !== null ? sortLink(s, label) : label}</th>`;
    };
    const ownerOptions = [
      { value: 'mine+unassigned', text: 'Me and unassigned' }, { value: 'mine', text: 'Me' }, { value: 'unassigned', text: 'Unassigned' }, { value: 'any', text: 'Anyone' },
      ...workers.map((w) => ({ value: w.id, text: w.email })),
    ];
    const statusSelected = f.status.length === 0 ? ['open'] : f.status.length === WORK_STATUSES.length ? ['all'] : f.status;
    return html`<h1>Work queue</h1>
      ${done !== null ? html`<div class="notice" role="status">${done}</div>` : ''}
      ${ignored.length > 0 ? html`<p class="notice" role="status">Not understood and left out of the filter: ${ignored.join(', ')}</p>` : ''}
      <nav class="buckets" aria-label="Due">
        ${DUE_BUCKETS.map((b) => html`<a href="${link({ due: f.due === b ? undefined : b })}" class="bucket ${b}"${f.due === b ? raw(' aria-current="true"') : ''}>${DUE_WORDS[b]} <strong>${counts.due[b]}</strong></a>`)}
      </nav>
      ${views.length > 0 ? html`<nav class="views" aria-label="Saved views">Saved views: ${views.map((v) => html`<a href="/${v.query}">${v.name}</a>${v.shared ? html` <small class="muted">(shared${v.mine ? '' : ''})</small>` : ''} `)}</nav>` : ''}
      <form id="filters" class="filters" method="get" action="/" role="search" aria-label="Filter the work queue"
            hx-get="/" hx-target="#results" hx-select="#results" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change, submit">
        ${select('status', 'f-status', 'Status', [{ value: 'open', text: 'Open (all)' }, ...WORK_STATUSES.map((s) => ({ value: s, text: `${STATUS_WORDS[s]} (${counts.status[s] ?? 0})` })), { value: 'closed', text: 'Closed' }, { value: 'all', text: 'All' }], statusSelected, true)}
        ${select('category', 'f-category', 'Category', CATEGORIES.map((c) => ({ value: c, text: `${CATEGORY_WORDS[c]} (${counts.category[c] ?? 0})` })), f.category, true)}
        ${select('kind', 'f-kind', 'Kind', KINDS.map((k) => ({ value: k, text: KIND_WORDS[k] })), f.kind, true)}
        ${select('owner', 'f-owner', 'Owner', ownerOptions, [f.owner])}
        ${select('payer', 'f-payer', 'Payer', [{ value: '', text: 'Any payer' }, ...payers.map((p) => ({ value: p.payerId, text: `${p.name} (${p.payerId})` }))], [f.payer ?? ''])}
        <div class="field"><label for="f-carc">CARC</label><input id="f-carc" name="carc" value="${f.carc ?? ''}" size="4"></div>
        <div class="field"><label for="f-rarc">RARC</label><input id="f-rarc" name="rarc" value="${f.rarc ?? ''}" size="6"></div>
        ${select('age', 'f-age', 'Age (days open)', [{ value: '', text: 'Any' }, ...AGE_BUCKETS.map((a) => ({ value: a, text: a }))], [f.age ?? ''])}
        <div class="field"><label for="f-min">Amount from</label><input id="f-min" name="amountMin" value="${f.amountMin ?? ''}" size="8" inputmode="decimal"></div>
        <div class="field"><label for="f-max">Amount to</label><input id="f-max" name="amountMax" value="${f.amountMax ?? ''}" size="8" inputmode="decimal"></div>
        <div class="field"><label for="f-dos-from">Service from</label><input id="f-dos-from" name="dosFrom" type="date" value="${f.dosFrom ?? ''}"></div>
        <div class="field"><label for="f-dos-to">Service to</label><input id="f-dos-to" name="dosTo" type="date" value="${f.dosTo ?? ''}"></div>
        <div class="field"><label for="f-claim">Claim (PCN)</label><input id="f-claim" name="claim" value="${f.claim ?? ''}" size="12"></div>
        ${f.due !== undefined ? html`<input type="hidden" name="due" value="${f.due}">` : ''}
        ${f.provider !== undefined ? html`<input type="hidden" name="provider" value="${f.provider}">` : ''}
        <input type="hidden" name="sort" value="${f.sort}"><input type="hidden" name="dir" value="${f.dir}">
        <button type="submit">Filter</button> <a href="/" class="button secondary">Reset</a>
      </form>
      <div id="results">
        <p class="toolbar">
          ${canWork ? html`<a class="button secondary" href="/export.csv${query(params)}" download>Export all ${r.total} as CSV</a>` : ''}
          Sort: ${SORTS.map((s) => html`${sortLink(s, SORT_WORDS[s])} `)}
        </p>
        ${canWork ? html`<form method="post" action="/views" class="inline-form"><input type="hidden" name="_csrf" value="${session.csrfToken}">
          <input type="hidden" name="query" value="${query({ ...params, page: undefined })}">
          <label for="view-name">Save this view as</label> <input id="view-name" name="name" required maxlength="80" size="16">
          <label><input type="checkbox" name="shared" value="1"> shared with the team</label> <button type="submit" class="secondary">Save view</button></form>` : ''}
        <form method="post" action="/items/bulk" id="bulk" data-confirm="Change the {count} selected item(s)?">
        <input type="hidden" name="_csrf" value="${session.csrfToken}">
        <input type="hidden" name="back" value="${link({ page: f.page })}">
        <table class="queue">
          <caption>${r.total} item${r.total === 1 ? '' : 's'}${pages > 1 ? `, page ${f.page} of ${pages}` : ''}</caption>
          <thead><tr>
            ${canWork ? html`<th scope="col"><span class="visually-hidden">Select</span></th>` : ''}
            <th scope="col">Claim</th><th scope="col">Patient</th><th scope="col">Payer</th><th scope="col">Category</th><th scope="col">CARC / RARC</th>
            ${th('amount', 'Amount', 'num')}${th('deadline', 'Deadline')}${th('age', 'Age')}<th scope="col">Owner</th><th scope="col">Status</th>${th('priority', 'Priority', 'num')}
          </tr></thead>
          <tbody>
          ${r.items.length === 0 ? html`<tr><td colspan="${canWork ? 12 : 11}">No work items match this filter.</td></tr>` : ''}
          ${r.items.map((i) => html`<tr data-href="/items/${i.id}">
            ${canWork ? html`<td><input type="checkbox" name="ids" value="${i.id}" aria-label="Select item ${i.id} (${i.patientControlNumber ?? 'payment'})"></td>` : ''}
            <td><a href="/items/${i.id}" class="item-link">${i.patientControlNumber ?? `payment ${i.id}`}</a>${i.lineNumber !== null ? html`<br><small>line ${i.lineNumber} ${i.procedureCode ?? ''}</small>` : ''}<br><small class="muted">${KIND_WORDS[i.kind as WorkKind]}</small></td>
            <td>${i.patientName ?? ''}</td>
            <td>${i.payerName ?? ''}</td>
            <td>${CATEGORY_WORDS[i.category as Category]}</td>
            <td>${i.carcs.map((c) => html`<span class="tag">${c.group}-${c.reason}</span> `)}${i.rarcs.map((x) => html`<span class="tag">${x}</span> `)}</td>
            <td class="num">${i.amount}</td>
            <td>${deadlineCell(i)}</td>
            <td>${i.ageDays} d</td>
            <td>${i.ownerEmail ?? html`<span class="muted">unassigned</span>`}</td>
            <td>${STATUS_WORDS[i.status as WorkStatus]}${i.followUpOn !== null ? html`<br><small>until ${i.followUpOn}</small>` : ''}</td>
            <td class="num">${i.priority}</td>
          </tr>`)}
          </tbody>
        </table>
        ${canWork && r.items.length > 0 ? html`<fieldset class="bulk"><legend>With the selected items (<span id="selected-count">0</span> selected)</legend>
          ${select('owner', 'b-owner', 'Assign to', [{ value: '', text: '(no change)' }, { value: 'me', text: 'Me' }, { value: 'none', text: 'Nobody (release)' }, ...workers.map((w) => ({ value: w.id, text: w.email }))], [''])}
          ${select('status', 'b-status', 'Set status', [{ value: '', text: '(no change)' }, ...SETTABLE_STATUSES.map((s) => ({ value: s, text: STATUS_WORDS[s] }))], [''])}
          <div class="field"><label for="b-follow">Follow-up date (pending)</label><input id="b-follow" name="followUpOn" type="date"></div>
          <div class="field"><label for="b-note">Note</label><input id="b-note" name="note" size="24" maxlength="4000"></div>
          <button type="submit">Apply to selected</button></fieldset>` : ''}
        </form>
        ${pages > 1 ? html`<nav class="pager" aria-label="Pages">
          ${f.page > 1 ? html`<a href="${link({ page: f.page - 1 })}" rel="prev">Previous page</a>` : ''}
          <span>Page ${f.page} of ${pages}</span>
          ${f.page < pages ? html`<a href="${link({ page: f.page + 1 })}" rel="next">Next page</a>` : ''}</nav>` : ''}
        <p class="muted shortcuts-help">Keyboard: <kbd>j</kbd>/<kbd>k</kbd> next/previous item, <kbd>Enter</kbd> open, <kbd>x</kbd> select, <kbd>/</kbd> filters.
          <button type="button" class="link" id="toggle-shortcuts" aria-pressed="true">Turn shortcuts off</button></p>
      </div>`;
  }

  @Post('items/bulk')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async bulk(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Body() body: Record<string, unknown>): Promise<void> {
    const ids = (Array.isArray(body.ids) ? body.ids : [body.ids]).filter((x): x is string => typeof x === 'string');
    const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
    const back = str(body.back).startsWith('/') && !str(body.back).startsWith('//') ? str(body.back) : '/';
    const owner = str(body.owner);
    const status = str(body.status);
    const note = str(body.note);
    const actor = actorOf(req);
    const said: string[] = [];
    try {
      if (ids.length === 0) throw new WorkItemError('invalid', 'select at least one item');
      if (owner === '' && status === '' && note === '') throw new WorkItemError('invalid', 'choose an owner, a status or a note to apply');
      if (owner !== '') {
        const r = await this.work.assign(ids, owner === 'me' ? session.userId : owner === 'none' ? null : owner, actor);
        said.push(`${r.changed.length} assigned${r.unchanged.length > 0 ? ` (${r.unchanged.length} had that owner already)` : ''}`);
      }
      if (status !== '' || note !== '') {
        if (status === '') {
          for (const id of ids) await this.work.note(id, note, actor);
          said.push(`note added to ${ids.length}`);
        } else {
          const r = await this.work.setStatus(ids, status, { followUpOn: str(body.followUpOn), note, actor });
          said.push(`${r.changed.length} set to ${STATUS_WORDS[status as WorkStatus]}`);
        }
      }
    } catch (e) {
      if (!(e instanceof WorkItemError)) throw e;
      said.push(`Nothing changed: ${e.message}`);
    }
    const sep = back.includes('?') ? '&' : '?';
    res.redirect(303, `${back}${sep}done=${encodeURIComponent(`${ids.length} item(s): ${said.join('; ')}.`)}`);
  }

  @Get('export.csv')
  @Roles('biller', 'admin')
  async exportCsv(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Query() q: Record<string, unknown>): Promise<void> {
    const { filter: f } = parseWorkFilter(q);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="work-queue.csv"');
    res.write(csvRow(['item', 'kind', 'claim', 'line', 'procedure', 'patient', 'payer', 'payer_id', 'category', 'carcs', 'rarcs', 'amount', 'service_date', 'opened_on', 'deadline', 'days_left', 'owner', 'status', 'follow_up_on', 'priority']));
    let n = 0;
    for await (const rows of this.queries.all(f, session.userId)) {
      for (const i of rows) {
        res.write(csvRow([i.id, i.kind, i.patientControlNumber, i.lineNumber, i.procedureCode, i.patientName, i.payerName, i.payerId, i.category, i.carcs.map((c) => `${c.group}-${c.reason} ${c.amount}`).join(' '), i.rarcs.join(' '), i.amount, i.serviceDate, i.openedOn, i.deadline, i.daysLeft, i.ownerEmail, i.status, i.followUpOn, i.priority]));
        n++;
      }
    }
    await this.audit.record(actorOf(req), { action: 'work.export', detail: { query: query(workFilterParams(f)), rows: n } });
    res.end();
  }

  @Post('views')
  @HttpCode(200)
  @Roles('biller', 'admin')
  async saveView(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Body() body: Record<string, unknown>): Promise<void> {
    const name = typeof body.name === 'string' ? body.name.trim().slice(0, 80) : '';
    const raw = typeof body.query === 'string' && body.query.startsWith('?') ? body.query : '';
    // Only what the filter understands is kept.
    const sp = new URLSearchParams(raw);
    const asQuery: Record<string, string[]> = {};
    for (const k of new Set(sp.keys())) asQuery[k] = sp.getAll(k);
    const f = parseWorkFilter(asQuery).filter;
    const saved = query({ ...workFilterParams(f), page: undefined });
    if (name === '') {
      res.redirect(303, `/${saved}${saved === '' ? '?' : '&'}done=${encodeURIComponent('A view needs a name.')}`);
      return;
    }
    await this.setup.transaction(async (m) => {
      await this.setup.saveView(m, session.userId, name, saved, body.shared === '1');
      await this.audit.record(actorOf(req), { action: 'view.save', detail: { name, query: saved, shared: body.shared === '1' } }, m);
    });
    res.redirect(303, `/${saved}${saved === '' ? '?' : '&'}done=${encodeURIComponent(`View "${name}" saved.`)}`);
  }
}
