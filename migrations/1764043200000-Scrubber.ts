import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The claim scrubber: claim versions (a claim is re-scrubbed when it changes), findings per claim
 * version, overrides of findings with who and why, per-payer rule settings, and code sets
 * imported after release (a new ICD-10-CM year, a HCPCS quarter, a customer's NCCI and MUE files).
 */
export class Scrubber1764043200000 implements MigrationInterface {
  name = 'Scrubber1764043200000';

  async up(q: QueryRunner): Promise<void> {
    // version: bumped whenever the claim's content changes; scrubbed_version: the version the
    // stored findings are for (a claim is batched only when they match).
    await q.query(`ALTER TABLE claim ADD COLUMN version integer NOT NULL DEFAULT 1, ADD COLUMN scrubbed_version integer`);
    // Duplicate-line checks look up the patient's other claims.
    await q.query(`CREATE INDEX ix_claim_patient ON claim (patient_id)`);
    // Unbatched claims not scrubbed at their current version (scrubbed before every batch run).
    await q.query(`CREATE INDEX ix_claim_unscrubbed ON claim (id) WHERE status IN ('held', 'ready') AND scrubbed_version IS DISTINCT FROM version`);

    await q.query(`
      CREATE TABLE scrub_rule_setting (
        id bigserial CONSTRAINT pk_scrub_rule_setting PRIMARY KEY,
        rule_id text NOT NULL,
        -- NULL: every payer (a payer's own row wins over it).
        payer_id bigint CONSTRAINT fk_scrub_rule_setting_payer REFERENCES practice_payer(id),
        enabled boolean,
        severity text CONSTRAINT ck_scrub_rule_setting_severity CHECK (severity IN ('error', 'warning')),
        params jsonb,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_scrub_rule_setting ON scrub_rule_setting (rule_id, COALESCE(payer_id, 0))`);

    await q.query(`
      CREATE TABLE claim_finding_override (
        id bigserial CONSTRAINT pk_claim_finding_override PRIMARY KEY,
        claim_id bigint NOT NULL CONSTRAINT fk_claim_finding_override_claim REFERENCES claim(id) ON DELETE CASCADE,
        rule_id text NOT NULL,
        -- NULL line: any line; NULL value: any value (the rule's every finding on the claim).
        line_number integer,
        value text,
        reason text NOT NULL,
        actor text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_claim_finding_override_reason CHECK (length(btrim(reason)) > 0)
      )`);
    await q.query(`CREATE INDEX ix_claim_finding_override_claim ON claim_finding_override (claim_id)`);

    await q.query(`
      CREATE TABLE claim_finding (
        id bigserial CONSTRAINT pk_claim_finding PRIMARY KEY,
        claim_id bigint NOT NULL CONSTRAINT fk_claim_finding_claim REFERENCES claim(id) ON DELETE CASCADE,
        claim_version integer NOT NULL,
        rule_id text NOT NULL,
        severity text NOT NULL CONSTRAINT ck_claim_finding_severity CHECK (severity IN ('error', 'warning')),
        line_number integer,
        loop text NOT NULL,
        value text,
        message text NOT NULL,
        carc text NOT NULL,
        override_id bigint CONSTRAINT fk_claim_finding_override REFERENCES claim_finding_override(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_claim_finding_claim ON claim_finding (claim_id, claim_version)`);
    await q.query(`CREATE INDEX ix_claim_finding_rule ON claim_finding (rule_id)`);

    await q.query(`
      CREATE TABLE codeset_import (
        id bigserial CONSTRAINT pk_codeset_import PRIMARY KEY,
        kind text NOT NULL CONSTRAINT ck_codeset_import_kind CHECK (kind IN ('icd10cm', 'icd10pcs', 'hcpcs', 'pfs', 'modifiers', 'ncci', 'mue')),
        label text NOT NULL,
        file_name text NOT NULL,
        sha256 bytea NOT NULL,
        row_count integer NOT NULL,
        -- The rows as read (normalized tab-separated text), gzip-compressed.
        content bytea NOT NULL,
        imported_by text NOT NULL,
        imported_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_codeset_import_file UNIQUE (kind, sha256)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['codeset_import', 'claim_finding', 'claim_finding_override', 'scrub_rule_setting']) await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query(`DROP INDEX IF EXISTS ix_claim_patient`);
    await q.query(`DROP INDEX IF EXISTS ix_claim_unscrubbed`);
    await q.query(`ALTER TABLE claim DROP COLUMN IF EXISTS version, DROP COLUMN IF EXISTS scrubbed_version`);
  }
}
