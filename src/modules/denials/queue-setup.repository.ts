import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Category } from './work-filter';

export interface CategoryRule {
  id: string;
  carc: string;
  group_code: string | null;
  rarc: string | null;
  category: Category;
  recoverability: string;
  next_step: string;
  source: string;
  updated_by: string;
}

export interface OwedClaim {
  id: string;
  pcn: string;
  status: string;
  payer: string | null;
  billed: string;
  outstanding: string;
  sent_on: string;
  days: number;
  patient: string | null;
}

/**
 * The queries behind the queue's pages that are not work items themselves: who can be assigned,
 * the payers to filter by, saved views, appeal letters of an item, the claims owed (what the A/R
 * figures count), the category rules and the deadline days. Pages call these; they hold no SQL.
 */
@Injectable()
export class QueueSetupRepository {
  constructor(private readonly ds: DataSource) {}

  /** Active people who can own items (billers and admins). */
  workers(): Promise<{ id: string; email: string }[]> {
    return this.ds.query(`SELECT id::text AS id, email FROM staff_user WHERE disabled_at IS NULL AND role IN ('admin', 'biller') ORDER BY email`);
  }

  payers(): Promise<{ id: string; payerId: string; name: string }[]> {
    return this.ds.query(`SELECT id::text AS id, payer_id AS "payerId", name FROM practice_payer ORDER BY name, payer_id`);
  }

  views(userId: string): Promise<{ id: string; name: string; query: string; shared: boolean; mine: boolean }[]> {
    return this.ds.query(`SELECT id::text AS id, name, query, shared, owner_id = $1 AS mine FROM saved_view WHERE owner_id = $1 OR shared ORDER BY lower(name)`, [userId]);
  }

  async saveView(m: EntityManager, userId: string, name: string, query: string, shared: boolean): Promise<void> {
    await m.query(`INSERT INTO saved_view (owner_id, name, query, shared) VALUES ($1, $2, $3, $4) ON CONFLICT (owner_id, lower(name)) DO UPDATE SET query = EXCLUDED.query, shared = EXCLUDED.shared`, [userId, name, query, shared]);
  }

  letters(itemId: string): Promise<{ id: string; created: string; actor: string }[]> {
    return this.ds.query(`SELECT id::text AS id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS created, actor FROM appeal_letter WHERE work_item_id = $1 ORDER BY id`, [itemId]);
  }

  /** Claims still owed by their payer (billed less the payer's payments and adjustments), first sent between lo and hi days ago; at most 500. */
  claimsOwed(payer: string | undefined, lo: number, hi: number): Promise<OwedClaim[]> {
    return this.ds.query<OwedClaim[]>(
      `WITH c AS (
         SELECT c.id, c.patient_control_number AS pcn, c.status, p.name AS payer, c.total_charge, c.patient_id,
                (SELECT min(e.at)::date FROM claim_event e WHERE e.claim_id = c.id AND e.to_status = 'submitted') AS sent_on
           FROM claim c LEFT JOIN practice_payer p ON p.id = c.payer_id
          WHERE c.status IN ('submitted', 'accepted', 'payer_accepted', 'partially_paid', 'denied', 'reversed') AND ($1::text IS NULL OR p.payer_id = $1))
       SELECT c.id::text, c.pcn, c.status, c.payer, c.total_charge::text AS billed, to_char(c.sent_on, 'YYYY-MM-DD') AS sent_on, current_date - c.sent_on AS days,
              nullif(concat_ws(', ', pt.family_name, pt.given_name), '') AS patient,
              (c.total_charge - coalesce((SELECT sum(cp.paid) FROM claim_payment cp WHERE cp.claim_id = c.id AND cp.match_status = 'matched' AND cp.own_payer), 0)
                              - coalesce((SELECT sum(a.amount) FROM payment_adjustment a JOIN claim_payment cp ON cp.id = a.claim_payment_id WHERE cp.claim_id = c.id AND cp.match_status = 'matched' AND cp.own_payer), 0))::text AS outstanding
         FROM c LEFT JOIN patient pt ON pt.id = c.patient_id
        WHERE c.sent_on IS NOT NULL AND current_date - c.sent_on BETWEEN $2 AND $3
        ORDER BY c.sent_on, c.id LIMIT 500`,
      [payer ?? null, lo, hi],
    );
  }

