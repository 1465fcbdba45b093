import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { logger } from '../common/logger';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) under `dataDir` and serves it on a
 * loopback port with pglite-socket, so the ordinary `pg` driver, the same migrations and the
 * same SQL run against it as against a PostgreSQL server. pglite-socket multiplexes at most
 * `maxConnections` clients (one transaction at a time), so the pool must not be larger.
 */
export async function startEmbeddedDatabase(dataDir: string | undefined, maxConnections: number): Promise<EmbeddedDatabase> {
  const log = logger('database');
  const started = Date.now();
  // PGlite ships as ESM and CommonJS; import lazily so a server deployment never loads it.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let location = 'memory://';
  if (dataDir !== undefined) {
    location = resolve(dataDir, 'pg');
    mkdirSync(location, { recursive: true });
  }
  const db = await PGlite.create(location);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  log.info({ event: 'embedded_db_started', port, maxConnections, ms: Date.now() - started, persistent: dataDir !== undefined });
  return {
    url: `postgres://postgres@${conn}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
