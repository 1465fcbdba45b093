import { Controller, Get, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import { RemittanceQueries } from '../modules/remittance/remittance.queries';
import { AuditService } from '../modules/staff/audit.service';
import type { StaffSession } from '../modules/staff/staff.service';
import { html, query } from './html';
import { page } from './layout';
import { actorOf, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';

const PAGE_SIZE = 50;

interface DenialRow {
  id: string;
  claimId: string;
  patientControlNumber: string;
  lineNumber: number | null;
  procedureCode: string | null;
  payerId: string | null;
  payerName: string | null;
  kind: string;
  status: string;
  carcs: { group: string; reason: string; amount: string; reasonText: string }[];
  rarcs: { code: string; text: string }[];
  amount: string;
  serviceDate: string | null;
  deniedOn: string | null;
}

/**
 * The page a biller lands on. Filters are a GET form, so every view is a URL that can be
 * bookmarked and shared; it holds ids and codes, never a patient's name.
 */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Controller()
export class QueueController {
  constructor(
    private readonly remittance: RemittanceQueries,
    private readonly audit: AuditService,
  ) {}

  @Get()
  async list(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Query() q: Record<string, unknown>): Promise<void> {
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
    const status = str(q.status) ?? 'open';
    const f = {
      status: ['open', 'resolved', 'reversed'].includes(status) ? status : 'open',
      payerId: str(q.payerId)?.slice(0, 80),
      carc: str(q.carc)?.toUpperCase().match(/^[A-Z0-9]{1,3}$/)?.[0],
      page: Math.max(1, Math.min(100_000, Number.parseInt(str(q.page) ?? '1', 10) || 1)),
    };
    const r = await this.remittance.denials({ status: f.status, payerId: f.payerId, carc: f.carc, limit: PAGE_SIZE, offset: (f.page - 1) * PAGE_SIZE });
    const items = r.items as DenialRow[];
    await this.audit.record(actorOf(req), { action: 'queue.list', detail: { filters: { status: f.status, payerId: f.payerId, carc: f.carc }, page: f.page, shown: items.length, claimIds: items.map((i) => i.claimId) } });
    const pages = Math.max(1, Math.ceil(r.total / PAGE_SIZE));
    const link = (p: number): string => `/${query({ status: f.status, payerId: f.payerId, carc: f.carc, page: p === 1 ? undefined : p })}`;
    res.setHeader('Vary', 'HX-Request');
    res.type('html').send(page({
      title: 'Work queue',
      session,
      section: 'queue',
      body: html`<h1>Work queue</h1>
        <form class="filters" method="get" action="/" role="search" aria-label="Filter the queue">
          <div class="field"><label for="f-status">Status</label><select id="f-status" name="status">
            ${['open', 'resolved', 'reversed'].map((s) => html`<option value="${s}"${s === f.status ? html` selected` : ''}>${s}</option>`)}
          </select></div>
          <div class="field"><label for="f-payer">Payer id</label><input id="f-payer" name="payerId" value="${f.payerId ?? ''}" size="10"></div>
          <div class="field"><label for="f-carc">CARC</label><input id="f-carc" name="carc" value="${f.carc ?? ''}" size="4"></div>
          <button type="submit">Filter</button>
        </form>
        <table>
          <caption>${r.total} ${f.status} denial${r.total === 1 ? '' : 's'}${pages > 1 ? `, page ${f.page} of ${pages}` : ''}</caption>
          <thead><tr><th scope="col">Claim</th><th scope="col">Line</th><th scope="col">Payer</th><th scope="col">CARC</th><th scope="col">RARC</th><th scope="col" class="num">Amount</th><th scope="col">Service date</th><th scope="col">Denied on</th><th scope="col">Status</th></tr></thead>
          <tbody>
          ${items.length === 0 ? html`<tr><td colspan="9">Nothing here${f.status === 'open' ? ': no open denials' : ''}.</td></tr>` : ''}
          ${items.map((d) => html`<tr>
            <td>${d.patientControlNumber}</td>
            <td>${d.lineNumber !== null ? html`${d.lineNumber} <span class="muted">${d.procedureCode ?? ''}</span>` : html`<span class="muted">claim</span>`}</td>
            <td>${d.payerName ?? ''} <span class="muted">${d.payerId ?? ''}</span></td>
            <td>${d.carcs.map((c) => html`<span class="tag" title="${c.reasonText}">${c.group}-${c.reason}</span> `)}</td>
            <td>${d.rarcs.map((x) => html`<span class="tag" title="${x.text}">${x.code}</span> `)}</td>
            <td class="num">${d.amount}</td>
            <td>${d.serviceDate ?? ''}</td>
            <td>${d.deniedOn ?? ''}</td>
            <td>${d.status}</td>
          </tr>`)}
          </tbody>
        </table>
        ${pages > 1 ? html`<nav class="pager" aria-label="Pages">
          ${f.page > 1 ? html`<a href="${link(f.page - 1)}" rel="prev">Previous page</a>` : ''}
          <span>Page ${f.page} of ${pages}</span>
          ${f.page < pages ? html`<a href="${link(f.page + 1)}" rel="next">Next page</a>` : ''}</nav>` : ''}`,
    }));
  }
}