  rules(): Promise<CategoryRule[]> {
    return this.ds.query<CategoryRule[]>(
      `SELECT id::text, carc, group_code, rarc, category, recoverability::text, next_step, source, updated_by FROM denial_category_rule ORDER BY length(carc), carc, rarc NULLS FIRST, group_code NULLS FIRST`,
    );
  }

  deadlines(): Promise<{ payer: string | null; name: string | null; appeal: number; filing: number; noResponse: number }[]> {
    return this.ds.query(
      `SELECT p.payer_id AS payer, p.name, s.appeal_days AS appeal, s.timely_filing_days AS filing, s.no_response_days AS "noResponse"
         FROM work_setting s LEFT JOIN practice_payer p ON p.id = s.payer_row_id ORDER BY s.payer_row_id NULLS FIRST`,
    );
  }

  async saveRule(m: EntityManager, r: { carc: string; group: string | null; rarc: string | null; category: string; recoverability: string; nextStep: string }, actor: string): Promise<void> {
    await m.query(
      `INSERT INTO denial_category_rule (carc, group_code, rarc, category, recoverability, next_step, source, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'admin', $7, now())
       ON CONFLICT (carc, group_code, rarc) DO UPDATE SET category = EXCLUDED.category, recoverability = EXCLUDED.recoverability, next_step = EXCLUDED.next_step, source = 'admin', updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [r.carc, r.group, r.rarc, r.category, r.recoverability, r.nextStep, actor],
    );
  }

  /** The deleted rule's CARC, or null when there was no such rule. */
  async deleteRule(m: EntityManager, id: string): Promise<string | null> {
    const rows = await m.query<{ carc: string }[]>(`WITH d AS (DELETE FROM denial_category_rule WHERE id = $1 RETURNING carc) SELECT carc FROM d`, [id]);
    return rows[0]?.carc ?? null;
  }

  async saveDeadlines(m: EntityManager, payerRowId: string | null, days: { appeal: number; filing: number; noResponse: number }, actor: string): Promise<void> {
    await m.query(
      `INSERT INTO work_setting (payer_row_id, appeal_days, timely_filing_days, no_response_days, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (payer_row_id) DO UPDATE SET appeal_days = EXCLUDED.appeal_days, timely_filing_days = EXCLUDED.timely_filing_days, no_response_days = EXCLUDED.no_response_days, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [payerRowId, days.appeal, days.filing, days.noResponse, actor],
    );
  }

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  /** Appeal templates admins have written (categories without one use the shipped default). */
  async templates(): Promise<Map<Category, { body: string; updatedBy: string; updatedAt: string }>> {
    const rows = await this.ds.query<{ category: Category; body: string; updated_by: string; updated_at: string }[]>(
      `SELECT category, body, updated_by, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS updated_at FROM appeal_template`,
    );
    return new Map(rows.map((r) => [r.category, { body: r.body, updatedBy: r.updated_by, updatedAt: r.updated_at }]));
  }

  async template(category: Category): Promise<string | undefined> {
    const [row] = await this.ds.query<{ body: string }[]>(`SELECT body FROM appeal_template WHERE category = $1`, [category]);
    return row?.body;
  }

  async saveTemplate(m: EntityManager, category: Category, body: string, actor: string): Promise<void> {
    await m.query(
      `INSERT INTO appeal_template (category, body, updated_by) VALUES ($1, $2, $3) ON CONFLICT (category) DO UPDATE SET body = EXCLUDED.body, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [category, body, actor],
    );
  }

  /** Back to the shipped default; whether there was a template to remove. */
  async resetTemplate(m: EntityManager, category: Category): Promise<boolean> {
    const rows = await m.query<{ category: string }[]>(`DELETE FROM appeal_template WHERE category = $1 RETURNING category`, [category]);
    return rows.length > 0;
  }
}
