import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The refresh as this migration made it (day by day); 1765008000000-DenialPatternLines replaces it, and puts it back when undone. */
export const DAY_REFRESH_FUNCTION = `
      CREATE FUNCTION hl7c_denial_pattern_refresh(claim_ids bigint[]) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        started timestamptz := clock_timestamp();
        n integer;
      BEGIN
        -- One refresh at a time across instances (two imports' refreshes may share a day).
        PERFORM pg_advisory_xact_lock(727004);
        -- Step by step through temporary tables with their statistics, so that a small import on a
        -- large ledger reads only its days' lines (one statement with optional filters planned a
        -- full scan per line).
        CREATE TEMP TABLE IF NOT EXISTS hl7c_pattern_days (payer_row_id bigint, day date) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS hl7c_pattern_lines (claim_line_id bigint) ON COMMIT DROP;
        CREATE TEMP TABLE IF NOT EXISTS hl7c_pattern_answered (claim_line_id bigint, answered_on date) ON COMMIT DROP;
        TRUNCATE hl7c_pattern_days, hl7c_pattern_lines, hl7c_pattern_answered;
        IF claim_ids IS NULL THEN
          DELETE FROM denial_pattern;
          INSERT INTO hl7c_pattern_answered
            SELECT sp.claim_line_id, min(cp.payment_date)
              FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id
             WHERE sp.claim_line_id IS NOT NULL AND cp.match_status = 'matched' AND cp.own_payer AND cp.reverses_payment_id IS NULL AND cp.payment_date IS NOT NULL
             GROUP BY sp.claim_line_id;
        ELSE
          INSERT INTO hl7c_pattern_days
            SELECT DISTINCT c.payer_id, cp.payment_date
              FROM claim_payment cp JOIN claim c ON c.id = cp.claim_id
             WHERE cp.claim_id = ANY (claim_ids) AND cp.match_status = 'matched' AND cp.payment_date IS NOT NULL AND c.payer_id IS NOT NULL;
          ANALYZE hl7c_pattern_days;
          DELETE FROM denial_pattern p USING hl7c_pattern_days d WHERE p.payer_row_id = d.payer_row_id AND p.answered_on = d.day;
          -- Every line with a payment on one of those days; then when each was first answered.
          INSERT INTO hl7c_pattern_lines
            SELECT DISTINCT sp.claim_line_id
              FROM claim_payment cp JOIN service_payment sp ON sp.claim_payment_id = cp.id
             WHERE cp.match_status = 'matched' AND cp.payment_date IN (SELECT day FROM hl7c_pattern_days) AND sp.claim_line_id IS NOT NULL;
          ANALYZE hl7c_pattern_lines;
          INSERT INTO hl7c_pattern_answered
            SELECT l.claim_line_id, min(cp.payment_date)
              FROM hl7c_pattern_lines l JOIN service_payment sp ON sp.claim_line_id = l.claim_line_id JOIN claim_payment cp ON cp.id = sp.claim_payment_id
             WHERE cp.match_status = 'matched' AND cp.own_payer AND cp.reverses_payment_id IS NULL AND cp.payment_date IS NOT NULL
             GROUP BY l.claim_line_id;
        END IF;
        ANALYZE hl7c_pattern_answered;
        INSERT INTO denial_pattern (payer_row_id, procedure_code, modifiers, dx_category, answered_on, carc, lines, denied_amount)
        SELECT c.payer_id, cl.procedure_code,
               array_to_string(ARRAY(SELECT m FROM unnest(cl.modifiers) m ORDER BY m), ':'),
               coalesce(upper(left(replace(c.payload -> 'diagnoses' ->> (coalesce(cl.diagnosis_pointers[1], 1) - 1), '.', ''), 3)), ''),
               a.answered_on, coalesce(d.carc, ''), count(*)::int, coalesce(sum(d.amount), 0)
          FROM hl7c_pattern_answered a
          JOIN claim_line cl ON cl.id = a.claim_line_id
          JOIN claim c ON c.id = cl.claim_id
          -- The CARC a denied line is known by: its largest adjustment that is not the patient's.
          LEFT JOIN (SELECT dn.claim_id, dn.claim_line_id, dn.amount,
                            (SELECT x ->> 'reason' FROM jsonb_array_elements(dn.carcs) x WHERE x ->> 'group' <> 'PR' ORDER BY (x ->> 'amount')::numeric DESC, x ->> 'reason' LIMIT 1) AS carc
                       FROM denial dn WHERE dn.kind = 'denied' AND dn.status <> 'reversed' AND dn.claim_line_id IS NOT NULL) d
            ON d.claim_id = cl.claim_id AND d.claim_line_id = cl.id
         WHERE c.payer_id IS NOT NULL AND cl.procedure_code IS NOT NULL
           AND (claim_ids IS NULL OR EXISTS (SELECT 1 FROM hl7c_pattern_days d WHERE d.payer_row_id = c.payer_id AND d.day = a.answered_on))
         GROUP BY 1, 2, 3, 4, 5, 6;
        GET DIAGNOSTICS n = ROW_COUNT;
        INSERT INTO denial_pattern_refresh (refreshed_at, lines, milliseconds)
          VALUES (now(), (SELECT coalesce(sum(lines), 0) FROM denial_pattern), (extract(epoch FROM clock_timestamp() - started) * 1000)::int)
          ON CONFLICT (id) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at, lines = EXCLUDED.lines, milliseconds = EXCLUDED.milliseconds;
        RETURN n;
      END $$`;

