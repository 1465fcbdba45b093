import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The denials work queue. Every claim that did not get paid in full becomes a work item with a
 * category, an amount at stake, deadlines, an owner and a status:
 *   denial       a denial record the 835 left (a denied, short-paid or underpaid claim or line)
 *   rejection    a claim rejected by the clearinghouse (999) or the payer (277CA)
 *   held         a claim the builder or the scrubber held back
 *   no_response  a claim sent and not answered by an 835 within the payer's days (a sweep opens these)
 *   unmatched    an 835 claim payment that matches no claim of ours
 *
 * Items are made and closed by statement-level triggers on the tables whose rows cause them
 * (denial, claim, claim_payment, claim_finding), so that they change in the same transaction as
 * their cause whatever path wrote it (835 posting, a reversal, a 277CA, a rebuild, a match by
 * hand). The category comes from an editable rule table of CARC (with group and RARC); a
 * combination no rule covers is `uncategorised`, visibly. Deadlines come from per-payer days with
 * a default row: appeal from the denial date, timely filing from the date of service. Every
 * change of an item is a work_item_event row (append-only), as every action of a person is an
 * audit_event.
 *
 * Two references are kept by construction rather than by foreign key, as in the ledger: an item's
 * denial (the trigger that makes the item reads it from the denial rows just written, and denial
 * rows are never deleted) and an event's item (events are written only with their item, which is
 * never deleted). Their per-row checks cost 5-20 ms per 835 batch of 49 denials, a seventh of the
 * import's time in the triggers; the suites check that none lost its parent
 * (test/support/integrity.ts).
 */
