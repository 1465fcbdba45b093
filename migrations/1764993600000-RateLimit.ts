import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rate-limit counters shared by every instance (sign-in attempts, API requests per caller): one
 * row per key and fixed window. UNLOGGED: counters are not worth WAL, and after a crash or a
 * failover they start again from zero, which only ever lets a caller through.
 */
export class RateLimit1764993600000 implements MigrationInterface {
  name = 'RateLimit1764993600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNLOGGED TABLE rate_limit (
        key text CONSTRAINT pk_rate_limit PRIMARY KEY,
        window_ends timestamptz NOT NULL,
        hits integer NOT NULL,
        blocked_until timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS rate_limit`);
  }
}
