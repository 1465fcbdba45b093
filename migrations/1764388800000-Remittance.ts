import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * 835 remittances: each file as received (its exact bytes, once by SHA-256, refused or not), each
 * transaction (one payment from one payer: BPR/TRN), and the ledger it posts: claim payments (CLP
 * loops), service payments (SVC loops) and their adjustments (CAS triplets), provider-level
 * adjustments (PLB), and what did not add up (exceptions). The ledger is append-only: reversals
 * post negating rows, balances are sums; a trigger refuses UPDATE of amounts and every DELETE.
 * Unmatched claim and service payments keep no claim (or line) until someone matches them, once.
 * Denial records are the work the 835 leaves (a denied or short-paid claim or line), updated as
 * later payments and reversals arrive.
 *
 * The ledger's own rows point at each other without foreign keys (a claim payment at its
 * transaction, a service payment at its claim payment, an adjustment at both, an exception at its
 * transaction): the import writes each parent before its children in the same transaction, with
 * ids it reserved itself (a reversal names a payment it found posted), and the parents are never
 * deleted (the trigger below). Those per-row checks cost a third of the time of inserting a
 * service payment (100,000 rows: 1.44 s with them, 0.62 s without); the suites check that no
 * ledger row lost its parent (test/support/integrity.ts). References to the claims side keep their
 * foreign keys (claim, payer), except a service payment's line: a statement trigger on claim_line
 * refuses to delete a paid line instead (below).
 */
