import { Controller, Get, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import { AGING_BUCKETS, DashboardQueries, type AgingBucket } from '../modules/denials/dashboard.queries';
import { QueueSetupRepository } from '../modules/denials/queue-setup.repository';
import { CATEGORY_WORDS, type Category } from '../modules/denials/work-filter';
import { AuditService } from '../modules/staff/audit.service';
import type { StaffSession } from '../modules/staff/staff.service';
import { html, query, type Html } from './html';
import { page } from './layout';
import { actorOf, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';

/** A bar chart as inline SVG (no script, no library): one labelled bar per value, with a text equivalent in the table beside it. */
function bars(title: string, rows: { label: string; value: number; text: string; href: string }[]): Html {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = 22;
  const width = 420;
  return html`<svg class="chart" role="group" aria-label="${title}" viewBox="0 0 ${width + 180} ${rows.length * height + 4}" width="100%" preserveAspectRatio="xMinYMin meet">
    <title>${title}</title>
    ${rows.map((r, i) => html`<a href="${r.href}"><g transform="translate(0 ${i * height + 2})">
      <text x="0" y="15" class="chart-label">${r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label}</text>
      <rect x="170" y="3" height="15" width="${Math.max(1, Math.round((r.value / max) * (width - 80)))}" class="chart-bar"></rect>
      <text x="${176 + Math.max(1, Math.round((r.value / max) * (width - 80)))}" y="15" class="chart-value">${r.text}</text>
    </g></a>`)}
  </svg>`;
}

/** The revenue-cycle dashboard: denials over time and by payer, category and CARC; rates; A/R aging; recovery; patterns. Every number links to the list behind it. */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Controller()
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardQueries,
    private readonly audit: AuditService,
    private readonly setup: QueueSetupRepository,
  ) {}

  @Get('dashboard')
  async show(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession): Promise<void> {
    const d = await this.dashboard.load(12);
    await this.audit.record(actorOf(req), { action: 'dashboard.view' });
    const denied = (extra: Record<string, string | undefined>): string => `/${query({ kind: 'denial', status: 'all', owner: 'any', ...extra })}`;
    const aging = (payerId: string | null, bucket?: AgingBucket): string => `/claims${query({ payer: payerId ?? undefined, age: bucket })}`;
    res.type('html').send(page({
      title: 'Dashboard',
      session,
      section: 'dashboard',
      body: html`<h1>Dashboard</h1>
        <p class="muted">As of ${d.asOf}; denials from ${d.months[0] ?? ''} to ${d.months[d.months.length - 1] ?? ''} (the twelve months up to the latest denial). Every figure links to the items or claims behind it.</p>
        <div class="kpis">
          <div class="kpi"><h2>Initial denial rate</h2>
            <p class="big">${d.initialDenialRate.byCount ?? '—'}${d.initialDenialRate.byCount !== null ? '%' : ''} <small>by count</small></p>
            <p><a href="${denied({})}">${d.initialDenialRate.denied} of ${d.initialDenialRate.claims}</a> claims answered by an 835 were denied something on the first answer;
              ${d.initialDenialRate.byDollars ?? '—'}${d.initialDenialRate.byDollars !== null ? '%' : ''} by dollars (${d.initialDenialRate.deniedAmount} of ${d.initialDenialRate.billed}).</p></div>
          <div class="kpi"><h2>Clean claim rate</h2>
            <p class="big">${d.cleanClaimRate.rate ?? '—'}${d.cleanClaimRate.rate !== null ? '%' : ''}</p>
            <p>${d.cleanClaimRate.clean} of ${d.cleanClaimRate.claims} claims sent were never rejected (999/277CA) nor denied.</p></div>
          <div class="kpi"><h2>Recovered</h2><p class="big">${d.recovered.amount}</p>
            <p><a href="${denied({ status: 'resolved' })}">${d.recovered.count} denials</a> paid by a later payment.</p></div>
          <div class="kpi"><h2>Written off</h2><p class="big">${d.writtenOff.amount}</p>
            <p><a href="${denied({ status: 'written_off' })}">${d.writtenOff.count} items</a>.</p></div>
          <div class="kpi"><h2>Denial to resolution</h2><p class="big">${d.daysToResolution.average ?? '—'} <small>days</small></p>
            <p>on average over ${d.daysToResolution.resolved} closed denial items.</p></div>
        </div>
        <section aria-labelledby="h-month"><h2 id="h-month">Denied per month</h2>
          ${bars('Denied amount per month', d.deniedByMonth.map((m) => ({ label: m.month, value: Number(m.amount), text: `${m.amount} (${m.count})`, href: denied({}) })))}
        </section>
        <div class="item-grid">
          <section aria-labelledby="h-payer"><h2 id="h-payer">By payer</h2>
            ${bars('Denied amount by payer', d.byPayer.map((p) => ({ label: p.payerName ?? 'unknown payer', value: Number(p.amount), text: `${p.amount} (${p.count})`, href: denied({ payer: p.payerId ?? undefined }) })))}
          </section>
          <section aria-labelledby="h-cat"><h2 id="h-cat">By category</h2>
            ${bars('Denied amount by category', d.byCategory.map((c) => ({ label: CATEGORY_WORDS[c.category as Category], value: Number(c.amount), text: `${c.amount} (${c.count})`, href: denied({ category: c.category }) })))}
          </section>
          <section aria-labelledby="h-carc"><h2 id="h-carc">By CARC</h2>
            ${bars('Denied amount by CARC', d.byCarc.map((c) => ({ label: `CARC ${c.carc}`, value: Number(c.amount), text: `${c.amount} (${c.count})`, href: denied({ carc: c.carc }) })))}
          </section>
        </div>
        <section aria-labelledby="h-aging"><h2 id="h-aging">A/R aging by payer</h2>
          <table><caption>Still owed by payers on claims sent, by days since first sent</caption>
            <thead><tr><th scope="col">Payer</th>${AGING_BUCKETS.map((b) => html`<th scope="col" class="num">${b}</th>`)}<th scope="col" class="num">Total</th></tr></thead>
            <tbody>${d.aging.length === 0 ? html`<tr><td colspan="7">Nothing owed.</td></tr>` : ''}
            ${d.aging.map((r) => html`<tr><th scope="row">${r.payerName ?? 'unknown payer'}</th>
              ${AGING_BUCKETS.map((b) => html`<td class="num">${r.claims[b] > 0 ? html`<a href="${aging(r.payerId, b)}">${r.buckets[b]}</a>` : r.buckets[b]}</td>`)}
              <td class="num"><a href="${aging(r.payerId)}">${r.total}</a></td></tr>`)}</tbody>
          </table>
        </section>
        <section aria-labelledby="h-patterns"><h2 id="h-patterns">Top denial patterns (180 days up to the latest 835 answer)</h2>
          <table><caption>Lines a payer denied at least twice, by procedure, modifiers and diagnosis category: what the payer-history scrubber rule warns about on new claims (by default at 5 denials and 50%)</caption>
            <thead><tr><th scope="col">Payer</th><th scope="col">Procedure</th><th scope="col">Modifiers</th><th scope="col">Diagnoses</th><th scope="col">Usual CARC</th><th scope="col" class="num">Denied</th><th scope="col" class="num">Of lines answered</th><th scope="col" class="num">Amount</th></tr></thead>
            <tbody>${d.patterns.length === 0 ? html`<tr><td colspan="8">No repeated pattern yet.</td></tr>` : ''}
            ${d.patterns.map((p) => html`<tr><td>${p.payerName ?? ''}</td><td>${p.procedure}</td><td>${p.modifiers.replace(/:/g, ', ')}</td><td>${p.dxCategory}</td>
              <td><a href="${denied({ carc: p.carc, payer: p.payerId ?? undefined })}">${p.carc}</a></td><td class="num">${p.denied} (${p.percent}%)</td><td class="num">${p.answered}</td><td class="num">${p.amount}</td></tr>`)}</tbody>
          </table>
        </section>`,
    }));
  }

  /** Claims still owed by a payer (what the A/R figures count), by payer and age since first sent. */
  @Get('claims')
  async claims(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Query() q: Record<string, unknown>): Promise<void> {
    const payer = typeof q.payer === 'string' && /^[A-Za-z0-9 ._-]{1,80}$/.test(q.payer) ? q.payer : undefined;
    const age = typeof q.age === 'string' && (AGING_BUCKETS as readonly string[]).includes(q.age) ? (q.age as AgingBucket) : undefined;
    const range: Record<AgingBucket, [number, number]> = { '0-30': [0, 30], '31-60': [31, 60], '61-90': [61, 90], '91-120': [91, 120], '120+': [121, 1_000_000] };
    const [lo, hi] = age !== undefined ? range[age] : [0, 1_000_000];
    const rows = await this.setup.claimsOwed(payer, lo, hi);
    const owed = rows.filter((r) => Number(r.outstanding) !== 0);
    await this.audit.record(actorOf(req), { action: 'claims.list', detail: { payer, age, shown: owed.length, claims: owed.map((r) => r.id) } });
    res.type('html').send(page({
      title: 'Claims owed',
      session,
      section: 'dashboard',
      body: html`<p><a href="/dashboard">← Dashboard</a></p><h1>Claims owed${payer !== undefined ? html` by ${payer}` : ''}${age !== undefined ? html`, ${age} days since sent` : ''}</h1>
        <table><caption>${owed.length} claim${owed.length === 1 ? '' : 's'}${rows.length === 500 ? ' (the first 500)' : ''}</caption>
          <thead><tr><th scope="col">Claim</th><th scope="col">Patient</th><th scope="col">Payer</th><th scope="col">Status</th><th scope="col">Sent</th><th scope="col" class="num">Days</th><th scope="col" class="num">Billed</th><th scope="col" class="num">Owed</th></tr></thead>
          <tbody>${owed.map((r) => html`<tr><td><a href="/${query({ claim: r.pcn, status: 'all', owner: 'any' })}">${r.pcn}</a></td><td>${r.patient ?? ''}</td><td>${r.payer ?? ''}</td>
            <td>${r.status.replace(/_/g, ' ')}</td><td>${r.sent_on}</td><td class="num">${r.days}</td><td class="num">${r.billed}</td><td class="num">${r.outstanding}</td></tr>`)}</tbody>
        </table>`,
    }));
  }
}