/**
 * What each payer did with the lines we billed, for the scrubber's `payer-history` rule and the
 * dashboard's top denial patterns: claim lines answered by an 835, counted by payer, procedure,
 * modifiers (sorted, joined by ':'), diagnosis category (the first three characters of the line's
 * first diagnosis), the date of the line's first answer, and the CARC of its denial ('' for a
 * line not denied). A summary of the ledger, never a source of truth: filled here from what is
 * stored, then brought up to date after each 835 import and each payment matched by hand, for the
 * days those claims were answered on (hl7c_denial_pattern_refresh(claim ids); NULL rebuilds all).
 *
 * Not kept by triggers in the posting transaction: a day's rows are recomputed from all of that
 * day's lines, and an 835 posts in batches of a few dozen claims (100,000 claims answered on one
 * day: 2.5 s for the whole day, once per import, against once per batch).
 */
export class DenialPatterns1764648000000 implements MigrationInterface {
  name = 'DenialPatterns1764648000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE denial_pattern (
        payer_row_id bigint NOT NULL,
        procedure_code text NOT NULL,
        modifiers text NOT NULL,
        dx_category text NOT NULL,
        answered_on date NOT NULL,
        carc text NOT NULL,
        lines integer NOT NULL,
        denied_amount numeric(14,2) NOT NULL,
        CONSTRAINT pk_denial_pattern PRIMARY KEY (payer_row_id, procedure_code, modifiers, dx_category, answered_on, carc)
      )`);
    await q.query(`
      CREATE TABLE denial_pattern_refresh (
        id boolean PRIMARY KEY DEFAULT true CONSTRAINT ck_denial_pattern_refresh_one CHECK (id),
        refreshed_at timestamptz NOT NULL,
        lines integer NOT NULL,
        milliseconds integer NOT NULL
      )`);
    // The days a claim's lines may have been first answered on: when an older 835 arrives after a
    // newer one, a line moves to an earlier day, and the day it leaves is one of its payment dates too.
    await q.query(`CREATE INDEX ix_claim_payment_payment_date ON claim_payment (payment_date) WHERE match_status = 'matched'`);
    await q.query(DAY_REFRESH_FUNCTION);
    await q.query(`SELECT hl7c_denial_pattern_refresh(NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS hl7c_denial_pattern_refresh(bigint[])`);
    await q.query(`DROP INDEX IF EXISTS ix_claim_payment_payment_date`);
    await q.query(`DROP TABLE IF EXISTS denial_pattern_refresh`);
    await q.query(`DROP TABLE IF EXISTS denial_pattern`);
  }
}
