import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DAY_REFRESH_FUNCTION } from './1764648000000-DenialPatterns';

/**
 * The payer-history summary (denial_pattern, see 1764648000000-DenialPatterns) brought up to date
 * by difference instead of by day. Each refresh used to recompute every day its claims were
 * answered on, whole: a practice posting many 835s a day (the soak: one a minute, all answered the
 * same day) recomputed all that day's lines at each import, a cost growing through the day.
 *
 * Now each answered line's contribution is kept (denial_pattern_line: its key and denied amount,
 * one row per line and denial, as the summary counts them), and a refresh for some claims takes
 * their lines' old rows out of the summary and puts their new rows in: work in proportion to the
 * claims refreshed. Claims whose refresh failed (the import had committed) wait in
 * denial_pattern_pending and are taken with the next refresh. NULL still rebuilds everything.
 */
export class DenialPatternLines1765008000000 implements MigrationInterface {
  name = 'DenialPatternLines1765008000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE denial_pattern_line (
        claim_id bigint NOT NULL,
        claim_line_id bigint NOT NULL,
        payer_row_id bigint NOT NULL,
        procedure_code text NOT NULL,
        modifiers text NOT NULL,
        dx_category text NOT NULL,
        answered_on date NOT NULL,
        carc text NOT NULL,
        denied_amount numeric(14,2) NOT NULL
      )`);
    await q.query(`CREATE INDEX ix_denial_pattern_line_claim ON denial_pattern_line (claim_id)`);
    await q.query(`CREATE TABLE denial_pattern_pending (claim_id bigint NOT NULL)`);
    await q.query(`DROP FUNCTION IF EXISTS hl7c_denial_pattern_refresh(bigint[])`);
    await q.query(`
      CREATE FUNCTION hl7c_denial_pattern_refresh(claim_ids bigint[]) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        started timestamptz := clock_timestamp();
        n integer;
        delta bigint;
      BEGIN
        -- One refresh at a time across instances (two imports may refresh the same claim).
        PERFORM pg_advisory_xact_lock(727004);
        CREATE TEMP TABLE IF NOT EXISTS hl7c_pattern_claims (claim_id bigint) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS hl7c_pattern_new (LIKE denial_pattern_line) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS hl7c_pattern_old (payer_row_id bigint, procedure_code text, modifiers text, dx_category text, answered_on date, carc text, lines integer, denied_amount numeric) ON COMMIT DROP;
        TRUNCATE hl7c_pattern_claims, hl7c_pattern_new, hl7c_pattern_old;
        IF claim_ids IS NULL THEN
          DELETE FROM denial_pattern;
          DELETE FROM denial_pattern_line;
          DELETE FROM denial_pattern_pending;
          INSERT INTO hl7c_pattern_claims SELECT DISTINCT cl.claim_id FROM service_payment sp JOIN claim_line cl ON cl.id = sp.claim_line_id;
        ELSE
          WITH pending AS (DELETE FROM denial_pattern_pending RETURNING claim_id)
          INSERT INTO hl7c_pattern_claims SELECT claim_id FROM pending UNION SELECT unnest(claim_ids);
        END IF;
        ANALYZE hl7c_pattern_claims;
        -- Each answered line (its first own-payer payment, reversals aside) of those claims, with
        -- the CARC a denied line is known by: its largest adjustment that is not the patient's.
        -- Driven from the claims, each look-up an index probe (OFFSET 0 keeps the planner from
        -- turning them into joins: planned on statistics a large import had just made stale, it
        -- read every payment once per line; with fresh ones, it merge-joined along every claim and
        -- claim line ever billed, slower with each import).
        INSERT INTO hl7c_pattern_new (claim_id, claim_line_id, payer_row_id, procedure_code, modifiers, dx_category, answered_on, carc, denied_amount)
        SELECT c.id, cl.id, c.payer_id, cl.procedure_code,
               array_to_string(ARRAY(SELECT m FROM unnest(cl.modifiers) m ORDER BY m), ':'),
               coalesce(upper(left(replace(c.payload -> 'diagnoses' ->> (coalesce(cl.diagnosis_pointers[1], 1) - 1), '.', ''), 3)), ''),
               a.answered_on, coalesce(d.carc, ''), coalesce(d.amount, 0)
          FROM hl7c_pattern_claims k
         CROSS JOIN LATERAL (SELECT c.id, c.payer_id, c.payload FROM claim c WHERE c.id = k.claim_id AND c.payer_id IS NOT NULL OFFSET 0) c
         CROSS JOIN LATERAL (SELECT cl.id, cl.claim_id, cl.procedure_code, cl.modifiers, cl.diagnosis_pointers FROM claim_line cl
                              WHERE cl.claim_id = c.id AND cl.procedure_code IS NOT NULL OFFSET 0) cl
          JOIN LATERAL (SELECT min(cp.payment_date) AS answered_on
                          FROM service_payment sp
                         CROSS JOIN LATERAL (SELECT x.payment_date FROM claim_payment x
                                              WHERE x.id = sp.claim_payment_id AND x.match_status = 'matched' AND x.own_payer AND x.reverses_payment_id IS NULL
                                                AND x.payment_date IS NOT NULL OFFSET 0) cp
                         WHERE sp.claim_line_id = cl.id) a ON a.answered_on IS NOT NULL
          LEFT JOIN LATERAL (SELECT dn.amount,
                                    (SELECT x ->> 'reason' FROM jsonb_array_elements(dn.carcs) x WHERE x ->> 'group' <> 'PR' ORDER BY (x ->> 'amount')::numeric DESC, x ->> 'reason' LIMIT 1) AS carc
                               FROM denial dn
                              WHERE dn.claim_id = cl.claim_id AND dn.claim_line_id = cl.id AND dn.kind = 'denied' AND dn.status <> 'reversed' OFFSET 0) d ON true;
        GET DIAGNOSTICS n = ROW_COUNT;
        -- Out of the summary: what those claims' lines counted for before.
        WITH old AS (DELETE FROM denial_pattern_line l USING hl7c_pattern_claims k WHERE l.claim_id = k.claim_id RETURNING l.*)
        INSERT INTO hl7c_pattern_old
          SELECT payer_row_id, procedure_code, modifiers, dx_category, answered_on, carc, count(*), sum(denied_amount) FROM old GROUP BY 1, 2, 3, 4, 5, 6;
        UPDATE denial_pattern p SET lines = p.lines - o.lines, denied_amount = p.denied_amount - o.denied_amount
          FROM hl7c_pattern_old o
         WHERE p.payer_row_id = o.payer_row_id AND p.procedure_code = o.procedure_code AND p.modifiers = o.modifiers AND p.dx_category = o.dx_category
           AND p.answered_on = o.answered_on AND p.carc = o.carc;
        -- Into the summary: what they count for now.
        INSERT INTO denial_pattern_line SELECT * FROM hl7c_pattern_new;
        INSERT INTO denial_pattern (payer_row_id, procedure_code, modifiers, dx_category, answered_on, carc, lines, denied_amount)
          SELECT payer_row_id, procedure_code, modifiers, dx_category, answered_on, carc, count(*)::int, sum(denied_amount) FROM hl7c_pattern_new GROUP BY 1, 2, 3, 4, 5, 6
          ON CONFLICT ON CONSTRAINT pk_denial_pattern DO UPDATE SET lines = denial_pattern.lines + EXCLUDED.lines, denied_amount = denial_pattern.denied_amount + EXCLUDED.denied_amount;
        DELETE FROM denial_pattern p USING hl7c_pattern_old o
         WHERE p.payer_row_id = o.payer_row_id AND p.procedure_code = o.procedure_code AND p.modifiers = o.modifiers AND p.dx_category = o.dx_category
           AND p.answered_on = o.answered_on AND p.carc = o.carc AND p.lines <= 0;
        delta := n - coalesce((SELECT sum(lines) FROM hl7c_pattern_old), 0);
        INSERT INTO denial_pattern_refresh (refreshed_at, lines, milliseconds)
          VALUES (now(), n, (extract(epoch FROM clock_timestamp() - started) * 1000)::int)
          ON CONFLICT (id) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at,
                                         lines = CASE WHEN claim_ids IS NULL THEN EXCLUDED.lines ELSE denial_pattern_refresh.lines + delta END,
                                         milliseconds = EXCLUDED.milliseconds;
        RETURN n;
      END $$`);
    // The lines' rows and the summary, from what is stored.
    await q.query(`SELECT hl7c_denial_pattern_refresh(NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS hl7c_denial_pattern_refresh(bigint[])`);
    await q.query(DAY_REFRESH_FUNCTION);
    await q.query(`DROP TABLE IF EXISTS denial_pattern_pending`);
    await q.query(`DROP TABLE IF EXISTS denial_pattern_line`);
  }
}
