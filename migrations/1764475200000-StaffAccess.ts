import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Staff who use the web app: accounts with a role (viewer reads; biller works denials; admin also
 * manages users and settings), sessions kept in PostgreSQL (so that any instance can serve any
 * request), and the audit trail of every view of PHI and every action a person takes.
 *
 * A session row holds only the SHA-256 of its cookie's token: a copy of the table opens no
 * session. A password is kept as an scrypt hash with its parameters (`scrypt$N$r$p$salt$hash`).
 * The audit trail is append-only: a trigger refuses UPDATE and DELETE, as for the ledger.
 */
export class StaffAccess1764475200000 implements MigrationInterface {
  name = 'StaffAccess1764475200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE staff_user (
        id bigserial CONSTRAINT pk_staff_user PRIMARY KEY,
        email text NOT NULL,
        role text NOT NULL,
        password_hash text NOT NULL,
        must_change_password boolean NOT NULL DEFAULT false,
        failed_sign_ins integer NOT NULL DEFAULT 0,
        locked_until timestamptz,
        disabled_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        last_sign_in_at timestamptz,
        password_changed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_staff_user_role CHECK (role IN ('admin', 'biller', 'viewer')),
        CONSTRAINT ck_staff_user_email CHECK (email = lower(email) AND email ~ '^[^@\\s]+@[^@\\s]+$')
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_staff_user_email ON staff_user (email)`);

    await q.query(`
      CREATE TABLE staff_session (
        token_sha256 bytea CONSTRAINT pk_staff_session PRIMARY KEY,
        user_id bigint NOT NULL CONSTRAINT fk_staff_session_user REFERENCES staff_user(id),
        csrf_token text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        ended_at timestamptz,
        ip text
      )`);
    await q.query(`CREATE INDEX ix_staff_session_user ON staff_session (user_id) WHERE ended_at IS NULL`);

    await q.query(`
      CREATE TABLE audit_event (
        id bigserial CONSTRAINT pk_audit_event PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        user_id bigint CONSTRAINT fk_audit_event_user REFERENCES staff_user(id),
        actor text NOT NULL,
        action text NOT NULL,
        object_type text,
        object_id text,
        ip text,
        detail jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX ix_audit_event_at ON audit_event (at DESC, id DESC)`);
    await q.query(`CREATE INDEX ix_audit_event_object ON audit_event (object_type, object_id, at DESC)`);
    await q.query(`CREATE INDEX ix_audit_event_user ON audit_event (user_id, at DESC)`);
    await q.query(`
      CREATE FUNCTION hl7c_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('%s is append-only: %s refused', TG_TABLE_NAME, TG_OP);
      END $$`);
    await q.query(`CREATE TRIGGER tr_audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event FOR EACH ROW EXECUTE FUNCTION hl7c_audit_append_only()`);
    await q.query(`CREATE TRIGGER tr_audit_event_no_truncate BEFORE TRUNCATE ON audit_event FOR EACH STATEMENT EXECUTE FUNCTION hl7c_audit_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS audit_event`);
    await q.query(`DROP FUNCTION IF EXISTS hl7c_audit_append_only()`);
    await q.query(`DROP TABLE IF EXISTS staff_session`);
    await q.query(`DROP TABLE IF EXISTS staff_user`);
  }
}