export class WorkQueue1764561600000 implements MigrationInterface {
  name = 'WorkQueue1764561600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE denial_category_rule (
        id bigserial CONSTRAINT pk_denial_category_rule PRIMARY KEY,
        carc text NOT NULL,
        group_code text,
        rarc text,
        category text NOT NULL,
        recoverability numeric(3,2) NOT NULL,
        next_step text NOT NULL,
        source text NOT NULL DEFAULT 'shipped',
        updated_by text NOT NULL DEFAULT 'migration',
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_denial_category_rule_category CHECK (category IN ('registration_eligibility', 'coding', 'authorization', 'medical_necessity', 'timely_filing', 'duplicate',
          'coordination_of_benefits', 'bundling', 'pricing', 'missing_information', 'other')),
        CONSTRAINT ck_denial_category_rule_recoverability CHECK (recoverability BETWEEN 0 AND 1),
        CONSTRAINT ck_denial_category_rule_group CHECK (group_code IS NULL OR group_code IN ('CO', 'OA', 'PI', 'PR', 'CR'))
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_denial_category_rule ON denial_category_rule (carc, group_code, rarc) NULLS NOT DISTINCT`);

    const steps: Record<string, [number, string]> = {
      registration_eligibility: [0.7, 'Check the patient\'s coverage and demographics (eligibility), correct the registration, and send a replacement claim or bill the right payer.'],
      coding: [0.8, 'Correct the procedure, modifier or diagnosis coding and send a replacement claim (frequency 7).'],
      authorization: [0.5, 'Find or obtain the authorization or referral; send a replacement claim with it, or appeal with the proof.'],
      medical_necessity: [0.4, 'Appeal with the clinical documentation that supports medical necessity, or correct the diagnosis if it was wrong.'],
      timely_filing: [0.1, 'Appeal only with proof of timely filing (our 837 batch and its 999/277CA acceptance); otherwise write off.'],
      duplicate: [0.2, 'Check whether the original claim was paid; if this was not a duplicate, correct and resubmit, else resolve.'],
      coordination_of_benefits: [0.75, 'Update the coordination of benefits with the patient and the payers; bill the primary payer first or send the primary\'s 835.'],
      bundling: [0.4, 'Check NCCI edits and modifiers (for example 59, XS, 25); send a replacement claim with the right modifier or accept the bundling.'],
      pricing: [0.5, 'Compare the allowed amount with the contract; appeal an underpayment with the fee schedule.'],
      missing_information: [0.85, 'Add the missing or invalid information the remark codes name and send a replacement claim.'],
      other: [0.3, 'Read the remark codes and the payer\'s policy; appeal, correct or write off.'],
    };
    const rules: [string, string | null, string | null, string][] = [
      ['4', null, null, 'coding'], ['5', null, null, 'coding'], ['6', null, null, 'coding'], ['7', null, null, 'coding'], ['8', null, null, 'coding'],
      ['9', null, null, 'coding'], ['10', null, null, 'coding'], ['11', null, null, 'coding'], ['146', null, null, 'coding'], ['181', null, null, 'coding'],
      ['182', null, null, 'coding'], ['189', null, null, 'coding'], ['199', null, null, 'coding'],
      ['15', null, null, 'authorization'], ['39', null, null, 'authorization'], ['62', null, null, 'authorization'], ['197', null, null, 'authorization'],
      ['198', null, null, 'authorization'], ['288', null, null, 'authorization'],
      ['26', null, null, 'registration_eligibility'], ['27', null, null, 'registration_eligibility'], ['31', null, null, 'registration_eligibility'],
      ['32', null, null, 'registration_eligibility'], ['33', null, null, 'registration_eligibility'], ['34', null, null, 'registration_eligibility'],
      ['140', null, null, 'registration_eligibility'], ['177', null, null, 'registration_eligibility'], ['200', null, null, 'registration_eligibility'],
      ['50', null, null, 'medical_necessity'], ['55', null, null, 'medical_necessity'], ['56', null, null, 'medical_necessity'], ['58', null, null, 'medical_necessity'],
      ['150', null, null, 'medical_necessity'], ['151', null, null, 'medical_necessity'], ['152', null, null, 'medical_necessity'], ['167', null, null, 'medical_necessity'],
      ['29', null, null, 'timely_filing'],
      ['18', null, null, 'duplicate'],
      ['22', null, null, 'coordination_of_benefits'], ['23', null, null, 'coordination_of_benefits'], ['109', null, null, 'coordination_of_benefits'],
      ['97', null, null, 'bundling'], ['231', null, null, 'bundling'], ['234', null, null, 'bundling'], ['236', null, null, 'bundling'], ['B15', null, null, 'bundling'],
      ['45', null, null, 'pricing'], ['59', null, null, 'pricing'],
      ['16', null, null, 'missing_information'], ['125', null, null, 'missing_information'], ['226', null, null, 'missing_information'],
      ['227', null, null, 'missing_information'], ['252', null, null, 'missing_information'], ['206', null, null, 'missing_information'], ['208', null, null, 'missing_information'],
      ['16', null, 'M51', 'coding'], ['16', null, 'M76', 'coding'], ['16', null, 'MA04', 'coordination_of_benefits'], ['16', null, 'N479', 'coordination_of_benefits'],
      ['96', null, null, 'other'], ['204', null, null, 'other'], ['35', null, null, 'other'], ['119', null, null, 'other'], ['B7', null, null, 'other'], ['170', null, null, 'other'],
      ['185', null, null, 'other'], ['242', null, null, 'other'], ['A1', null, null, 'other'], ['B5', null, null, 'other'], ['107', null, null, 'other'],
    ];
    for (const [carc, group, rarc, category] of rules) {
      const [recoverability, step] = steps[category] as [number, string];
      await q.query(`INSERT INTO denial_category_rule (carc, group_code, rarc, category, recoverability, next_step) VALUES ($1, $2, $3, $4, $5, $6)`, [carc, group, rarc, category, recoverability, step]);
    }
    // What an item of a kind that has no CARC gets (rejections, held claims, no response, unmatched payments).
    await q.query(`
      CREATE TABLE work_kind_default (
        kind text CONSTRAINT pk_work_kind_default PRIMARY KEY,
        category text NOT NULL,
        recoverability numeric(3,2) NOT NULL,
        next_step text NOT NULL
      )`);
    await q.query(`INSERT INTO work_kind_default VALUES
      ('rejection', 'missing_information', 0.85, 'Read the rejection (999 or 277CA status), correct the claim and let it be rebuilt and sent again.'),
      ('held', 'missing_information', 0.9, 'Fix what the builder or the scrubber found (see the claim''s findings); the claim is rebuilt and sent.'),
      ('no_response', 'other', 0.6, 'Ask the payer for the claim''s status (call, portal or a 276); resubmit if the payer has no record of it.'),
      ('unmatched', 'other', 0.5, 'Match the payment to the claim it pays (Remittances, unmatched), or note why it is not ours.'),
      ('underpaid', 'pricing', 0.5, 'Compare the allowed amount with the contract; appeal an underpayment with the fee schedule.')`);

    await q.query(`
      CREATE TABLE work_setting (
        payer_row_id bigint CONSTRAINT fk_work_setting_payer REFERENCES practice_payer(id) ON DELETE CASCADE,
        appeal_days integer NOT NULL,
        timely_filing_days integer NOT NULL,
        no_response_days integer NOT NULL,
        updated_by text NOT NULL DEFAULT 'migration',
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_work_setting_days CHECK (appeal_days > 0 AND timely_filing_days > 0 AND no_response_days > 0)
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_work_setting_payer ON work_setting (payer_row_id) NULLS NOT DISTINCT`);
    // Defaults: Medicare's 120 days for a redetermination, its 12 months of timely filing, 30 days without an answer.
    await q.query(`INSERT INTO work_setting (payer_row_id, appeal_days, timely_filing_days, no_response_days) VALUES (NULL, 120, 365, 30)`);

    await q.query(`
      CREATE TABLE work_item (
        id bigserial CONSTRAINT pk_work_item PRIMARY KEY,
        source_key text NOT NULL CONSTRAINT uq_work_item_source UNIQUE,
        kind text NOT NULL,
        claim_id bigint CONSTRAINT fk_work_item_claim REFERENCES claim(id),
        claim_line_id bigint CONSTRAINT fk_work_item_claim_line REFERENCES claim_line(id) ON DELETE SET NULL,
        denial_id bigint,
        claim_payment_id bigint,
        payer_row_id bigint CONSTRAINT fk_work_item_payer REFERENCES practice_payer(id),
        category text NOT NULL,
        category_carc text,
        category_rule_id bigint CONSTRAINT fk_work_item_rule REFERENCES denial_category_rule(id) ON DELETE SET NULL,
        category_set_by text,
        recoverability numeric(3,2) NOT NULL,
        amount numeric(14,2) NOT NULL,
        carcs jsonb NOT NULL DEFAULT '[]',
        rarcs text[] NOT NULL DEFAULT '{}',
        service_date date,
        opened_on date NOT NULL,
        appeal_deadline date,
        timely_filing_deadline date,
        deadline date NOT NULL,
        status text NOT NULL DEFAULT 'new',
        owner_id bigint CONSTRAINT fk_work_item_owner REFERENCES staff_user(id),
        follow_up_on date,
        last_payment_id bigint,
        closed_reason text,
        closed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        CONSTRAINT ck_work_item_kind CHECK (kind IN ('denial', 'rejection', 'held', 'no_response', 'unmatched')),
        CONSTRAINT ck_work_item_status CHECK (status IN ('new', 'in_progress', 'pending', 'appealed', 'resubmitted', 'written_off', 'resolved')),
        CONSTRAINT ck_work_item_category CHECK (category IN ('registration_eligibility', 'coding', 'authorization', 'medical_necessity', 'timely_filing', 'duplicate',
          'coordination_of_benefits', 'bundling', 'pricing', 'missing_information', 'other', 'uncategorised')),
        CONSTRAINT ck_work_item_pending CHECK (status <> 'pending' OR follow_up_on IS NOT NULL),
        CONSTRAINT ck_work_item_closed CHECK ((status IN ('written_off', 'resolved')) = (closed_at IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX ix_work_item_open ON work_item (deadline, amount DESC, id) WHERE closed_at IS NULL`);
    await q.query(`CREATE INDEX ix_work_item_status ON work_item (status, deadline)`);
    await q.query(`CREATE INDEX ix_work_item_owner ON work_item (owner_id, status) WHERE owner_id IS NOT NULL`);
    await q.query(`CREATE INDEX ix_work_item_claim ON work_item (claim_id) WHERE claim_id IS NOT NULL`);
    await q.query(`CREATE INDEX ix_work_item_unmatched ON work_item (claim_payment_id) WHERE kind = 'unmatched' AND closed_at IS NULL`);
    await q.query(`CREATE INDEX ix_work_item_no_response ON work_item (claim_id) WHERE kind = 'no_response' AND closed_at IS NULL`);
    await q.query(`CREATE INDEX ix_work_item_carcs ON work_item USING gin (carcs jsonb_path_ops)`);
    await q.query(`CREATE INDEX ix_work_item_rarcs ON work_item USING gin (rarcs)`);

    await q.query(`
      CREATE TABLE work_item_event (
        id bigserial CONSTRAINT pk_work_item_event PRIMARY KEY,
        work_item_id bigint NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        user_id bigint CONSTRAINT fk_work_item_event_user REFERENCES staff_user(id),
        actor text NOT NULL,
        action text NOT NULL,
        from_status text,
        to_status text,
        note text,
        detail jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX ix_work_item_event_item ON work_item_event (work_item_id, id)`);
    await q.query(`CREATE TRIGGER tr_work_item_event_append_only BEFORE UPDATE OR DELETE ON work_item_event FOR EACH ROW EXECUTE FUNCTION hl7c_audit_append_only()`);

    // Write-offs: what the practice gives up on an item, with the reason and who decided; append-only.
    await q.query(`
      CREATE TABLE write_off (
        id bigserial CONSTRAINT pk_write_off PRIMARY KEY,
        work_item_id bigint NOT NULL CONSTRAINT fk_write_off_item REFERENCES work_item(id),
        claim_id bigint CONSTRAINT fk_write_off_claim REFERENCES claim(id),
        claim_line_id bigint CONSTRAINT fk_write_off_claim_line REFERENCES claim_line(id),
        amount numeric(14,2) NOT NULL,
        reason text NOT NULL,
        user_id bigint CONSTRAINT fk_write_off_user REFERENCES staff_user(id),
        actor text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_write_off_amount CHECK (amount > 0),
        CONSTRAINT ck_write_off_reason CHECK (length(reason) BETWEEN 3 AND 500)
      )`);
    await q.query(`CREATE INDEX ix_write_off_claim ON write_off (claim_id) WHERE claim_id IS NOT NULL`);
    await q.query(`CREATE TRIGGER tr_write_off_append_only BEFORE UPDATE OR DELETE ON write_off FOR EACH ROW EXECUTE FUNCTION hl7c_audit_append_only()`);

    // Appeal letters as generated (the PDF's exact bytes), so that what was sent can be shown again.
    await q.query(`
      CREATE TABLE appeal_letter (
        id bigserial CONSTRAINT pk_appeal_letter PRIMARY KEY,
        work_item_id bigint NOT NULL CONSTRAINT fk_appeal_letter_item REFERENCES work_item(id),
        claim_id bigint NOT NULL CONSTRAINT fk_appeal_letter_claim REFERENCES claim(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        user_id bigint CONSTRAINT fk_appeal_letter_user REFERENCES staff_user(id),
        actor text NOT NULL,
        pdf bytea NOT NULL
      )`);
    await q.query(`CREATE INDEX ix_appeal_letter_item ON appeal_letter (work_item_id, id)`);
    await q.query(`CREATE TRIGGER tr_appeal_letter_append_only BEFORE UPDATE OR DELETE ON appeal_letter FOR EACH ROW EXECUTE FUNCTION hl7c_audit_append_only()`);

    await q.query(`
      CREATE TABLE saved_view (
        id bigserial CONSTRAINT pk_saved_view PRIMARY KEY,
        owner_id bigint NOT NULL CONSTRAINT fk_saved_view_owner REFERENCES staff_user(id),
        name text NOT NULL,
        query text NOT NULL,
        shared boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_saved_view_name CHECK (length(name) BETWEEN 1 AND 80)
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_saved_view_name ON saved_view (owner_id, lower(name))`);

    // The category of a set of CARCs (with their groups and amounts) and RARCs: the rule of the
    // largest non-PR adjustment first, the most specific rule (CARC with RARC and group, then
    // with RARC, with group, CARC alone) for it.
    await q.query(`
      CREATE FUNCTION hl7c_work_category(carcs jsonb, rarcs text[])
        RETURNS TABLE (category text, carc text, recoverability numeric, rule_id bigint)
        LANGUAGE sql STABLE AS $$
        SELECT r.category, c.reason, r.recoverability, r.id
          FROM jsonb_to_recordset(carcs) AS c("group" text, reason text, amount numeric)
          JOIN denial_category_rule r ON r.carc = c.reason AND (r.group_code IS NULL OR r.group_code = c."group") AND (r.rarc IS NULL OR r.rarc = ANY (rarcs))
         ORDER BY (c."group" = 'PR'), c.amount DESC NULLS LAST, (r.rarc IS NOT NULL) DESC, (r.group_code IS NOT NULL) DESC, r.id
         LIMIT 1
      $$`);
    // The payer's days, else the default row's, else the defaults above (a missing row never stops posting).
    await q.query(`
      CREATE FUNCTION hl7c_work_setting(payer bigint)
        RETURNS TABLE (appeal_days integer, timely_filing_days integer, no_response_days integer)
        LANGUAGE sql STABLE AS $$
        SELECT coalesce(p.appeal_days, d.appeal_days, 120), coalesce(p.timely_filing_days, d.timely_filing_days, 365), coalesce(p.no_response_days, d.no_response_days, 30)
          FROM (SELECT 1) AS one
          LEFT JOIN work_setting d ON d.payer_row_id IS NULL
          LEFT JOIN work_setting p ON p.payer_row_id = payer
      $$`);

    // Upserts items from rows describing what each should look like (a temporary table
    // work_src), and writes an event for every item made, closed, reopened or changed in amount.
    // A closed source closes its item; an open one reopens a closed item; a source that changed
    // its last payment (the payer answered again) brings an appealed, resubmitted or pending
    // item back to new. An item's owner, notes and a category set by hand are kept.
    await q.query(`
      CREATE FUNCTION hl7c_work_apply(actor text) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        -- Every look-up of work_item goes through its unique index on source_key (= ANY of an
        -- array, not a join): the plan is cached at the first call, when the table may be empty,
        -- and a join planned then scanned the whole table at every later call of a long import.
        WITH prev AS (
          SELECT w.id, w.source_key, w.status, w.amount, w.last_payment_id FROM work_item w WHERE w.source_key = ANY (ARRAY(SELECT source_key FROM work_src))
        ), up AS (
          INSERT INTO work_item AS w (source_key, kind, claim_id, claim_line_id, denial_id, claim_payment_id, payer_row_id, category, category_carc, category_rule_id, recoverability,
                                      amount, carcs, rarcs, service_date, opened_on, appeal_deadline, timely_filing_deadline, deadline, status, last_payment_id, closed_reason, closed_at)
          SELECT s.source_key, s.kind, s.claim_id, s.claim_line_id, s.denial_id, s.claim_payment_id, s.payer_row_id, s.category, s.category_carc, s.category_rule_id, s.recoverability,
                 s.amount, coalesce(s.carcs, '[]'), coalesce(s.rarcs, '{}'), s.service_date, s.opened_on, s.appeal_deadline, s.timely_filing_deadline, s.deadline,
                 CASE WHEN s.open THEN 'new' ELSE 'resolved' END, s.last_payment_id, CASE WHEN s.open THEN NULL ELSE s.closed_reason END, CASE WHEN s.open THEN NULL ELSE now() END
            FROM work_src s
           WHERE s.open OR EXISTS (SELECT 1 FROM work_item x WHERE x.source_key = s.source_key)
          ON CONFLICT (source_key) DO UPDATE SET
            amount = EXCLUDED.amount, carcs = EXCLUDED.carcs, rarcs = EXCLUDED.rarcs, payer_row_id = EXCLUDED.payer_row_id, service_date = coalesce(EXCLUDED.service_date, w.service_date),
            category = CASE WHEN w.category_set_by IS NULL THEN EXCLUDED.category ELSE w.category END,
            category_carc = CASE WHEN w.category_set_by IS NULL THEN EXCLUDED.category_carc ELSE w.category_carc END,
            category_rule_id = CASE WHEN w.category_set_by IS NULL THEN EXCLUDED.category_rule_id ELSE w.category_rule_id END,
            recoverability = CASE WHEN w.category_set_by IS NULL THEN EXCLUDED.recoverability ELSE w.recoverability END,
            appeal_deadline = EXCLUDED.appeal_deadline, timely_filing_deadline = EXCLUDED.timely_filing_deadline, deadline = EXCLUDED.deadline,
            last_payment_id = EXCLUDED.last_payment_id,
            status = CASE
              WHEN EXCLUDED.closed_at IS NOT NULL AND w.closed_at IS NULL THEN 'resolved'
              WHEN EXCLUDED.closed_at IS NULL AND w.closed_at IS NOT NULL THEN 'new'
              WHEN EXCLUDED.closed_at IS NULL AND w.status IN ('appealed', 'resubmitted', 'pending') AND EXCLUDED.last_payment_id IS DISTINCT FROM w.last_payment_id THEN 'new'
              ELSE w.status END,
            follow_up_on = CASE WHEN EXCLUDED.closed_at IS NULL AND w.status = 'pending' AND EXCLUDED.last_payment_id IS DISTINCT FROM w.last_payment_id THEN NULL ELSE w.follow_up_on END,
            closed_reason = CASE WHEN EXCLUDED.closed_at IS NOT NULL AND w.closed_at IS NULL THEN EXCLUDED.closed_reason WHEN EXCLUDED.closed_at IS NULL THEN NULL ELSE w.closed_reason END,
            closed_at = CASE WHEN EXCLUDED.closed_at IS NOT NULL THEN coalesce(w.closed_at, now()) ELSE NULL END,
            updated_at = now(), version = w.version + 1
          WHERE (w.closed_at IS NULL) <> (EXCLUDED.closed_at IS NULL) OR w.amount <> EXCLUDED.amount OR w.carcs <> EXCLUDED.carcs OR w.rarcs <> EXCLUDED.rarcs
             OR w.last_payment_id IS DISTINCT FROM EXCLUDED.last_payment_id OR w.deadline <> EXCLUDED.deadline OR w.payer_row_id IS DISTINCT FROM EXCLUDED.payer_row_id
             OR (w.category_set_by IS NULL AND w.category <> EXCLUDED.category)
          RETURNING w.id, w.source_key, w.status, w.amount, w.closed_reason, w.last_payment_id
        )
        INSERT INTO work_item_event (work_item_id, actor, action, from_status, to_status, note, detail)
        SELECT up.id, actor,
               CASE WHEN prev.id IS NULL THEN 'created'
                    WHEN prev.status IN ('written_off', 'resolved') AND up.status NOT IN ('written_off', 'resolved') THEN 'reopened'
                    WHEN prev.status NOT IN ('written_off', 'resolved') AND up.status IN ('written_off', 'resolved') THEN 'closed'
                    WHEN prev.last_payment_id IS DISTINCT FROM up.last_payment_id THEN 'payer_answered'
                    ELSE 'updated' END,
               prev.status, up.status, s.event_note,
               jsonb_strip_nulls(jsonb_build_object('amount', up.amount::text, 'previousAmount', CASE WHEN prev.amount <> up.amount THEN prev.amount::text END, 'paymentId', up.last_payment_id::text))
          FROM up JOIN work_src s ON s.source_key = up.source_key LEFT JOIN prev ON prev.source_key = up.source_key;
      END $$`);

    // The temporary table the triggers fill (one per transaction).
    const src = `CREATE TEMPORARY TABLE IF NOT EXISTS work_src (
        source_key text, kind text, claim_id bigint, claim_line_id bigint, denial_id bigint, claim_payment_id bigint, payer_row_id bigint, category text, category_carc text,
        category_rule_id bigint, recoverability numeric, amount numeric, carcs jsonb, rarcs text[], service_date date, opened_on date, appeal_deadline date,
        timely_filing_deadline date, deadline date, open boolean, closed_reason text, last_payment_id bigint, event_note text
      ) ON COMMIT DROP`;

    // Claims sent and not answered: opened by a sweep (the service runs it; `hl7-claims work sweep`).
    await q.query(`
      CREATE FUNCTION hl7c_work_sweep_no_response() RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        n integer;
      BEGIN
        ${src};
        DELETE FROM work_src;
        INSERT INTO work_src (source_key, kind, claim_id, payer_row_id, category, recoverability, amount, service_date, opened_on, timely_filing_deadline, deadline, open, event_note)
        SELECT 'claim:' || c.id || ':no_response', 'no_response', c.id, c.payer_id, k.category, k.recoverability, c.total_charge, c.service_from, current_date,
               c.service_from + st.timely_filing_days, least(c.service_from + st.timely_filing_days, current_date + 14), true,
               'no 835 within ' || st.no_response_days || ' days of sending it on ' || e.at::date
          FROM claim c
          CROSS JOIN LATERAL hl7c_work_setting(c.payer_id) st
          CROSS JOIN LATERAL (SELECT max(ev.at) AS at FROM claim_event ev WHERE ev.claim_id = c.id AND ev.to_status = 'submitted') e
          JOIN work_kind_default k ON k.kind = 'no_response'
         WHERE c.status IN ('submitted', 'accepted', 'payer_accepted') AND e.at < now() - make_interval(days => st.no_response_days)
           AND NOT EXISTS (SELECT 1 FROM claim_payment p WHERE p.claim_id = c.id)
           AND NOT EXISTS (SELECT 1 FROM work_item w WHERE w.source_key = 'claim:' || c.id || ':no_response' AND w.closed_at IS NULL);
        GET DIAGNOSTICS n = ROW_COUNT;
        PERFORM hl7c_work_apply('system');
        RETURN n;
      END $$`);

    // Denial records (835 posting, later payments, reversals).
    await q.query(`
      CREATE FUNCTION hl7c_work_from_denials() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${src};
        DELETE FROM work_src;
        INSERT INTO work_src (source_key, kind, claim_id, claim_line_id, denial_id, payer_row_id, category, category_carc, category_rule_id, recoverability, amount, carcs, rarcs,
                              service_date, opened_on, appeal_deadline, timely_filing_deadline, deadline, open, closed_reason, last_payment_id, event_note)
        SELECT 'denial:' || d.id, 'denial', d.claim_id, d.claim_line_id, d.id, d.payer_row_id,
               coalesce(r.category, CASE WHEN d.kind = 'underpaid' THEN k.category ELSE 'uncategorised' END), r.carc, r.rule_id,
               coalesce(r.recoverability, CASE WHEN d.kind = 'underpaid' THEN k.recoverability ELSE 0.3 END),
               d.amount, d.carcs, d.rarcs, d.service_date, coalesce(d.denied_on, current_date),
               coalesce(d.denied_on, current_date) + st.appeal_days, d.service_date + st.timely_filing_days,
               coalesce(d.denied_on, current_date) + st.appeal_days,
               d.status = 'open',
               CASE d.status WHEN 'resolved' THEN coalesce(d.resolution, 'paid by a later payment') WHEN 'reversed' THEN coalesce(d.resolution, 'the payment that denied it was reversed') END,
               d.last_payment_id,
               CASE WHEN d.status = 'open' THEN d.kind || ' on payment ' || d.last_payment_id ELSE coalesce(d.resolution, d.status) END
          FROM new_rows d
          LEFT JOIN LATERAL hl7c_work_category(d.carcs, d.rarcs) r ON true
          CROSS JOIN LATERAL hl7c_work_setting(d.payer_row_id) st
          LEFT JOIN work_kind_default k ON k.kind = 'underpaid';
        PERFORM hl7c_work_apply('system');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER tr_denial_work_insert AFTER INSERT ON denial REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_from_denials()`);
    await q.query(`CREATE TRIGGER tr_denial_work_update AFTER UPDATE ON denial REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_from_denials()`);

    // Claims: held, rejected (999) or payer-rejected (277CA) open an item; leaving the status
    // closes it; a replacement claim (frequency 7) the payer answered closes the open items of the
    // claim it replaced. Row-level with a WHEN condition, so that the common moves (ready, batched,
    // submitted, paid) cost nothing: a statement-level trigger kept the whole claim rows (payloads
    // included) of a 100,000-claim batch twice, and took 8 s of its 26.
    await q.query(`
      CREATE FUNCTION hl7c_work_from_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        old_status text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
        why text;
        n integer;
      BEGIN
        ${src};
        DELETE FROM work_src;
        INSERT INTO work_src (source_key, kind, claim_id, payer_row_id, category, recoverability, amount, service_date, opened_on,
                              timely_filing_deadline, deadline, open, closed_reason, event_note)
        SELECT 'claim:' || NEW.id || ':' || x.kind, x.kind, NEW.id, NEW.payer_id, k.category, k.recoverability, NEW.total_charge, NEW.service_from, current_date,
               NEW.service_from + st.timely_filing_days, least(NEW.service_from + st.timely_filing_days, current_date + 30),
               x.open, CASE WHEN NOT x.open THEN 'the claim is now ' || NEW.status END,
               CASE WHEN x.open THEN 'claim ' || NEW.status ELSE 'the claim is now ' || NEW.status END
          FROM (VALUES
              (CASE WHEN NEW.status = 'held' OR old_status = 'held' THEN 'held' END, NEW.status = 'held'),
              (CASE WHEN NEW.status IN ('rejected', 'payer_rejected') OR old_status IN ('rejected', 'payer_rejected') THEN 'rejection' END, NEW.status IN ('rejected', 'payer_rejected'))
            ) AS x(kind, open)
          JOIN work_kind_default k ON k.kind = x.kind
          CROSS JOIN LATERAL hl7c_work_setting(NEW.payer_id) st
         WHERE x.kind IS NOT NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
          PERFORM hl7c_work_apply('system');
        END IF;
        -- A rejection answers a claim that was waiting: its no-response item closes.
        IF NEW.status IN ('rejected', 'payer_rejected') THEN
          PERFORM hl7c_work_close(ARRAY(SELECT id FROM work_item WHERE claim_id = NEW.id AND kind = 'no_response' AND closed_at IS NULL), 'the claim was ' || replace(NEW.status, '_', ' '));
        END IF;
        IF NEW.replaces_claim_id IS NOT NULL AND NEW.status IN ('paid', 'partially_paid', 'denied') THEN
          why := 'the replacement claim ' || NEW.id || ' was ' || replace(NEW.status, '_', ' ');
          PERFORM hl7c_work_close(ARRAY(SELECT id FROM work_item WHERE claim_id = NEW.replaces_claim_id AND closed_at IS NULL), why);
        END IF;
        RETURN NULL;
      END $$`);
    // Closes open items as resolved, with the reason, and an event each.
    await q.query(`
      CREATE FUNCTION hl7c_work_close(ids bigint[], why text) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF coalesce(array_length(ids, 1), 0) = 0 THEN
          RETURN;
        END IF;
        WITH prev AS (SELECT id, status FROM work_item WHERE id = ANY (ids) AND closed_at IS NULL),
             up AS (UPDATE work_item w SET status = 'resolved', closed_at = now(), closed_reason = why, follow_up_on = NULL, updated_at = now(), version = w.version + 1
                      FROM prev WHERE w.id = prev.id RETURNING w.id)
        INSERT INTO work_item_event (work_item_id, actor, action, from_status, to_status, note)
        SELECT prev.id, 'system', 'closed', prev.status, 'resolved', why FROM prev JOIN up ON up.id = prev.id;
      END $$`);
    await q.query(`
      CREATE TRIGGER tr_claim_work_insert AFTER INSERT ON claim FOR EACH ROW
        WHEN (NEW.status IN ('held', 'rejected', 'payer_rejected')) EXECUTE FUNCTION hl7c_work_from_claim()`);
    await q.query(`
      CREATE TRIGGER tr_claim_work_update AFTER UPDATE OF status ON claim FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status AND (OLD.status IN ('held', 'rejected', 'payer_rejected') OR NEW.status IN ('held', 'rejected', 'payer_rejected')
              OR (NEW.replaces_claim_id IS NOT NULL AND NEW.status IN ('paid', 'partially_paid', 'denied'))))
        EXECUTE FUNCTION hl7c_work_from_claim()`);

    // Scrubber findings: a held claim's item takes the category of its first error's CARC.
    await q.query(`
      CREATE FUNCTION hl7c_work_from_findings() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE work_item w SET category = r.category, category_carc = r.carc, category_rule_id = r.rule_id, recoverability = r.recoverability, updated_at = now(), version = w.version + 1
          FROM (SELECT DISTINCT ON (f.claim_id) f.claim_id, f.carc FROM new_rows f WHERE f.severity = 'error' AND f.override_id IS NULL ORDER BY f.claim_id, f.id) f
          CROSS JOIN LATERAL hl7c_work_category(jsonb_build_array(jsonb_build_object('group', 'CO', 'reason', f.carc, 'amount', 0)), '{}') r
         WHERE w.source_key = 'claim:' || f.claim_id || ':held' AND w.closed_at IS NULL AND w.category_set_by IS NULL AND w.category IS DISTINCT FROM r.category;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER tr_claim_finding_work AFTER INSERT ON claim_finding REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_from_findings()`);

    // 835 claim payments that match no claim of ours (or are matched later by hand).
    await q.query(`
      CREATE FUNCTION hl7c_work_from_payments() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM new_rows WHERE match_status <> 'matched')
           AND NOT EXISTS (SELECT 1 FROM work_item w WHERE w.claim_payment_id IN (SELECT id FROM new_rows) AND w.kind = 'unmatched' AND w.closed_at IS NULL) THEN
          RETURN NULL;
        END IF;
        ${src};
        DELETE FROM work_src;
        INSERT INTO work_src (source_key, kind, claim_id, claim_payment_id, payer_row_id, category, recoverability, amount, service_date, opened_on, deadline, open, closed_reason, event_note)
        SELECT 'payment:' || n.id || ':unmatched', 'unmatched', n.claim_id, n.id, n.payer_row_id, k.category, k.recoverability, coalesce(n.paid, 0), n.statement_from,
               coalesce(n.payment_date, current_date), coalesce(n.payment_date, current_date) + 30,
               n.match_status <> 'matched', CASE WHEN n.match_status = 'matched' THEN 'matched to claim ' || n.claim_id END,
               CASE WHEN n.match_status = 'matched' THEN 'matched to claim ' || n.claim_id ELSE coalesce(n.match_note, 'no claim of ours matches it') END
          FROM new_rows n
          JOIN work_kind_default k ON k.kind = 'unmatched'
         WHERE n.match_status <> 'matched' OR EXISTS (SELECT 1 FROM work_item w WHERE w.source_key = 'payment:' || n.id || ':unmatched');
        PERFORM hl7c_work_apply('system');
        RETURN NULL;
      END $$`);
    // Any 835 answer for a claim closes its no-response item.
    await q.query(`
      CREATE FUNCTION hl7c_work_answered() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM work_item WHERE kind = 'no_response' AND closed_at IS NULL) THEN
          PERFORM hl7c_work_close(ARRAY(SELECT w.id FROM work_item w WHERE w.kind = 'no_response' AND w.closed_at IS NULL AND w.claim_id IN (SELECT claim_id FROM new_rows WHERE claim_id IS NOT NULL)),
                                  'the payer answered (835)');
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER tr_claim_payment_answered_insert AFTER INSERT ON claim_payment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_answered()`);
    await q.query(`CREATE TRIGGER tr_claim_payment_answered_update AFTER UPDATE ON claim_payment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_answered()`);
    await q.query(`CREATE TRIGGER tr_claim_payment_work_insert AFTER INSERT ON claim_payment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_from_payments()`);
    await q.query(`CREATE TRIGGER tr_claim_payment_work_update AFTER UPDATE ON claim_payment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hl7c_work_from_payments()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_payment_answered_insert ON claim_payment`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_payment_answered_update ON claim_payment`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_payment_work_insert ON claim_payment`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_payment_work_update ON claim_payment`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_finding_work ON claim_finding`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_work_insert ON claim`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_work_update ON claim`);
    await q.query(`DROP TRIGGER IF EXISTS tr_denial_work_insert ON denial`);
    await q.query(`DROP TRIGGER IF EXISTS tr_denial_work_update ON denial`);
    for (const f of ['hl7c_work_sweep_no_response()', 'hl7c_work_answered()', 'hl7c_work_from_payments()', 'hl7c_work_from_findings()', 'hl7c_work_close(bigint[], text)', 'hl7c_work_from_claim()', 'hl7c_work_from_denials()', 'hl7c_work_apply(text)', 'hl7c_work_setting(bigint)', 'hl7c_work_category(jsonb, text[])']) {
      await q.query(`DROP FUNCTION IF EXISTS ${f}`);
    }
    for (const t of ['saved_view', 'appeal_letter', 'write_off', 'work_item_event', 'work_item', 'work_setting', 'work_kind_default', 'denial_category_rule']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
