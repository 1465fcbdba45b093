import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * hl7c_seen_before(): raises SQLSTATE HC001. The one-statement intake path stores a group without
 * looking up earlier messages first; the statement calls this when one of its messages turns out
 * to be an exact resend of a stored one, so that nothing is kept and the group is stored again
 * through the look-up path, which records the resend as a duplicate.
 */
export class IntakeSeenBefore1763870400000 implements MigrationInterface {
  name = 'IntakeSeenBefore1763870400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION hl7c_seen_before() RETURNS integer LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = 'HC001', MESSAGE = 'a message of the group was received before';
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS hl7c_seen_before()`);
  }
}
