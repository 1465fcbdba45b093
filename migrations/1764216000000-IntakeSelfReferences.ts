import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Self-references of intake's hot-path tables: set on few rows, but checked on every insert as foreign keys. */
const SELF_REFERENCES: readonly [table: string, constraint: string, column: string][] = [
  ['charge', 'fk_charge_reverses', 'reverses_charge_id'],
  ['charge', 'fk_charge_reversed_by', 'reversed_by_charge_id'],
  ['patient', 'fk_patient_merged_into', 'merged_into_id'],
  ['inbound_message', 'fk_inbound_message_duplicate_of', 'duplicate_of_id'],
];

/**
 * A credit's reversed charge, a merged patient's survivor and a resend's original are rows of the
 * same table, and only a few rows ever point at one. As foreign keys they still queued a check on
 * every inserted row, null or not (PostgreSQL skips a foreign key's check on UPDATE when the key is
 * unchanged, never on INSERT): two per charge, one per patient and one per message, twelve per
 * DFT^P03 of the benchmark, about 20 us of PostgreSQL CPU per message (group statement of 16
 * messages, 3,430 vs 3,760 us, alternating in one session). They are now checked by a row trigger
 * whose WHEN clause is false for a null reference, so a plain row queues nothing; a reference that
 * is set must name an existing row, with the foreign-key violation's SQLSTATE (23503). The rows
 * referred to are never deleted: charge joins patient and inbound_message (migration
 * 1764129600000) in refusing DELETE, so a reference, once checked, stays good.
 */
export class IntakeSelfReferences1764216000000 implements MigrationInterface {
  name = 'IntakeSelfReferences1764216000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION hl7c_reference_exists() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        ref bigint := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
        found boolean;
      BEGIN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1)', TG_TABLE_NAME) INTO found USING ref;
        IF NOT found THEN
          RAISE EXCEPTION USING ERRCODE = '23503', MESSAGE = format('%s.%s = %s: there is no such %s row', TG_TABLE_NAME, TG_ARGV[0], ref, TG_TABLE_NAME);
        END IF;
        RETURN NULL;
      END $$`);
    for (const [table, constraint, column] of SELF_REFERENCES) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${constraint}`);
      await q.query(
        `CREATE TRIGGER trg_${column}_exists AFTER INSERT OR UPDATE OF ${column} ON ${table} FOR EACH ROW WHEN (NEW.${column} IS NOT NULL) EXECUTE FUNCTION hl7c_reference_exists('${column}')`,
      );
    }
    await q.query(`CREATE TRIGGER trg_charge_kept BEFORE DELETE ON charge FOR EACH STATEMENT EXECUTE FUNCTION hl7c_rows_are_kept()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS trg_charge_kept ON charge`);
    for (const [table, constraint, column] of SELF_REFERENCES) {
      await q.query(`DROP TRIGGER IF EXISTS trg_${column}_exists ON ${table}`);
      await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${constraint} FOREIGN KEY (${column}) REFERENCES ${table}(id)`);
    }
    await q.query(`DROP FUNCTION IF EXISTS hl7c_reference_exists()`);
  }
}
