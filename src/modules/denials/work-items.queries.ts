import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CodeSetsService } from '../scrubber/codesets.service';
import { DUE_BUCKETS, OPEN_STATUSES, PRIORITY_SQL, type AgeBucket, type DueBucket, type WorkFilter } from './work-filter';

export interface WorkRow {
  id: string;
  kind: string;
  claimId: string | null;
  patientControlNumber: string | null;
  patientName: string | null;
  lineNumber: number | null;
  procedureCode: string | null;
  payerId: string | null;
  payerName: string | null;
  category: string;
  categoryCarc: string | null;
  carcs: { group: string; reason: string; amount: string }[];
  rarcs: string[];
  amount: string;
  recoverability: string;
  serviceDate: string | null;
  openedOn: string;
  ageDays: number;
  deadline: string;
  daysLeft: number;
  ownerId: string | null;
  ownerEmail: string | null;
  status: string;
  followUpOn: string | null;
  priority: string;
  providerName: string | null;
}

export interface WorkItemDetail extends WorkRow {
  claimStatus: string | null;
  claimPaymentId: string | null;
  denialId: string | null;
  appealDeadline: string | null;
  timelyFilingDeadline: string | null;
  closedReason: string | null;
  nextStep: string;
  categorySetBy: string | null;
  version: number;
  billed: string | null;
}

export interface TimelineEntry {
  at: string;
  source: 'message' | 'claim' | 'finding' | 'batch' | 'response' | 'payment' | 'item';
  title: string;
  detail: string | null;
  actor: string | null;
}

const ROW_SELECT = `
  w.id::text AS id, w.kind, w.claim_id::text AS "claimId", c.patient_control_number AS "patientControlNumber",
  nullif(concat_ws(', ', pt.family_name, nullif(concat_ws(' ', pt.given_name, pt.middle_name), '')), '') AS "patientName",
  cl.line_number AS "lineNumber", cl.procedure_code AS "procedureCode", py.payer_id AS "payerId", py.name AS "payerName",
  w.category, w.category_carc AS "categoryCarc", w.carcs, w.rarcs, w.amount::text AS amount, w.recoverability::text AS recoverability,
  to_char(w.service_date, 'YYYY-MM-DD') AS "serviceDate", to_char(w.opened_on, 'YYYY-MM-DD') AS "openedOn", (current_date - w.opened_on) AS "ageDays",
  to_char(w.deadline, 'YYYY-MM-DD') AS deadline, (w.deadline - current_date) AS "daysLeft", w.owner_id::text AS "ownerId", u.email AS "ownerEmail",
  w.status, to_char(w.follow_up_on, 'YYYY-MM-DD') AS "followUpOn", ${PRIORITY_SQL}::text AS priority, bp.name AS "providerName"`;

const ROW_JOINS = `
  LEFT JOIN claim c ON c.id = w.claim_id
  LEFT JOIN patient pt ON pt.id = c.patient_id
  LEFT JOIN claim_line cl ON cl.id = w.claim_line_id
  LEFT JOIN practice_payer py ON py.id = w.payer_row_id
  LEFT JOIN practice_billing_provider bp ON bp.id = c.billing_provider_id
  LEFT JOIN staff_user u ON u.id = w.owner_id`;
const ROW_FROM = `FROM work_item w ${ROW_JOINS}`;

const AGE_SQL: Record<AgeBucket, string> = {
  '0-30': 'current_date - w.opened_on BETWEEN 0 AND 30',
  '31-60': 'current_date - w.opened_on BETWEEN 31 AND 60',
  '61-90': 'current_date - w.opened_on BETWEEN 61 AND 90',
  '91-120': 'current_date - w.opened_on BETWEEN 91 AND 120',
  '120+': 'current_date - w.opened_on > 120',
};
const DUE_SQL: Record<DueBucket, string> = {
  overdue: 'w.deadline < current_date',
  today: 'w.deadline = current_date',
  week: 'w.deadline BETWEEN current_date + 1 AND current_date + 7',
  later: 'w.deadline > current_date + 7',
};

/** Reads of the work queue: the filtered list (a page, or all of it for export), counts per bucket, one item and its story. */
@Injectable()
export class WorkItemsQueries {
  constructor(
    private readonly ds: DataSource,
    private readonly codeSets: CodeSetsService,
  ) {}

