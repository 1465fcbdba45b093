import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The claim builder's look-up of encounters with unbilled charges read every charge ever posted
 * (the soak: the job slowed minute by minute as charges piled up). Unbilled charges are few: a
 * partial index finds them.
 */
export class UnbilledCharges1765000800000 implements MigrationInterface {
  name = 'UnbilledCharges1765000800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_charge_unbilled ON charge (encounter_id) WHERE claim_id IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ix_charge_unbilled`);
  }
}
