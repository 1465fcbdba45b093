import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** Who did something: a signed-in person, or a process (the CLI, the submission job). */
export interface Actor {
  userId: string | null;
  /** The person's email, or `cli`, `system`. */
  name: string;
  ip?: string | null;
}

export interface AuditEntry {
  action: string;
  objectType?: string;
  objectId?: string;
  detail?: Record<string, unknown>;
}

export interface AuditRow {
  id: string;
  at: string;
  userId: string | null;
  actor: string;
  action: string;
  objectType: string | null;
  objectId: string | null;
  ip: string | null;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  objectType?: string;
  objectId?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

/**
 * The audit trail: every view of a claim or a patient and every action a person takes, one
 * append-only row each (a trigger refuses UPDATE, DELETE and TRUNCATE). An action's row is
 * written in the transaction of the action (pass its manager), so that an action and its audit
 * row commit or roll back together. Details hold ids and codes, never PHI.
 */
@Injectable()
export class AuditService {
  constructor(private readonly ds: DataSource) {}

  async record(actor: Actor, entry: AuditEntry, manager?: EntityManager): Promise<void> {
    await (manager ?? this.ds.manager).query(
      `INSERT INTO audit_event (user_id, actor, action, object_type, object_id, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [actor.userId, actor.name, entry.action, entry.objectType ?? null, entry.objectId ?? null, actor.ip ?? null, JSON.stringify(entry.detail ?? {})],
    );
  }

  async list(q: AuditQuery): Promise<{ items: AuditRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.actor !== undefined) add('actor = ?', q.actor.toLowerCase());
    if (q.action !== undefined) add('action = ?', q.action);
    if (q.objectType !== undefined) add('object_type = ?', q.objectType);
    if (q.objectId !== undefined) add('object_id = ?', q.objectId);
    if (q.from !== undefined) add('at >= ?::date', q.from);
    if (q.to !== undefined) add(`at < ?::date + 1`, q.to);
    const w = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [count] = await this.ds.query<{ n: string }[]>(`SELECT count(*)::text AS n FROM audit_event ${w}`, params);
    const rows = await this.ds.query<AuditRow[]>(
      `SELECT id::text AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, user_id::text AS "userId", actor, action,
              object_type AS "objectType", object_id AS "objectId", ip, detail
         FROM audit_event ${w} ORDER BY at DESC, id DESC LIMIT ${q.limit} OFFSET ${q.offset}`,
      params,
    );
    return { items: rows, total: Number(count?.n ?? 0) };
  }
}
