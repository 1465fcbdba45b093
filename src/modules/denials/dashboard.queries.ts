import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { addDecimal } from '../../lib/decimal';

export interface Dashboard {
  asOf: string;
  /** The twelve months shown (YYYY-MM), oldest first. */
  months: string[];
  /** Denials (835 items) opened per month: count and amount, in all and by payer, category and CARC. */
  deniedByMonth: { month: string; count: number; amount: string }[];
  byPayer: { payerId: string | null; payerName: string | null; count: number; amount: string }[];
  byCategory: { category: string; count: number; amount: string }[];
  byCarc: { carc: string; count: number; amount: string }[];
  /** HFMA-style rates over claims answered by an 835 (first answer) and claims sent. */
  initialDenialRate: { claims: number; denied: number; byCount: string | null; billed: string; deniedAmount: string; byDollars: string | null };
  cleanClaimRate: { claims: number; clean: number; rate: string | null };
  aging: { payerId: string | null; payerName: string | null; buckets: Record<AgingBucket, string>; claims: Record<AgingBucket, number>; total: string }[];
  recovered: { amount: string; count: number };
  writtenOff: { amount: string; count: number };
  daysToResolution: { average: string | null; resolved: number };
  /** Lines a payer denied again and again (the payer-history rule's counts): by procedure, modifiers and diagnosis category. */
  patterns: { payerId: string | null; payerName: string | null; procedure: string; modifiers: string; dxCategory: string; carc: string; denied: number; answered: number; percent: string; amount: string }[];
}

export const AGING_BUCKETS = ['0-30', '31-60', '61-90', '91-120', '120+'] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number];

/** A percentage with one decimal, exact (numeric in PostgreSQL), or null for 0/0. */
const PCT = (num: string, den: string): string => `CASE WHEN ${den} = 0 THEN NULL ELSE round(100.0 * ${num} / ${den}, 1)::text END`;

/**
 * The dashboard's figures, each a query over what is stored (no nightly copy): denials over time
 * and by payer, category and CARC; the initial denial rate (claims whose first 835 answer denied
 * something, by count and by dollars) and the clean claim rate (claims sent that were never
 * rejected by a 999/277CA nor denied); A/R aging by payer (what is still owed on claims sent, by
 * days since first sent); recovered and written off; days from denial to resolution; and the
 * top denial patterns (payer, procedure, modifiers, diagnosis category: denied of answered, the
 * usual CARC) of the 180 days up to the latest 835 answer, from the scrubber's payer history.
 */
@Injectable()
export class DashboardQueries {
  constructor(private readonly ds: DataSource) {}

