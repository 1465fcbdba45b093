import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { logger } from '../common/logger';
import { createDataSource } from './data-source';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';

export interface OpenDatabase {
  dataSource: DataSource;
  /** Set when the embedded database was started for this process. */
  embedded?: EmbeddedDatabase;
  close(): Promise<void>;
}

/** Arbitrary constant: the advisory lock that serializes migrations across instances. */
const MIGRATION_LOCK = 727_001;

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL under DATA_DIR, and (by default)
 * runs pending migrations under an advisory lock so that instances starting together do not race.
 */
/** The database server could not be reached or refused the connection (the CLI exits 3). */
export class DatabaseUnreachableError extends Error {
  constructor(where: string, cause: unknown) {
    super(`database unreachable (${where}): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DatabaseUnreachableError';
  }
}

/** host:port/database of a URL, without its user or password. */
function whereOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

export async function openDatabase(config: AppConfig, opts: { migrate?: boolean } = {}): Promise<OpenDatabase> {
  const log = logger('database');
  let embedded: EmbeddedDatabase | undefined;
  let url = config.DATABASE_URL;
  if (url === undefined) {
    embedded = await startEmbeddedDatabase(config.DATA_DIR, config.DB_POOL_SIZE);
    url = embedded.url;
  }
  const dataSource = createDataSource(url, config.DB_POOL_SIZE);
  try {
    try {
      await dataSource.initialize();
    } catch (e) {
      throw new DatabaseUnreachableError(embedded !== undefined ? 'embedded' : whereOf(url), e);
    }
    if (opts.migrate !== false) await migrate(dataSource);
  } catch (e) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw e;
  }
  log.info({ event: 'database_ready', embedded: embedded !== undefined });
  return {
    dataSource,
    embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const done = await dataSource.runMigrations({ transaction: 'each' });
    if (done.length > 0) logger('database').info({ event: 'migrated', migrations: done.map((m) => m.name) });
    return done.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
