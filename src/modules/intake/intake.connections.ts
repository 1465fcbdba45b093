import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config';

/** What the intake queries run on: one connection, inside a transaction or in autocommit. */
export interface Sql {
  query<T>(text: string, params: unknown[]): Promise<T[]>;
}

/**
 * A manager of the shared TypeORM pool, bound to one connection, as `Sql` (unnamed statements,
 * planned each time). Structured results: the rows of every statement, UPDATEs' RETURNING too.
 */
export function managerSql(em: EntityManager): Sql {
  const runner = em.queryRunner;
  if (runner === undefined) throw new Error('a manager bound to one connection was expected');
  return {
    async query<T>(text: string, params: unknown[]): Promise<T[]> {
      const r = await runner.query(text, params, true);
      return r.records as T[];
    },
  };
}

/**
 * Session settings of the intake connections. The intake statements take JSON documents, so
 * their plans do not depend on the values: one generic plan per connection, never re-planned
 * (planning the group statement costs more than running it). Their joins are look-ups of a few
 * rows by unique key: nested loops over the keys' indexes are right at any table size, while a
 * plan made when the tables were small (hash joins over sequential scans) would read the whole
 * table on every group as it grows. JIT compilation never pays off for statements this short.
 */
const SESSION_OPTIONS = ['plan_cache_mode=force_generic_plan', 'jit=off', 'enable_hashjoin=off', 'enable_mergejoin=off']
  .map((o) => `-c ${o}`)
  .join(' ');

const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = 'hc' + createHash('sha1').update(text).digest('hex').slice(0, 16);
    statementNames.set(text, name);
  }
  return name;
}

function clientSql(client: PoolClient): Sql {
  return {
    async query<T>(text: string, params: unknown[]): Promise<T[]> {
      const r = await client.query({ name: statementName(text), text, values: params });
      return r.rows as T[];
    },
  };
}

/**
 * The connections the intake write path uses. On a PostgreSQL server: a small pool of its own
 * (INTAKE_CONCURRENCY + 2 connections) whose sessions carry the settings above and keep their
 * prepared statements, so the API's queries on the shared pool are planned as usual. On the
 * embedded database (PGlite, one backend behind its socket) the shared pool is used as is.
 */
@Injectable()
export class IntakeConnections {
  private readonly log = logger('intake.connections');
  private pool: Pool | undefined;
  private mode: Promise<'server' | 'embedded'> | undefined;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs `fn` on one connection in autocommit mode: each statement commits on its own. */
  async run<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if ((await this.detect()) === 'embedded') {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      try {
        return await fn(managerSql(runner.manager));
      } finally {
        await runner.release();
      }
    }
    const client = await this.serverPool().connect();
    let broken: Error | undefined;
    try {
      return await fn(clientSql(client));
    } catch (e) {
      broken = connectionBroken(e);
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if ((await this.detect()) === 'embedded') return this.dataSource.transaction((em) => fn(managerSql(em)));
    const client = await this.serverPool().connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await fn(clientSql(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      broken = connectionBroken(e);
      if (broken === undefined) {
        await client.query('ROLLBACK').catch((r: unknown) => {
          broken = r instanceof Error ? r : new Error('rollback failed');
        });
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  /** PGlite is told apart by its version string, asked once (again after a failure). */
  private detect(): Promise<'server' | 'embedded'> {
    this.mode ??= this.dataSource.query('SELECT version() AS v').then(
      (r: { v: string }[]) => (String(r[0]?.v).includes('PGlite') ? 'embedded' : 'server'),
      (e: unknown) => {
        this.mode = undefined;
        throw e;
      },
    );
    return this.mode;
  }

  private serverPool(): Pool {
    if (this.closed) throw new Error('intake connections are closed');
    if (this.pool === undefined) {
      const url = (this.dataSource.options as { url?: string }).url;
      const pool = new Pool({
        connectionString: url,
        max: this.config.INTAKE_CONCURRENCY + 2,
        connectionTimeoutMillis: 10_000,
        idleTimeoutMillis: 60_000,
        options: SESSION_OPTIONS,
        application_name: 'hl7-claims intake',
      });
      // An idle connection that breaks (server restart, network cut) is dropped by the pool; the
      // next group opens a new one. Without a listener the error would end the process.
      const lost = (e: Error): void => {
        this.log.warn({ event: 'intake_connection_lost', error: e.name, sqlstate: (e as { code?: string }).code });
      };
      pool.on('error', lost);
      // A connection in use that breaks fails its query; the client's own error event must be
      // listened to as well, or it would be thrown as an unhandled error.
      pool.on('connect', (client) => client.on('error', lost));
      this.pool = pool;
    }
    return this.pool;
  }
}

/** A failure that leaves the connection unusable (it is then discarded, not returned to the pool). */
function connectionBroken(e: unknown): Error | undefined {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57')) return undefined; // the server answered
  return e instanceof Error ? e : new Error('connection failure');
}
