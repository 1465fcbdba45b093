import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { logger } from '../../common/logger';
import { AuditService, type Actor } from './audit.service';
import { sessionTokenHash, StaffError, StaffService, type Role } from './staff.service';

export interface ApiTokenRow {
  id: string;
  email: string;
  role: Role;
  name: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revoked: boolean;
}

/** Who a per-person token speaks for. */
export interface ApiTokenUser {
  tokenId: string;
  userId: string;
  email: string;
  role: Role;
}

const PREFIX = 'hl7c_';
const COLUMNS = `t.id::text AS id, u.email, u.role, t.name, t.created_by AS "createdBy", to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt",
  to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "expiresAt", to_char(t.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "lastUsedAt",
  t.revoked_at IS NOT NULL AS revoked`;
/** last_used_at is written at most this often per token (not on every request). */
const TOUCH_EVERY_SECONDS = 60;

/** Whether a bearer token has the shape of a per-person token (the service's API_TOKEN is checked first). */
export const isPersonalToken = (token: string): boolean => token.startsWith(PREFIX);

/**
 * Per-person API tokens: made for an account (shown once, kept as SHA-256), listed, revoked; a
 * token stops working when revoked, expired, or its account disabled. Every change is audited.
 */
@Injectable()
export class ApiTokensService {
  private readonly log = logger('staff');

  constructor(
    private readonly ds: DataSource,
    private readonly staff: StaffService,
    private readonly audit: AuditService,
  ) {}

  async create(idOrEmail: string, o: { name: string; expiresDays: number | null; actor: Actor }): Promise<ApiTokenRow & { token: string }> {
    const user = await this.staff.findUser(idOrEmail);
    if (user === null) throw new StaffError('not_found', `no account ${idOrEmail}`);
    if (user.disabled) throw new StaffError('disabled', `${user.email} is disabled: enable it first`);
    const name = o.name.trim();
    if (name.length < 1 || name.length > 100) throw new StaffError('bad_name', 'a token needs a name of 1 to 100 characters (what uses it)');
    if (o.expiresDays !== null && (!Number.isInteger(o.expiresDays) || o.expiresDays < 1 || o.expiresDays > 3650)) throw new StaffError('bad_expiry', 'expiry is a whole number of days from 1 to 3650');
    const token = PREFIX + randomBytes(32).toString('base64url');
    return this.ds.transaction(async (m) => {
      const [row] = await m.query<ApiTokenRow[]>(
        `WITH t AS (INSERT INTO staff_api_token (user_id, name, token_sha256, created_by, expires_at)
                    VALUES ($1, $2, $3, $4, CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(days => $5::int) END) RETURNING *)
         SELECT ${COLUMNS} FROM t JOIN staff_user u ON u.id = t.user_id`,
        [user.id, name, sessionTokenHash(token), o.actor.name, o.expiresDays],
      );
      await this.audit.record(o.actor, { action: 'api_token.create', objectType: 'staff_api_token', objectId: row?.id, detail: { userId: user.id, name, expiresDays: o.expiresDays } }, m);
      this.log.info({ event: 'api_token_created', tokenId: row?.id, userId: user.id });
      return { ...(row as ApiTokenRow), token };
    });
  }

  async list(idOrEmail?: string): Promise<ApiTokenRow[]> {
    if (idOrEmail === undefined) return this.ds.query(`SELECT ${COLUMNS} FROM staff_api_token t JOIN staff_user u ON u.id = t.user_id ORDER BY t.id`);
    const user = await this.staff.findUser(idOrEmail);
    if (user === null) throw new StaffError('not_found', `no account ${idOrEmail}`);
    return this.ds.query(`SELECT ${COLUMNS} FROM staff_api_token t JOIN staff_user u ON u.id = t.user_id WHERE t.user_id = $1 ORDER BY t.id`, [user.id]);
  }

  async revoke(id: string, actor: Actor): Promise<ApiTokenRow> {
    if (!/^\d{1,18}$/.test(id)) throw new StaffError('not_found', `no token ${id}`);
    return this.ds.transaction(async (m) => {
      const [row] = await m.query<ApiTokenRow[]>(
        `WITH t AS (UPDATE staff_api_token SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *) SELECT ${COLUMNS} FROM t JOIN staff_user u ON u.id = t.user_id`,
        [id],
      );
      if (row === undefined) throw new StaffError('not_found', `no token ${id}`);
      await this.audit.record(actor, { action: 'api_token.revoke', objectType: 'staff_api_token', objectId: id }, m);
      return row;
    });
  }

  /** The person a token speaks for, or null (unknown, revoked, expired, account disabled). */
  async user(token: string): Promise<ApiTokenUser | null> {
    if (!/^hl7c_[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const [row] = await this.ds.query<(ApiTokenUser & { touch: boolean })[]>(
      `SELECT t.id::text AS "tokenId", u.id::text AS "userId", u.email, u.role,
              (t.last_used_at IS NULL OR t.last_used_at < now() - make_interval(secs => $2)) AS touch
         FROM staff_api_token t JOIN staff_user u ON u.id = t.user_id
        WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.disabled_at IS NULL`,
      [sessionTokenHash(token), TOUCH_EVERY_SECONDS],
    );
    if (row === undefined) return null;
    if (row.touch) await this.ds.query(`UPDATE staff_api_token SET last_used_at = now() WHERE id = $1`, [row.tokenId]);
    return { tokenId: row.tokenId, userId: row.userId, email: row.email, role: row.role };
  }
}