  async load(months = 12): Promise<Dashboard> {
    const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => this.ds.query<T[]>(sql, params);
    // Twelve months ending with the month of the latest denial (today's month in a live system;
    // the month of the data in the demo, whose services are in 2024).
    const [end] = await q<{ m: string }>(`SELECT to_char(date_trunc('month', coalesce(max(opened_on), current_date)), 'YYYY-MM-DD') AS m FROM work_item WHERE kind = 'denial'`);
    const endMonth = end?.m ?? new Date().toISOString().slice(0, 8) + '01';
    const since = `('${endMonth}'::date - make_interval(months => ${months - 1}))`;
    const [asOf, byMonth, byPayer, byCategory, byCarc, idr, ccr, aging, recovered, writtenOff, resolution, patterns] = await Promise.all([
      q<{ d: string }>(`SELECT to_char(current_date, 'YYYY-MM-DD') AS d`),
      q<{ month: string; count: number; amount: string }>(
        `SELECT to_char(date_trunc('month', w.opened_on), 'YYYY-MM') AS month, count(*)::int AS count, sum(w.amount)::text AS amount
           FROM work_item w WHERE w.kind = 'denial' AND w.opened_on >= ${since} GROUP BY 1 ORDER BY 1`),
      q<{ payerId: string | null; payerName: string | null; count: number; amount: string }>(
        `SELECT p.payer_id AS "payerId", p.name AS "payerName", count(*)::int AS count, sum(w.amount)::text AS amount
           FROM work_item w LEFT JOIN practice_payer p ON p.id = w.payer_row_id WHERE w.kind = 'denial' AND w.opened_on >= ${since}
          GROUP BY 1, 2 ORDER BY sum(w.amount) DESC`),
      q<{ category: string; count: number; amount: string }>(
        `SELECT w.category, count(*)::int AS count, sum(w.amount)::text AS amount FROM work_item w WHERE w.kind = 'denial' AND w.opened_on >= ${since}
          GROUP BY 1 ORDER BY sum(w.amount) DESC`),
      q<{ carc: string; count: number; amount: string }>(
        // Each item's CARCs summed within the item first: an item counts once per CARC (a count of
        // distinct items over the whole set sorted 50,000 rows on disk: 226-500 ms against 34-37 ms).
        `SELECT r.carc, count(*)::int AS count, sum(r.amount)::text AS amount
           FROM work_item w CROSS JOIN LATERAL (SELECT c->>'reason' AS carc, sum((c->>'amount')::numeric) AS amount FROM jsonb_array_elements(w.carcs) c WHERE c->>'group' <> 'PR' GROUP BY 1) r
          WHERE w.kind = 'denial' AND w.opened_on >= ${since} GROUP BY 1 ORDER BY sum(r.amount) DESC LIMIT 15`),
      // Initial denial rate: of the claims answered by an 835 (their first payment, not a reversal),
      // how many had a denial made by that first payment; by dollars: denied amount over billed.
      q<{ claims: number; denied: number; billed: string; denied_amount: string; by_count: string | null; by_dollars: string | null }>(
        `WITH first AS (
           SELECT DISTINCT ON (cp.claim_id) cp.claim_id, cp.id FROM claim_payment cp
            WHERE cp.claim_id IS NOT NULL AND cp.match_status = 'matched' AND cp.own_payer AND cp.reverses_payment_id IS NULL AND cp.status_code <> '22'
            ORDER BY cp.claim_id, cp.id),
         per AS (
           SELECT f.claim_id, c.total_charge, coalesce((SELECT sum(d.amount) FROM denial d WHERE d.first_payment_id = f.id AND d.kind = 'denied'), 0) AS denied
             FROM first f JOIN claim c ON c.id = f.claim_id)
         SELECT count(*)::int AS claims, count(*) FILTER (WHERE denied > 0)::int AS denied, coalesce(sum(total_charge), 0)::text AS billed, coalesce(sum(denied), 0)::text AS denied_amount,
                ${PCT('count(*) FILTER (WHERE denied > 0)', 'count(*)')} AS by_count, ${PCT('coalesce(sum(denied), 0)', 'coalesce(sum(total_charge), 0)')} AS by_dollars
           FROM per`),
      // Clean claim rate: claims sent (a 'submitted' event) never rejected (999/277CA) and never denied.
      q<{ claims: number; clean: number; rate: string | null }>(
        `WITH sent AS (SELECT DISTINCT claim_id FROM claim_event WHERE to_status = 'submitted'),
              flagged AS (
                SELECT s.claim_id,
                       EXISTS (SELECT 1 FROM claim_event e WHERE e.claim_id = s.claim_id AND e.to_status IN ('rejected', 'payer_rejected'))
                       OR EXISTS (SELECT 1 FROM denial d WHERE d.claim_id = s.claim_id AND d.kind = 'denied') AS dirty
                  FROM sent s)
         SELECT count(*)::int AS claims, count(*) FILTER (WHERE NOT dirty)::int AS clean, ${PCT('count(*) FILTER (WHERE NOT dirty)', 'count(*)')} AS rate FROM flagged`),
      // A/R: what is still owed on claims sent to a payer: billed less the payer's payments and adjustments, by days since first sent.
      q<{ payerId: string | null; payerName: string | null; bucket: AgingBucket; claims: number; amount: string }>(
        `WITH open_claims AS (
           SELECT c.id, c.payer_id, c.total_charge,
                  (SELECT min(e.at)::date FROM claim_event e WHERE e.claim_id = c.id AND e.to_status = 'submitted') AS sent_on
             FROM claim c WHERE c.status IN ('submitted', 'accepted', 'payer_accepted', 'partially_paid', 'denied', 'reversed')),
         money AS (
           SELECT o.id, o.payer_id, o.sent_on,
                  o.total_charge - coalesce((SELECT sum(cp.paid) FROM claim_payment cp WHERE cp.claim_id = o.id AND cp.match_status = 'matched' AND cp.own_payer), 0)
                                 - coalesce((SELECT sum(a.amount) FROM payment_adjustment a JOIN claim_payment cp ON cp.id = a.claim_payment_id
                                              WHERE cp.claim_id = o.id AND cp.match_status = 'matched' AND cp.own_payer), 0) AS outstanding
             FROM open_claims o WHERE o.sent_on IS NOT NULL)
         SELECT p.payer_id AS "payerId", p.name AS "payerName",
                CASE WHEN current_date - m.sent_on <= 30 THEN '0-30' WHEN current_date - m.sent_on <= 60 THEN '31-60' WHEN current_date - m.sent_on <= 90 THEN '61-90'
                     WHEN current_date - m.sent_on <= 120 THEN '91-120' ELSE '120+' END AS bucket,
                count(*)::int AS claims, sum(m.outstanding)::text AS amount
           FROM money m LEFT JOIN practice_payer p ON p.id = m.payer_id WHERE m.outstanding <> 0
          GROUP BY 1, 2, 3`),
      q<{ amount: string; count: number }>(`SELECT coalesce(sum(amount), 0)::numeric(14,2)::text AS amount, count(*)::int AS count FROM denial WHERE status = 'resolved'`),
      q<{ amount: string; count: number }>(`SELECT coalesce(sum(amount), 0)::numeric(14,2)::text AS amount, count(DISTINCT work_item_id)::int AS count FROM write_off`),
      q<{ average: string | null; resolved: number }>(
        `SELECT round(avg(closed_at::date - opened_on), 1)::text AS average, count(*)::int AS resolved FROM work_item WHERE kind = 'denial' AND closed_at IS NOT NULL`),
      q<{ payerId: string | null; payerName: string | null; procedure: string; modifiers: string; dxCategory: string; carc: string; denied: number; answered: number; percent: string; amount: string }>(
        `WITH w AS (SELECT * FROM denial_pattern WHERE answered_on > (SELECT max(answered_on) FROM denial_pattern) - 180),
              g AS (SELECT payer_row_id, procedure_code, modifiers, dx_category, (sum(lines) FILTER (WHERE carc <> ''))::int AS denied, sum(lines)::int AS answered, sum(denied_amount) AS amount
                      FROM w GROUP BY 1, 2, 3, 4 HAVING sum(lines) FILTER (WHERE carc <> '') >= 2),
              usual AS (SELECT DISTINCT ON (payer_row_id, procedure_code, modifiers, dx_category) payer_row_id, procedure_code, modifiers, dx_category, carc
                          FROM (SELECT payer_row_id, procedure_code, modifiers, dx_category, carc, sum(lines) AS n FROM w WHERE carc <> '' GROUP BY 1, 2, 3, 4, 5) x
                         ORDER BY payer_row_id, procedure_code, modifiers, dx_category, n DESC, carc)
         SELECT p.payer_id AS "payerId", p.name AS "payerName", g.procedure_code AS procedure, g.modifiers, g.dx_category AS "dxCategory", u.carc, g.denied, g.answered,
                round(100.0 * g.denied / g.answered)::text AS percent, g.amount::text AS amount
           FROM g JOIN usual u USING (payer_row_id, procedure_code, modifiers, dx_category) LEFT JOIN practice_payer p ON p.id = g.payer_row_id
          ORDER BY g.denied DESC, g.amount DESC LIMIT 10`),
    ]);
    const monthsList: string[] = [];
    const now = new Date(`${endMonth}T00:00:00Z`);
    for (let i = months - 1; i >= 0; i--) {
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
      monthsList.push(d.toISOString().slice(0, 7));
    }
    const monthMap = new Map(byMonth.map((m) => [m.month, m]));
    const agingByPayer = new Map<string, Dashboard['aging'][number]>();
    for (const r of aging) {
      const key = r.payerId ?? '';
      let row = agingByPayer.get(key);
      if (row === undefined) {
        row = { payerId: r.payerId, payerName: r.payerName, buckets: { '0-30': '0.00', '31-60': '0.00', '61-90': '0.00', '91-120': '0.00', '120+': '0.00' }, claims: { '0-30': 0, '31-60': 0, '61-90': 0, '91-120': 0, '120+': 0 }, total: '0.00' };
        agingByPayer.set(key, row);
      }
      row.buckets[r.bucket] = r.amount;
      row.claims[r.bucket] = r.claims;
    }
    for (const row of agingByPayer.values()) row.total = Object.values(row.buckets).reduce((t, v) => addDecimal(t, v), '0.00');
    const i = idr[0];
    return {
      asOf: asOf[0]?.d ?? '',
      months: monthsList,
      deniedByMonth: monthsList.map((m) => monthMap.get(m) ?? { month: m, count: 0, amount: '0.00' }),
      byPayer, byCategory, byCarc,
      initialDenialRate: { claims: i?.claims ?? 0, denied: i?.denied ?? 0, byCount: i?.by_count ?? null, billed: i?.billed ?? '0', deniedAmount: i?.denied_amount ?? '0', byDollars: i?.by_dollars ?? null },
      cleanClaimRate: { claims: ccr[0]?.claims ?? 0, clean: ccr[0]?.clean ?? 0, rate: ccr[0]?.rate ?? null },
      aging: [...agingByPayer.values()].sort((a, b) => (a.payerName ?? '').localeCompare(b.payerName ?? '')),
      recovered: recovered[0] ?? { amount: '0', count: 0 },
      writtenOff: writtenOff[0] ?? { amount: '0', count: 0 },
      daysToResolution: resolution[0] ?? { average: null, resolved: 0 },
      patterns,
    };
  }
}