  /** WHERE clause and parameters for a filter, as seen by `userId`; `without` leaves out one dimension (for its counts). */
  where(f: WorkFilter, userId: string, without?: 'due' | 'status' | 'category'): { sql: string; params: unknown[] } {
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    const w: string[] = [];
    if (without !== 'status') {
      const open = f.status.length === 0 || f.status.every((x) => (OPEN_STATUSES as readonly string[]).includes(x));
      // Every open status is what closed_at IS NULL means (a check constraint ties them): then the
      // partial indexes on open items answer alone, without reading each row for its status.
      if (!open || (f.status.length > 0 && OPEN_STATUSES.some((x) => !f.status.includes(x)))) w.push(`w.status = ANY(${p(f.status.length > 0 ? f.status : OPEN_STATUSES)}::text[])`);
      if (open) w.push('w.closed_at IS NULL');
    }
    if (without !== 'category' && f.category.length > 0) w.push(`w.category = ANY(${p(f.category)}::text[])`);
    if (f.kind.length > 0) w.push(`w.kind = ANY(${p(f.kind)}::text[])`);
    if (f.payer !== undefined) w.push(`w.payer_row_id IN (SELECT id FROM practice_payer WHERE payer_id = ${p(f.payer)} OR key = ${p(f.payer)})`);
    if (f.carc !== undefined) w.push(`w.carcs @> ${p(JSON.stringify([{ reason: f.carc }]))}::jsonb`);
    if (f.rarc !== undefined) w.push(`w.rarcs @> ARRAY[${p(f.rarc)}::text]`);
    switch (f.owner) {
      case 'any':
        break;
      case 'mine':
        w.push(`w.owner_id = ${p(userId)}::bigint`);
        break;
      case 'unassigned':
        w.push('w.owner_id IS NULL');
        break;
      case 'mine+unassigned':
        w.push(`(w.owner_id IS NULL OR w.owner_id = ${p(userId)}::bigint)`);
        break;
      default:
        w.push(`w.owner_id = ${p(f.owner)}::bigint`);
    }
    if (f.age !== undefined) w.push(AGE_SQL[f.age]);
    if (without !== 'due' && f.due !== undefined) w.push(DUE_SQL[f.due]);
    if (f.amountMin !== undefined) w.push(`w.amount >= ${p(f.amountMin)}::numeric`);
    if (f.amountMax !== undefined) w.push(`w.amount <= ${p(f.amountMax)}::numeric`);
    if (f.provider !== undefined) w.push(`c.billing_provider_id = ${p(f.provider)}::bigint`);
    if (f.dosFrom !== undefined) w.push(`w.service_date >= ${p(f.dosFrom)}::date`);
    if (f.dosTo !== undefined) w.push(`w.service_date <= ${p(f.dosTo)}::date`);
    if (f.claim !== undefined) w.push(`c.patient_control_number = ${p(f.claim)}`);
    return { sql: w.length > 0 ? `WHERE ${w.join(' AND ')}` : '', params };
  }

  private order(f: WorkFilter): string {
    const dir = f.dir === 'asc' ? 'ASC' : 'DESC';
    switch (f.sort) {
      case 'amount':
        return `w.amount ${dir}, w.deadline ASC, w.id`;
      case 'age':
        // Days open: largest first is the oldest opened.
        return `w.opened_on ${dir === 'DESC' ? 'ASC' : 'DESC'}, w.deadline ASC, w.id`;
      case 'priority':
        return `${PRIORITY_SQL} ${dir}, w.deadline ASC, w.id`;
      case 'deadline':
        return `w.deadline ${dir}, w.amount DESC, w.id`;
    }
  }