export class Remittance1764388800000 implements MigrationInterface {
  name = 'Remittance1764388800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE remittance_file (
        id bigserial CONSTRAINT pk_remittance_file PRIMARY KEY,
        content_sha256 bytea NOT NULL CONSTRAINT uq_remittance_file_content UNIQUE,
        file_name text,
        size_bytes bigint NOT NULL,
        status text NOT NULL,
        error text,
        error_location text,
        received_at timestamptz NOT NULL DEFAULT now(),
        received_by text NOT NULL,
        summary jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT ck_remittance_file_status CHECK (status IN ('posted', 'refused'))
      )`);
    await q.query(`
      CREATE TABLE remittance_file_part (
        file_id bigint NOT NULL CONSTRAINT fk_remittance_file_part_file REFERENCES remittance_file(id),
        part integer NOT NULL,
        bytes bytea NOT NULL,
        CONSTRAINT pk_remittance_file_part PRIMARY KEY (file_id, part)
      )`);
    await q.query(`ALTER TABLE remittance_file_part ALTER COLUMN bytes SET STORAGE EXTERNAL`);

    // The 835's payer ids (TRN03, REF*2U, N1*PR-04) as each payer in the setup sends them.
    await q.query(`ALTER TABLE practice_payer ADD COLUMN remit_ids text[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      CREATE TABLE practice_fee_schedule (
        payer_id bigint NOT NULL CONSTRAINT fk_practice_fee_schedule_payer REFERENCES practice_payer(id) ON DELETE CASCADE,
        code text NOT NULL,
        modifier text NOT NULL DEFAULT '',
        allowed numeric(12,2) NOT NULL,
        CONSTRAINT pk_practice_fee_schedule PRIMARY KEY (payer_id, code, modifier)
      )`);

    await q.query(`
      CREATE TABLE remittance_transaction (
        id bigint CONSTRAINT pk_remittance_transaction PRIMARY KEY,
        file_id bigint NOT NULL CONSTRAINT fk_remittance_transaction_file REFERENCES remittance_file(id),
        position integer NOT NULL,
        control_number text NOT NULL,
        version text NOT NULL,
        interchange_control_number text NOT NULL,
        group_control_number text NOT NULL,
        handling_code text NOT NULL,
        payment_amount numeric(14,2) NOT NULL,
        credit_debit text NOT NULL,
        payment_method text NOT NULL,
        payment_format text,
        payment_date date,
        trace_number text NOT NULL,
        trace_payer_id text NOT NULL,
        production_date date,
        payer_name text NOT NULL,
        payer_ids text[] NOT NULL,
        payer_row_id bigint CONSTRAINT fk_remittance_transaction_payer REFERENCES practice_payer(id),
        payee_name text,
        payee_id_qualifier text,
        payee_id text,
        header jsonb NOT NULL,
        claim_count integer NOT NULL,
        unreadable_count integer NOT NULL,
        paid_total numeric(14,2) NOT NULL,
        provider_adjustment_total numeric(14,2) NOT NULL,
        imbalance numeric(14,2) NOT NULL,
        interest_total numeric(14,2) NOT NULL,
        interest_plb_total numeric(14,2) NOT NULL,
        duplicate_of_id bigint CONSTRAINT fk_remittance_transaction_duplicate_of REFERENCES remittance_transaction(id),
        warnings jsonb NOT NULL DEFAULT '[]',
        posted_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE SEQUENCE remittance_transaction_id_seq OWNED BY remittance_transaction.id`);
    // One ERA is posted once, whatever file it comes in: same payer id, trace number, amount and date.
    await q.query(`
      CREATE UNIQUE INDEX uq_remittance_transaction_era ON remittance_transaction (trace_payer_id, trace_number, payment_amount, payment_date) NULLS NOT DISTINCT
       WHERE duplicate_of_id IS NULL`);
    await q.query(`CREATE INDEX ix_remittance_transaction_file ON remittance_transaction (file_id)`);
    await q.query(`CREATE INDEX ix_remittance_transaction_payment_date ON remittance_transaction (payment_date, id)`);

    await q.query(`
      CREATE TABLE claim_payment (
        id bigint CONSTRAINT pk_claim_payment PRIMARY KEY,
        transaction_id bigint NOT NULL,
        position integer NOT NULL,
        claim_id bigint CONSTRAINT fk_claim_payment_claim REFERENCES claim(id),
        payer_row_id bigint CONSTRAINT fk_claim_payment_payer REFERENCES practice_payer(id),
        own_payer boolean NOT NULL DEFAULT true,
        match_status text NOT NULL,
        match_method text,
        match_note text,
        candidate_claim_ids bigint[] NOT NULL DEFAULT '{}',
        matched_by text,
        matched_at timestamptz,
        patient_control_number text NOT NULL,
        status_code text,
        charge numeric(14,2),
        paid numeric(14,2),
        patient_responsibility numeric(14,2),
        filing_indicator text,
        payer_claim_control_number text,
        facility_code text,
        frequency text,
        drg text,
        statement_from date,
        statement_to date,
        -- The transaction's check or EFT date (BPR16, else DTM*405): known before the transaction row is written.
        payment_date date,
        interest numeric(14,2),
        remarks text[] NOT NULL DEFAULT '{}',
        crossover boolean NOT NULL DEFAULT false,
        reverses_payment_id bigint,
        imbalance numeric(14,2) NOT NULL DEFAULT 0,
        patient_responsibility_difference numeric(14,2) NOT NULL DEFAULT 0,
        details jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT ck_claim_payment_match_status CHECK (match_status IN ('matched', 'unmatched', 'ambiguous', 'payer_mismatch', 'not_sent', 'unreadable')),
        CONSTRAINT ck_claim_payment_match_method CHECK (match_method IN ('patient_control_number', 'payer_claim_control_number', 'manual')),
        CONSTRAINT ck_claim_payment_matched CHECK ((match_status = 'matched') = (claim_id IS NOT NULL))
      )`);
    await q.query(`CREATE SEQUENCE claim_payment_id_seq OWNED BY claim_payment.id`);
    await q.query(`CREATE INDEX ix_claim_payment_claim ON claim_payment (claim_id, id) WHERE claim_id IS NOT NULL`);
    await q.query(`CREATE INDEX ix_claim_payment_transaction ON claim_payment (transaction_id, id)`);
    await q.query(`CREATE INDEX ix_claim_payment_payer_claim_control_number ON claim_payment (payer_claim_control_number) WHERE payer_claim_control_number IS NOT NULL`);
    await q.query(`CREATE INDEX ix_claim_payment_unmatched ON claim_payment (id) WHERE match_status <> 'matched'`);

    await q.query(`
      CREATE TABLE service_payment (
        id bigint CONSTRAINT pk_service_payment PRIMARY KEY,
        claim_payment_id bigint NOT NULL,
        position integer NOT NULL,
        claim_line_id bigint,
        match_method text,
        match_note text,
        matched_by text,
        matched_at timestamptz,
        qualifier text NOT NULL,
        procedure_code text NOT NULL,
        modifiers text[] NOT NULL DEFAULT '{}',
        revenue_code text,
        charge numeric(14,2) NOT NULL,
        paid numeric(14,2) NOT NULL,
        units numeric NOT NULL,
        original jsonb,
        line_control_number text,
        service_date date,
        service_end_date date,
        allowed numeric(14,2),
        expected_allowed numeric(14,2),
        underpaid numeric(14,2),
        remarks text[] NOT NULL DEFAULT '{}',
        imbalance numeric(14,2) NOT NULL DEFAULT 0,
        details jsonb,
        CONSTRAINT ck_service_payment_match_method CHECK (match_method IN ('line_control_number', 'procedure', 'manual'))
      )`);
    await q.query(`CREATE SEQUENCE service_payment_id_seq OWNED BY service_payment.id`);
    await q.query(`CREATE INDEX ix_service_payment_claim_payment ON service_payment (claim_payment_id, id)`);
    await q.query(`CREATE INDEX ix_service_payment_claim_line ON service_payment (claim_line_id) WHERE claim_line_id IS NOT NULL`);
    // A paid line is never deleted (a claim with payments is not rebuilt): checked once per DELETE
    // statement on claim_line rather than by a foreign key, whose check on every service payment
    // locked its line (153,000 rows: 1.44 s with it, 0.73 s without).
    await q.query(`
      CREATE FUNCTION hl7c_claim_line_unpaid() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        paid bigint;
      BEGIN
        SELECT sp.claim_line_id INTO paid FROM gone g JOIN service_payment sp ON sp.claim_line_id = g.id LIMIT 1;
        IF paid IS NOT NULL THEN
          RAISE EXCEPTION USING ERRCODE = '23503', MESSAGE = format('claim line %s has payments posted (service_payment): it cannot be deleted', paid);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER tr_claim_line_unpaid AFTER DELETE ON claim_line REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION hl7c_claim_line_unpaid()`);

    await q.query(`
      CREATE TABLE payment_adjustment (
        id bigserial CONSTRAINT pk_payment_adjustment PRIMARY KEY,
        claim_payment_id bigint NOT NULL,
        service_payment_id bigint,
        group_code text NOT NULL,
        reason_code text NOT NULL,
        amount numeric(14,2) NOT NULL,
        quantity numeric
      )`);
    await q.query(`CREATE INDEX ix_payment_adjustment_claim_payment ON payment_adjustment (claim_payment_id)`);

    await q.query(`
      CREATE TABLE provider_adjustment (
        id bigserial CONSTRAINT pk_provider_adjustment PRIMARY KEY,
        transaction_id bigint NOT NULL CONSTRAINT fk_provider_adjustment_transaction REFERENCES remittance_transaction(id),
        position integer NOT NULL,
        provider_id text NOT NULL,
        fiscal_period_date date NOT NULL,
        reason_code text NOT NULL,
        reference text,
        amount numeric(14,2) NOT NULL,
        claim_id bigint CONSTRAINT fk_provider_adjustment_claim REFERENCES claim(id)
      )`);
    await q.query(`CREATE INDEX ix_provider_adjustment_transaction ON provider_adjustment (transaction_id)`);
    await q.query(`CREATE INDEX ix_provider_adjustment_claim ON provider_adjustment (claim_id) WHERE claim_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE remittance_exception (
        id bigserial CONSTRAINT pk_remittance_exception PRIMARY KEY,
        transaction_id bigint NOT NULL,
        claim_payment_id bigint,
        service_payment_id bigint,
        position integer NOT NULL,
        kind text NOT NULL,
        message text NOT NULL,
        difference numeric(14,2),
        CONSTRAINT ck_remittance_exception_kind CHECK (kind IN ('line_unbalanced', 'claim_unbalanced', 'transaction_unbalanced', 'patient_responsibility_unsupported',
          'interest_mismatch', 'unreadable_claim', 'reversal_without_original', 'unknown_payer'))
      )`);
    await q.query(`CREATE INDEX ix_remittance_exception_transaction ON remittance_exception (transaction_id)`);

    await q.query(`
      CREATE TABLE denial (
        id bigserial CONSTRAINT pk_denial PRIMARY KEY,
        claim_id bigint NOT NULL CONSTRAINT fk_denial_claim REFERENCES claim(id),
        claim_line_id bigint CONSTRAINT fk_denial_claim_line REFERENCES claim_line(id),
        payer_row_id bigint CONSTRAINT fk_denial_payer REFERENCES practice_payer(id),
        kind text NOT NULL,
        status text NOT NULL,
        carcs jsonb NOT NULL,
        rarcs text[] NOT NULL DEFAULT '{}',
        billed numeric(14,2) NOT NULL,
        paid numeric(14,2) NOT NULL,
        amount numeric(14,2) NOT NULL,
        service_date date,
        denied_on date,
        first_payment_id bigint NOT NULL CONSTRAINT fk_denial_first_payment REFERENCES claim_payment(id),
        last_payment_id bigint NOT NULL CONSTRAINT fk_denial_last_payment REFERENCES claim_payment(id),
        resolution text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_denial_kind CHECK (kind IN ('denied', 'short_paid', 'underpaid')),
        CONSTRAINT ck_denial_status CHECK (status IN ('open', 'resolved', 'reversed'))
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_denial_claim_line ON denial (claim_id, claim_line_id) NULLS NOT DISTINCT`);
    await q.query(`CREATE INDEX ix_denial_status ON denial (status, id)`);

    // Newer CARC and RARC lists can be imported like the other code sets.
    await q.query(`ALTER TABLE codeset_import DROP CONSTRAINT ck_codeset_import_kind`);
    await q.query(`ALTER TABLE codeset_import ADD CONSTRAINT ck_codeset_import_kind CHECK (kind IN ('icd10cm', 'icd10pcs', 'hcpcs', 'pfs', 'modifiers', 'ncci', 'mue', 'carc', 'rarc'))`);

    // Claims: the statuses an 835 leaves, the payer sequence (a secondary claim follows its primary).
    await q.query(`ALTER TABLE claim DROP CONSTRAINT ck_claim_status`);
    await q.query(`
      ALTER TABLE claim ADD CONSTRAINT ck_claim_status CHECK (status IN ('draft', 'ready', 'held', 'batched', 'submitted', 'accepted', 'rejected', 'payer_accepted', 'payer_rejected',
        'paid', 'partially_paid', 'denied', 'reversed', 'forwarded', 'replaced', 'cancelled'))`);
    await q.query(`ALTER TABLE claim ADD COLUMN payer_sequence text NOT NULL DEFAULT 'P' CONSTRAINT ck_claim_payer_sequence CHECK (payer_sequence IN ('P', 'S', 'T'))`);
    await q.query(`ALTER TABLE claim ADD COLUMN primary_claim_id bigint CONSTRAINT fk_claim_primary_claim REFERENCES claim(id)`);
    await q.query(`CREATE INDEX ix_claim_payer_claim_control_number ON claim (payer_claim_control_number) WHERE payer_claim_control_number IS NOT NULL`);
    await q.query(`CREATE INDEX ix_claim_primary_claim ON claim (primary_claim_id) WHERE primary_claim_id IS NOT NULL`);

    // The ledger is append-only: amounts never change and nothing is deleted. An unmatched payment
    // gets its claim (or line) once, by hand.
    await q.query(`
      CREATE FUNCTION hl7c_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        allowed text[] := TG_ARGV;
        o jsonb;
        n jsonb;
        k text;
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION USING ERRCODE = 'HC003', MESSAGE = format('%s rows are part of the ledger and are never deleted', TG_TABLE_NAME);
        END IF;
        o := to_jsonb(OLD);
        n := to_jsonb(NEW);
        FOR k IN SELECT jsonb_object_keys(n) LOOP
          IF o -> k IS DISTINCT FROM n -> k THEN
            IF NOT (k = ANY (allowed)) THEN
              RAISE EXCEPTION USING ERRCODE = 'HC003', MESSAGE = format('%s.%s is part of the ledger and never changes (post a reversal instead)', TG_TABLE_NAME, k);
            END IF;
            IF k IN ('claim_id', 'claim_line_id') AND o ->> k IS NOT NULL THEN
              RAISE EXCEPTION USING ERRCODE = 'HC003', MESSAGE = format('%s.%s is set once', TG_TABLE_NAME, k);
            END IF;
          END IF;
        END LOOP;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER tr_claim_payment_append_only BEFORE UPDATE OR DELETE ON claim_payment
        FOR EACH ROW EXECUTE FUNCTION hl7c_ledger_append_only('claim_id', 'match_status', 'match_method', 'match_note', 'matched_by', 'matched_at', 'own_payer', 'payer_row_id')`);
    await q.query(`
      CREATE TRIGGER tr_service_payment_append_only BEFORE UPDATE OR DELETE ON service_payment
        FOR EACH ROW EXECUTE FUNCTION hl7c_ledger_append_only('claim_line_id', 'match_method', 'match_note', 'matched_by', 'matched_at')`);
    for (const t of ['payment_adjustment', 'provider_adjustment', 'remittance_transaction', 'remittance_file_part']) {
      await q.query(`CREATE TRIGGER tr_${t}_append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION hl7c_ledger_append_only()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['denial', 'remittance_exception', 'provider_adjustment', 'payment_adjustment', 'service_payment', 'claim_payment', 'remittance_transaction', 'practice_fee_schedule', 'remittance_file_part', 'remittance_file']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS hl7c_ledger_append_only()`);
    await q.query(`DROP TRIGGER IF EXISTS tr_claim_line_unpaid ON claim_line`);
    await q.query(`DROP FUNCTION IF EXISTS hl7c_claim_line_unpaid()`);
    await q.query(`ALTER TABLE codeset_import DROP CONSTRAINT ck_codeset_import_kind`);
    await q.query(`ALTER TABLE codeset_import ADD CONSTRAINT ck_codeset_import_kind CHECK (kind IN ('icd10cm', 'icd10pcs', 'hcpcs', 'pfs', 'modifiers', 'ncci', 'mue'))`);
    await q.query(`ALTER TABLE practice_payer DROP COLUMN IF EXISTS remit_ids`);
    await q.query(`DROP INDEX IF EXISTS ix_claim_payer_claim_control_number`);
    await q.query(`DROP INDEX IF EXISTS ix_claim_primary_claim`);
    await q.query(`ALTER TABLE claim DROP COLUMN IF EXISTS primary_claim_id`);
    await q.query(`ALTER TABLE claim DROP COLUMN IF EXISTS payer_sequence`);
    await q.query(`ALTER TABLE claim DROP CONSTRAINT ck_claim_status`);
    await q.query(`
      ALTER TABLE claim ADD CONSTRAINT ck_claim_status CHECK (status IN ('draft', 'ready', 'held', 'batched', 'submitted', 'accepted', 'rejected', 'payer_accepted', 'payer_rejected', 'replaced', 'cancelled'))`);
  }
}
