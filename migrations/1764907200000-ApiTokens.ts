import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-person API tokens: a script or tool acting for one staff member, with that person's role
 * (viewer reads, biller works, admin manages) and every request audited under their name. Only
 * the token's SHA-256 is kept; the token is shown once when it is made. The service's own
 * API_TOKEN keeps working for machine clients.
 */
export class ApiTokens1764907200000 implements MigrationInterface {
  name = 'ApiTokens1764907200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE staff_api_token (
        id bigserial CONSTRAINT pk_staff_api_token PRIMARY KEY,
        user_id bigint NOT NULL CONSTRAINT fk_staff_api_token_user REFERENCES staff_user(id),
        name text NOT NULL,
        token_sha256 bytea NOT NULL CONSTRAINT uq_staff_api_token_sha256 UNIQUE,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT ck_staff_api_token_name CHECK (length(name) BETWEEN 1 AND 100)
      )`);
    await q.query(`CREATE INDEX ix_staff_api_token_user ON staff_api_token (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS staff_api_token`);
  }
}
