import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Intake schema: the raw message store and what billing derives from it.
 * Money and quantities are NUMERIC (never float). Natural keys are computed by the mapper
 * (patient_key, encounter_key, coverage_key, ...) so that multi-row upserts can use them.
 */
export class IntakeSchema1763784000000 implements MigrationInterface {
  name = 'IntakeSchema1763784000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inbound_message (
        id bigserial CONSTRAINT pk_inbound_message PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        source text NOT NULL,
        connection_id text,
        control_id text NOT NULL DEFAULT '',
        sending_application text NOT NULL DEFAULT '',
        sending_facility text NOT NULL DEFAULT '',
        message_type text NOT NULL DEFAULT '',
        trigger_event text NOT NULL DEFAULT '',
        version text NOT NULL DEFAULT '',
        batch_control_id text,
        content_hash bytea NOT NULL,
        raw bytea NOT NULL,
        charset text NOT NULL DEFAULT 'utf-8',
        status text NOT NULL,
        ack_code text,
        error text,
        error_location text,
        warnings text[],
        duplicate_of_id bigint CONSTRAINT fk_inbound_message_duplicate_of REFERENCES inbound_message(id),
        control_id_reused boolean NOT NULL DEFAULT false,
        attempts integer NOT NULL DEFAULT 1,
        processed_at timestamptz,
        patient_id bigint,
        encounter_id bigint,
        CONSTRAINT ck_inbound_message_status CHECK (status IN ('processed', 'error', 'rejected', 'duplicate', 'ignored'))
      )`);
    // Exactly one original per (sender, control id, content): the dedupe guarantee, enforced by
    // PostgreSQL so that two instances receiving the same resend cannot both apply it.
    // Control id first: the same index serves look-ups by MSH-10 (API, dedupe).
    await q.query(`CREATE UNIQUE INDEX uq_inbound_message_original ON inbound_message (control_id, sending_application, sending_facility, content_hash) WHERE duplicate_of_id IS NULL`);
    // Only the messages that need attention are indexed by status; processed ones are the bulk and
    // are listed newest-first through the primary key. Every index costs each intake write.
    await q.query(`CREATE INDEX ix_inbound_message_attention ON inbound_message (status, id) WHERE status <> 'processed'`);
    // Raw messages are kept compressed in the row (no TOAST table round trip); lz4 where the server has it.
    await q.query(`ALTER TABLE inbound_message ALTER COLUMN raw SET STORAGE MAIN`);
    await q.query(`DO $$ BEGIN ALTER TABLE inbound_message ALTER COLUMN raw SET COMPRESSION lz4; EXCEPTION WHEN OTHERS THEN NULL; END $$`);

    await q.query(`
      CREATE TABLE patient (
        id bigserial CONSTRAINT pk_patient PRIMARY KEY,
        patient_key text NOT NULL CONSTRAINT uq_patient_key UNIQUE,
        mrn text NOT NULL,
        mrn_authority text NOT NULL DEFAULT '',
        identifiers jsonb,
        family_name text,
        given_name text,
        middle_name text,
        name_suffix text,
        birth_date date,
        sex text,
        address jsonb,
        phone text,
        account_number text,
        merged_into_id bigint CONSTRAINT fk_patient_merged_into REFERENCES patient(id),
        last_message_id bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE encounter (
        id bigserial CONSTRAINT pk_encounter PRIMARY KEY,
        encounter_key text NOT NULL CONSTRAINT uq_encounter_key UNIQUE,
        patient_id bigint NOT NULL CONSTRAINT fk_encounter_patient REFERENCES patient(id),
        visit_number text,
        account_number text,
        key_source text NOT NULL,
        status text NOT NULL DEFAULT 'active',
        patient_class text,
        admit_type text,
        admit_source text,
        hospital_service text,
        financial_class text,
        facility text,
        location jsonb,
        attending_provider jsonb,
        referring_provider jsonb,
        admitting_provider jsonb,
        admit_at timestamp,
        discharge_at timestamp,
        discharge_disposition text,
        guarantor jsonb,
        last_message_id bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_encounter_status CHECK (status IN ('preadmit', 'active', 'discharged', 'cancelled')),
        CONSTRAINT ck_encounter_key_source CHECK (key_source IN ('visit', 'account', 'service_date'))
      )`);
    await q.query(`CREATE INDEX ix_encounter_patient ON encounter (patient_id)`);
    await q.query(`CREATE INDEX ix_encounter_visit_number ON encounter (visit_number)`);

    await q.query(`
      CREATE TABLE coverage (
        id bigserial CONSTRAINT pk_coverage PRIMARY KEY,
        coverage_key text NOT NULL CONSTRAINT uq_coverage_key UNIQUE,
        patient_id bigint NOT NULL CONSTRAINT fk_coverage_patient REFERENCES patient(id),
        encounter_id bigint CONSTRAINT fk_coverage_encounter REFERENCES encounter(id),
        set_id integer NOT NULL,
        payer_id text,
        payer_name text,
        plan_id text,
        plan_type text,
        group_number text,
        group_name text,
        member_id text,
        insured_name jsonb,
        insured_relationship text,
        insured_birth_date date,
        insured_address jsonb,
        effective_date date,
        expiration_date date,
        last_message_id bigint,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_coverage_encounter ON coverage (encounter_id, set_id)`);
    await q.query(`CREATE INDEX ix_coverage_patient ON coverage (patient_id)`);

    await q.query(`
      CREATE TABLE diagnosis (
        id bigserial CONSTRAINT pk_diagnosis PRIMARY KEY,
        encounter_id bigint NOT NULL CONSTRAINT fk_diagnosis_encounter REFERENCES encounter(id),
        set_id integer,
        code text NOT NULL,
        coding_system text NOT NULL DEFAULT '',
        description text,
        diagnosis_type text,
        priority integer,
        last_message_id bigint,
        CONSTRAINT uq_diagnosis_code UNIQUE (encounter_id, coding_system, code)
      )`);

    await q.query(`
      CREATE TABLE procedure (
        id bigserial CONSTRAINT pk_procedure PRIMARY KEY,
        encounter_id bigint NOT NULL CONSTRAINT fk_procedure_encounter REFERENCES encounter(id),
        set_id integer,
        code text NOT NULL,
        coding_system text NOT NULL DEFAULT '',
        description text,
        procedure_at timestamp,
        procedure_key text NOT NULL,
        surgeon jsonb,
        last_message_id bigint,
        CONSTRAINT uq_procedure_key UNIQUE (encounter_id, procedure_key)
      )`);

    // fk_charge_message is checked at commit: a group's charges are written before its message rows,
    // which come last so that the dedupe decision and the row are one statement.
    await q.query(`
      CREATE TABLE charge (
        id bigserial CONSTRAINT pk_charge PRIMARY KEY,
        encounter_id bigint NOT NULL CONSTRAINT fk_charge_encounter REFERENCES encounter(id),
        patient_id bigint NOT NULL,
        message_id bigint NOT NULL CONSTRAINT fk_charge_message REFERENCES inbound_message(id) DEFERRABLE INITIALLY DEFERRED,
        ft1_index integer NOT NULL,
        transaction_id text,
        transaction_batch_id text,
        service_date date NOT NULL,
        service_end_date date,
        posting_date date,
        transaction_type text NOT NULL,
        transaction_code text,
        transaction_code_system text,
        description text,
        quantity numeric(12,3) NOT NULL,
        amount numeric(12,2),
        unit_amount numeric(12,2),
        department text,
        insurance_plan_id text,
        diagnosis_codes text[] NOT NULL DEFAULT '{}',
        performing_provider jsonb,
        ordering_provider jsonb,
        procedure_code text,
        procedure_code_system text,
        modifiers text[] NOT NULL DEFAULT '{}',
        ndc text,
        is_credit boolean NOT NULL DEFAULT false,
        status text NOT NULL,
        hold_reason text,
        price_source text NOT NULL,
        reverses_charge_id bigint CONSTRAINT fk_charge_reverses REFERENCES charge(id),
        reversed_by_charge_id bigint CONSTRAINT fk_charge_reversed_by REFERENCES charge(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_charge_message_ft1 UNIQUE (message_id, ft1_index),
        CONSTRAINT ck_charge_status CHECK (status IN ('posted', 'held', 'reversed', 'reversal', 'unmatched_credit')),
        CONSTRAINT ck_charge_price_source CHECK (price_source IN ('message', 'chargemaster', 'unpriced'))
      )`);
    // One index serves the encounter's charges and credit matching by transaction id.
    await q.query(`CREATE INDEX ix_charge_encounter ON charge (encounter_id, transaction_id)`);

    // Room on each page for HOT updates: feeds update the same patients, encounters and coverages often.
    for (const table of ['patient', 'encounter', 'coverage', 'diagnosis']) {
      await q.query(`ALTER TABLE ${table} SET (fillfactor = 85)`);
    }

    await q.query(`
      CREATE TABLE chargemaster_item (
        id bigserial CONSTRAINT pk_chargemaster_item PRIMARY KEY,
        transaction_code text NOT NULL CONSTRAINT uq_chargemaster_transaction_code UNIQUE,
        procedure_code text,
        modifiers text[] NOT NULL DEFAULT '{}',
        revenue_code text,
        description text,
        price numeric(12,2) NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Raises a serialization failure (SQLSTATE 40001): a multi-row intake statement calls it when
    // another instance stored one of its rows first, so that the statement keeps nothing and is retried.
    await q.query(`
      CREATE FUNCTION hl7c_retry(reason text) RETURNS integer LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = reason;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS hl7c_retry(text)`);
    for (const t of ['chargemaster_item', 'charge', 'procedure', 'diagnosis', 'coverage', 'encounter', 'patient', 'inbound_message']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
