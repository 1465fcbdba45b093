import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The foreign keys of the rows every DFT^P03 writes (about 12 row checks per message). */
const HOT_KEYS: readonly [table: string, constraint: string, column: string, parent: string, deferred: boolean][] = [
  ['charge', 'fk_charge_encounter', 'encounter_id', 'encounter', false],
  ['charge', 'fk_charge_message', 'message_id', 'inbound_message', true],
  ['diagnosis', 'fk_diagnosis_encounter', 'encounter_id', 'encounter', false],
  ['coverage', 'fk_coverage_patient', 'patient_id', 'patient', false],
  ['coverage', 'fk_coverage_encounter', 'encounter_id', 'encounter', false],
  ['encounter', 'fk_encounter_patient', 'patient_id', 'patient', false],
];

/**
 * Intake's hot-path rows keep their parents by construction instead of by per-row foreign-key
 * checks. The group statement takes every parent id from rows it has just written or read in the
 * same statement (patients and encounters by natural key, the message ids it reserved), so a
 * child can only point at a parent that exists; parents are never deleted, which is now enforced:
 * any DELETE on patient, encounter or inbound_message fails. The per-row checks these keys made
 * (about 12 per message, and 5 deferred to commit) cost about 13% of intake throughput: ten
 * runs of the 32-connection benchmark side by side, each pair +0% to +26% without them. The integration suites check that no row lost its
 * parent (test/support/integrity.ts). Low-volume tables (claims, procedures, merges, duplicates)
 * keep their foreign keys.
 */
export class IntakeHotPathKeys1764129600000 implements MigrationInterface {
  name = 'IntakeHotPathKeys1764129600000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, constraint] of HOT_KEYS) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${constraint}`);
    await q.query(`
      CREATE FUNCTION hl7c_rows_are_kept() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = 'HC002', MESSAGE = TG_TABLE_NAME || ' rows are never deleted (billing history and the rows that point at them depend on them)';
      END $$`);
    for (const t of ['patient', 'encounter', 'inbound_message']) {
      await q.query(`CREATE TRIGGER trg_${t}_kept BEFORE DELETE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION hl7c_rows_are_kept()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['patient', 'encounter', 'inbound_message']) await q.query(`DROP TRIGGER IF EXISTS trg_${t}_kept ON ${t}`);
    await q.query(`DROP FUNCTION IF EXISTS hl7c_rows_are_kept()`);
    for (const [table, constraint, column, parent, deferred] of HOT_KEYS) {
      await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${constraint} FOREIGN KEY (${column}) REFERENCES ${parent}(id)${deferred ? ' DEFERRABLE INITIALLY DEFERRED' : ''}`);
    }
  }
}
