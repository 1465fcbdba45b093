import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { logger } from '../../common/logger';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { DUMMY_PASSWORD_HASH, hashPassword, passwordProblem, verifyPassword } from '../../lib/password';
import { AuditService, type Actor } from './audit.service';

export const ROLES = ['admin', 'biller', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface StaffUser {
  id: string;
  email: string;
  role: Role;
  mustChangePassword: boolean;
  disabled: boolean;
  lockedUntil: string | null;
  createdAt: string;
  lastSignInAt: string | null;
}

/** A signed-in person, as a request sees them. */
export interface StaffSession {
  userId: string;
  email: string;
  role: Role;
  mustChangePassword: boolean;
  csrfToken: string;
  tokenSha256: Buffer;
}

export class StaffError extends Error {
  constructor(
    readonly code: 'exists' | 'not_found' | 'bad_password' | 'bad_email' | 'bad_role' | 'last_admin' | 'disabled' | 'bad_name' | 'bad_expiry',
    message: string,
  ) {
    super(message);
    this.name = 'StaffError';
  }
}

/** Consecutive failed sign-ins after which an account is locked, and for how long. */
export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_MINUTES = 15;
/** The session's last_seen_at is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 60_000;

const EMAIL = /^[^@\s]+@[^@\s]+$/;

const USER_COLUMNS = `id::text AS id, email, role, must_change_password AS "mustChangePassword", disabled_at IS NOT NULL AS disabled,
  CASE WHEN locked_until > now() THEN to_char(locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END AS "lockedUntil",
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt",
  to_char(last_sign_in_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "lastSignInAt"`;

export function sessionTokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Staff accounts and their sessions. Passwords are scrypt hashes (src/lib/password.ts). Sign-in
 * answers the same sentence, after the same work, whether the email is unknown, the password
 * wrong, the account disabled or locked: nobody learns which emails have accounts. After
 * LOCKOUT_FAILURES failures in a row an account is locked for LOCKOUT_MINUTES. Sessions live in
 * PostgreSQL (any instance serves any request) and end after SESSION_IDLE_MINUTES without a
 * request or SESSION_MAX_HOURS after sign-in, whichever comes first.
 */
@Injectable()
export class StaffService {
  private readonly log = logger('staff');

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async addUser(emailIn: string, role: string, password: string, opts: { mustChange: boolean; actor: Actor }): Promise<StaffUser> {
    const email = emailIn.trim().toLowerCase();
    if (!EMAIL.test(email)) throw new StaffError('bad_email', `"${emailIn}" is not an email address`);
    if (!(ROLES as readonly string[]).includes(role)) throw new StaffError('bad_role', `the role must be one of ${ROLES.join(', ')}`);
    const problem = passwordProblem(password);
    if (problem !== null) throw new StaffError('bad_password', problem);
    const hash = await hashPassword(password);
    return this.ds.transaction(async (m) => {
      const rows = await m.query<StaffUser[]>(
        `INSERT INTO staff_user (email, role, password_hash, must_change_password, created_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING RETURNING ${USER_COLUMNS}`,
        [email, role, hash, opts.mustChange, opts.actor.name],
      );
      const user = rows[0];
      if (user === undefined) throw new StaffError('exists', `${email} has an account already`);
      await this.audit.record(opts.actor, { action: 'user.add', objectType: 'staff_user', objectId: user.id, detail: { role, oneTimePassword: opts.mustChange } }, m);
      return user;
    });
  }

  async listUsers(): Promise<StaffUser[]> {
    return this.ds.query<StaffUser[]>(`SELECT ${USER_COLUMNS} FROM staff_user ORDER BY email`);
  }

  async findUser(idOrEmail: string): Promise<StaffUser | null> {
    const byId = /^\d{1,18}$/.test(idOrEmail);
    const rows = await this.ds.query<StaffUser[]>(`SELECT ${USER_COLUMNS} FROM staff_user WHERE ${byId ? 'id = $1::bigint' : 'email = $1'}`, [byId ? idOrEmail : idOrEmail.trim().toLowerCase()]);
    return rows[0] ?? null;
  }

  /** Disables (or enables again) an account; disabling ends its sessions. The last enabled admin cannot be disabled. */
  async setDisabled(idOrEmail: string, disabled: boolean, actor: Actor): Promise<StaffUser> {
    const user = await this.findUser(idOrEmail);
    if (user === null) throw new StaffError('not_found', `no account ${idOrEmail}`);
    return this.ds.transaction(async (m) => {
      // TypeORM answers an UPDATE ... RETURNING with [rows, count]: each update here is wrapped in a
      // CTE so that its rows come back as a SELECT's. Serialize admin changes so that two admins cannot disable each other at once.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('hl7c_staff_admins'))`);
      if (disabled && user.role === 'admin') {
        const [r] = await m.query<{ n: string }[]>(`SELECT count(*)::text AS n FROM staff_user WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1`, [user.id]);
        if (Number(r?.n ?? 0) === 0) throw new StaffError('last_admin', `${user.email} is the last enabled admin: add another admin first`);
      }
      const [row] = await m.query<StaffUser[]>(
        `WITH u AS (UPDATE staff_user SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END, failed_sign_ins = 0, locked_until = NULL WHERE id = $1 RETURNING *)
         SELECT ${USER_COLUMNS} FROM u`,
        [user.id, disabled],
      );
      if (disabled) await m.query(`UPDATE staff_session SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL`, [user.id]);
      await this.audit.record(actor, { action: disabled ? 'user.disable' : 'user.enable', objectType: 'staff_user', objectId: user.id }, m);
      return row as StaffUser;
    });
  }

  /** Sets a new password (ending the account's other sessions); `mustChange` for a one-time password set by someone else. */
  async setPassword(userId: string, password: string, opts: { mustChange: boolean; actor: Actor; keepSession?: Buffer }): Promise<void> {
    const problem = passwordProblem(password);
    if (problem !== null) throw new StaffError('bad_password', problem);
    const hash = await hashPassword(password);
    await this.ds.transaction(async (m) => {
      const rows = await m.query<{ id: string }[]>(
        `WITH u AS (UPDATE staff_user SET password_hash = $2, must_change_password = $3, password_changed_at = now(), failed_sign_ins = 0, locked_until = NULL WHERE id = $1 RETURNING id)
         SELECT id::text AS id FROM u`,
        [userId, hash, opts.mustChange],
      );
      if (rows.length === 0) throw new StaffError('not_found', `no account ${userId}`);
      await m.query(`UPDATE staff_session SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL AND token_sha256 IS DISTINCT FROM $2`, [userId, opts.keepSession ?? null]);
      await this.audit.record(opts.actor, { action: 'user.password', objectType: 'staff_user', objectId: userId, detail: { oneTimePassword: opts.mustChange } }, m);
    });
  }

  async checkPassword(userId: string, password: string): Promise<boolean> {
    const [row] = await this.ds.query<{ h: string }[]>(`SELECT password_hash AS h FROM staff_user WHERE id = $1`, [userId]);
    return verifyPassword(password, row?.h ?? DUMMY_PASSWORD_HASH);
  }

  /**
   * Signs in: a new session's token (for the cookie) or null. Every refusal looks the same to the
   * caller; the audit trail says which it was (unknown email, wrong password, locked, disabled).
   */
  /** A sign-in refused before any account was looked at (too many attempts from the address): audited, no email kept. */
  async signInRefused(ip: string | null, reason: 'rate_limited'): Promise<void> {
    await this.audit.record({ userId: null, name: 'anonymous', ip }, { action: 'sign_in.failed', detail: { reason } });
  }

  async signIn(emailIn: string, password: string, ip: string | null): Promise<{ token: string; session: StaffSession } | null> {
    const email = emailIn.trim().toLowerCase().slice(0, 320);
    const [user] = await this.ds.query<{ id: string; email: string; role: Role; h: string; locked: boolean; disabled: boolean; mustChange: boolean }[]>(
      `SELECT id::text AS id, email, role, password_hash AS h, coalesce(locked_until > now(), false) AS locked, disabled_at IS NOT NULL AS disabled, must_change_password AS "mustChange"
         FROM staff_user WHERE email = $1`,
      [email],
    );
    const ok = await verifyPassword(password, user?.h ?? DUMMY_PASSWORD_HASH);
    if (user === undefined) {
      await this.audit.record({ userId: null, name: 'anonymous', ip }, { action: 'sign_in.failed', detail: { reason: 'unknown_email' } });
      return null;
    }
    const actor: Actor = { userId: user.id, name: user.email, ip };
    if (user.disabled || user.locked || !ok) {
      const reason = user.disabled ? 'disabled' : user.locked ? 'locked' : 'wrong_password';
      await this.ds.transaction(async (m) => {
        if (reason === 'wrong_password') {
          const [r] = await m.query<{ n: number; locked: boolean }[]>(
            // A lock that ran out starts the count again (the row is not locked here: that was refused above).
            `WITH u AS (UPDATE staff_user SET failed_sign_ins = (CASE WHEN locked_until <= now() THEN 0 ELSE failed_sign_ins END) + 1,
                    locked_until = CASE WHEN (CASE WHEN locked_until <= now() THEN 0 ELSE failed_sign_ins END) + 1 >= $2 THEN now() + make_interval(mins => $3) END
              WHERE id = $1 RETURNING failed_sign_ins, locked_until)
             SELECT failed_sign_ins AS n, coalesce(locked_until > now(), false) AS locked FROM u`,
            [user.id, LOCKOUT_FAILURES, LOCKOUT_MINUTES],
          );
          await this.audit.record(actor, { action: 'sign_in.failed', objectType: 'staff_user', objectId: user.id, detail: { reason, failures: r?.n, locked: r?.locked } }, m);
          if (r?.locked === true) this.log.warn({ event: 'staff_locked', userId: user.id, minutes: LOCKOUT_MINUTES });
        } else {
          await this.audit.record(actor, { action: 'sign_in.failed', objectType: 'staff_user', objectId: user.id, detail: { reason } }, m);
        }
      });
      return null;
    }
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const tokenSha256 = sessionTokenHash(token);
    await this.ds.transaction(async (m) => {
      await m.query(`UPDATE staff_user SET failed_sign_ins = 0, locked_until = NULL, last_sign_in_at = now() WHERE id = $1`, [user.id]);
      await m.query(`INSERT INTO staff_session (token_sha256, user_id, csrf_token, expires_at, ip) VALUES ($1, $2, $3, now() + make_interval(hours => $4), $5)`, [
        tokenSha256, user.id, csrfToken, this.config.SESSION_MAX_HOURS, ip,
      ]);
      await this.audit.record(actor, { action: 'sign_in', objectType: 'staff_user', objectId: user.id }, m);
    });
    this.log.info({ event: 'staff_signed_in', userId: user.id });
    return { token, session: { userId: user.id, email: user.email, role: user.role, mustChangePassword: user.mustChange, csrfToken, tokenSha256 } };
  }

  /** The session a cookie's token opens, or null (unknown, ended, expired, idle too long, account disabled). */
  async session(token: string): Promise<StaffSession | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const tokenSha256 = sessionTokenHash(token);
    const [row] = await this.ds.query<{ userId: string; email: string; role: Role; mustChangePassword: boolean; csrfToken: string; idleMs: string }[]>(
      `SELECT u.id::text AS "userId", u.email, u.role, u.must_change_password AS "mustChangePassword", s.csrf_token AS "csrfToken",
              (extract(epoch FROM now() - s.last_seen_at) * 1000)::bigint::text AS "idleMs"
         FROM staff_session s JOIN staff_user u ON u.id = s.user_id
        WHERE s.token_sha256 = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL
          AND s.last_seen_at > now() - make_interval(mins => $2)`,
      [tokenSha256, this.config.SESSION_IDLE_MINUTES],
    );
    if (row === undefined) return null;
    if (Number(row.idleMs) > TOUCH_EVERY_MS) await this.ds.query(`UPDATE staff_session SET last_seen_at = now() WHERE token_sha256 = $1`, [tokenSha256]);
    return { userId: row.userId, email: row.email, role: row.role, mustChangePassword: row.mustChangePassword, csrfToken: row.csrfToken, tokenSha256 };
  }

  async signOut(session: StaffSession, ip: string | null): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(`UPDATE staff_session SET ended_at = now() WHERE token_sha256 = $1 AND ended_at IS NULL`, [session.tokenSha256]);
      await this.audit.record({ userId: session.userId, name: session.email, ip }, { action: 'sign_out', objectType: 'staff_user', objectId: session.userId }, m);
    });
  }
}