  async list(f: WorkFilter, userId: string, limit: number): Promise<{ items: WorkRow[]; total: number }> {
    const { sql, params } = this.where(f, userId);
    const needsClaim = /\bc\./.test(sql);
    // The page's ids first, from work_item alone (and claim when a filter needs it), then their rows
    // joined: a deep page joins 50 rows, not every row before it.
    const [items, count] = await Promise.all([
      this.ds.query<WorkRow[]>(
        `SELECT ${ROW_SELECT}
           FROM unnest(ARRAY(SELECT w.id FROM work_item w ${needsClaim ? 'LEFT JOIN claim c ON c.id = w.claim_id' : ''} ${sql} ORDER BY ${this.order(f)} LIMIT ${limit} OFFSET ${(f.page - 1) * limit}))
                WITH ORDINALITY AS pg(id, n)
           JOIN work_item w ON w.id = pg.id ${ROW_JOINS}
          ORDER BY pg.n`,
        params,
      ),
      this.ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM work_item w ${needsClaim ? 'LEFT JOIN claim c ON c.id = w.claim_id' : ''} ${sql}`, params),
    ]);
    return { items, total: count[0]?.n ?? 0 };
  }

  /** Every row of a filter, a page of 1,000 at a time (the CSV export). */
  async *all(f: WorkFilter, userId: string): AsyncGenerator<WorkRow[]> {
    const { sql, params } = this.where(f, userId);
    // Keyset paging on the sort's own order would need a cursor per sort; ids of the whole set are
    // taken first (cheap), then rows in chunks in that order.
    const ids = await this.ds.query<{ id: string }[]>(`SELECT w.id::text AS id ${ROW_FROM} ${sql} ORDER BY ${this.order(f)}`, params);
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000).map((r) => r.id);
      const rows = await this.ds.query<WorkRow[]>(`SELECT ${ROW_SELECT} ${ROW_FROM} WHERE w.id = ANY($1::bigint[])`, [chunk]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      yield chunk.map((id) => byId.get(id)).filter((r): r is WorkRow => r !== undefined);
    }
  }

  /** Counts per due bucket, status and category under the rest of the filter. */
  async counts(f: WorkFilter, userId: string): Promise<{ due: Record<DueBucket, number>; status: Record<string, number>; category: Record<string, number> }> {
    const due = this.where(f, userId, 'due');
    const status = this.where(f, userId, 'status');
    const category = this.where(f, userId, 'category');
    const from = (sql: string): string => `FROM work_item w ${/\bc\./.test(sql) ? 'LEFT JOIN claim c ON c.id = w.claim_id' : ''} ${sql}`;
    const [d, s, c] = await Promise.all([
      this.ds.query<{ bucket: DueBucket; n: number }[]>(
        `SELECT CASE WHEN ${DUE_SQL.overdue} THEN 'overdue' WHEN ${DUE_SQL.today} THEN 'today' WHEN ${DUE_SQL.week} THEN 'week' ELSE 'later' END AS bucket, count(*)::int AS n ${from(due.sql)} GROUP BY 1`,
        due.params,
      ),
      this.ds.query<{ status: string; n: number }[]>(`SELECT w.status, count(*)::int AS n ${from(status.sql)} GROUP BY 1`, status.params),
      this.ds.query<{ category: string; n: number }[]>(`SELECT w.category, count(*)::int AS n ${from(category.sql)} GROUP BY 1`, category.params),
    ]);
    const dueOut = Object.fromEntries(DUE_BUCKETS.map((b) => [b, 0])) as Record<DueBucket, number>;
    for (const r of d) dueOut[r.bucket] = r.n;
    return { due: dueOut, status: Object.fromEntries(s.map((r) => [r.status, r.n])), category: Object.fromEntries(c.map((r) => [r.category, r.n])) };
  }

  async item(id: string): Promise<WorkItemDetail | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    const [row] = await this.ds.query<WorkItemDetail[]>(
      `SELECT ${ROW_SELECT}, c.status AS "claimStatus", w.claim_payment_id::text AS "claimPaymentId", w.denial_id::text AS "denialId",
              to_char(w.appeal_deadline, 'YYYY-MM-DD') AS "appealDeadline", to_char(w.timely_filing_deadline, 'YYYY-MM-DD') AS "timelyFilingDeadline",
              w.closed_reason AS "closedReason", w.category_set_by AS "categorySetBy", w.version, c.total_charge::text AS billed,
              coalesce(r.next_step, k.next_step, (SELECT next_step FROM work_kind_default WHERE kind = 'unmatched')) AS "nextStep"
         ${ROW_FROM}
         LEFT JOIN denial_category_rule r ON r.id = w.category_rule_id
         LEFT JOIN work_kind_default k ON k.kind = w.kind
        WHERE w.id = $1`,
      [id],
    );
    return row ?? null;
  }

  /** Words for the codes of an item (CMS/X12 wording, status), as the remittance pages show them. */
  async describeCodes(carcs: { group: string; reason: string; amount: string }[], rarcs: string[]): Promise<{ carcs: { group: string; reason: string; amount: string; text: string; status: string }[]; rarcs: { code: string; text: string; status: string }[] }> {
    const codes = await this.codeSets.adjustmentCodes();
    return { carcs: carcs.map((a) => ({ ...a, ...codes.words('carc', a.reason) })), rarcs: rarcs.map((code) => ({ code, ...codes.words('rarc', code) })) };
  }

  /** The whole story of the item's claim, oldest first: messages, claim versions and findings, batches, responses, payments, the item's own events. */
  async timeline(item: WorkItemDetail): Promise<TimelineEntry[]> {
    const out: TimelineEntry[] = [];
    const events = await this.ds.query<{ at: Date; action: string; from_status: string | null; to_status: string | null; note: string | null; actor: string; detail: Record<string, unknown> }[]>(
      `SELECT at, action, from_status, to_status, note, actor, detail FROM work_item_event WHERE work_item_id = $1 ORDER BY id`,
      [item.id],
    );
    for (const e of events) {
      out.push({ at: e.at.toISOString(), source: 'item', title: itemEventTitle(e.action, e.from_status, e.to_status, e.detail), detail: e.note, actor: e.actor });
    }
    if (item.claimId !== null) {
      const claimId = item.claimId;
      const [messages, claimEvents, findings, batches, responses, payments] = await Promise.all([
        this.ds.query<{ at: Date; control_id: string; type: string; status: string }[]>(
          `SELECT m.received_at AS at, m.control_id, concat_ws('^', m.message_type, m.trigger_event) AS type, m.status FROM inbound_message m
            WHERE m.id IN (SELECT ch.message_id FROM charge ch WHERE ch.id IN (SELECT unnest(cl.charge_ids) FROM claim_line cl WHERE cl.claim_id = $1)) ORDER BY m.received_at`,
          [claimId],
        ),
        this.ds.query<{ at: Date; from_status: string | null; to_status: string; reason: string | null; actor: string }[]>(
          `SELECT at, from_status, to_status, reason, actor FROM claim_event WHERE claim_id = $1 ORDER BY id`, [claimId]),
        this.ds.query<{ at: Date; rule_id: string; severity: string; loop: string; message: string; carc: string; claim_version: number }[]>(
          `SELECT created_at AS at, rule_id, severity, loop, message, carc, claim_version FROM claim_finding WHERE claim_id = $1 ORDER BY id`, [claimId]),
        this.ds.query<{ at: Date; batch_id: string; isa13: string | null; file_name: string | null }[]>(
          `SELECT b.created_at AS at, b.id::text AS batch_id, b.interchange_control_number::text AS isa13, b.file_name
             FROM claim_batch b WHERE b.id = (SELECT batch_id FROM claim WHERE id = $1)`, [claimId],
        ),
        this.ds.query<{ at: Date; kind: string; outcome: string; code: string | null; message: string }[]>(
          `SELECT at, kind, outcome, code, message FROM claim_response WHERE claim_id = $1 ORDER BY id`, [claimId]),
        this.ds.query<{ at: Date; id: string; status_code: string | null; paid: string | null; charge: string | null; trace: string; payment_date: string | null; reversal: boolean }[]>(
          `SELECT t.posted_at AS at, p.id::text AS id, p.status_code, p.paid::text AS paid, p.charge::text AS charge, t.trace_number AS trace,
                  to_char(p.payment_date, 'YYYY-MM-DD') AS payment_date, p.reverses_payment_id IS NOT NULL AS reversal
             FROM claim_payment p JOIN remittance_transaction t ON t.id = p.transaction_id WHERE p.claim_id = $1 ORDER BY p.id`, [claimId],
        ),
      ]);
      for (const m of messages) out.push({ at: m.at.toISOString(), source: 'message', title: `HL7 ${m.type} ${m.control_id} received`, detail: `message status ${m.status}`, actor: null });
      for (const e of claimEvents) out.push({ at: e.at.toISOString(), source: 'claim', title: `Claim ${e.from_status === null ? 'built' : `${e.from_status} → ${e.to_status}`}${e.from_status === null ? ` (${e.to_status})` : ''}`, detail: e.reason, actor: e.actor });
      for (const f of findings) out.push({ at: f.at.toISOString(), source: 'finding', title: `Scrubber ${f.severity}: ${f.rule_id} (${f.loop}; prevents CARC ${f.carc})`, detail: f.message, actor: null });
      for (const b of batches) out.push({ at: b.at.toISOString(), source: 'batch', title: `In 837 batch ${b.batch_id}${b.isa13 !== null ? `, ISA13 ${b.isa13}` : ''}`, detail: b.file_name, actor: null });
      for (const r of responses) out.push({ at: r.at.toISOString(), source: 'response', title: `${r.kind.toUpperCase()} ${r.outcome}${r.code !== null ? ` (${r.code})` : ''}`, detail: r.message, actor: null });
      for (const p of payments) {
        out.push({ at: p.at.toISOString(), source: 'payment', title: `835 ${p.reversal ? 'reversal' : 'payment'} ${p.id}: paid ${p.paid ?? '?'} of ${p.charge ?? '?'} (CLP02 ${p.status_code ?? '?'})`, detail: `trace ${p.trace}${p.payment_date !== null ? `, paid on ${p.payment_date}` : ''}`, actor: null });
      }
    }
    return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }
}

function itemEventTitle(action: string, from: string | null, to: string | null, detail: Record<string, unknown>): string {
  switch (action) {
    case 'created':
      return `Work item opened (${to ?? ''})`;
    case 'closed':
      return `Work item closed: ${to ?? ''}`;
    case 'reopened':
      return `Work item reopened (was ${from ?? ''})`;
    case 'payer_answered':
      return `The payer answered again${from !== to ? ` (${from ?? ''} → ${to ?? ''})` : ''}`;
    case 'assigned':
      return typeof detail.owner === 'string' ? `Assigned to ${detail.owner}` : 'Released (no owner)';
    case 'status':
      return `Status ${from ?? ''} → ${to ?? ''}`;
    case 'note':
      return 'Note';
    case 'category':
      return `Category set to ${typeof detail.category === 'string' ? detail.category : ''}`;
    default:
      return action.replace(/_/g, ' ');
  }
}
