import { Client } from 'pg';
import { createDataSource } from '../../src/database/data-source';
import { migrate } from '../../src/database/database';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/database/embedded';
import { setRootLogger } from '../../src/common/logger';
import pino from 'pino';

export const TEMPLATE_DB = 'hl7claims_test_template';

declare global {
  var __HL7C_EMBEDDED__: EmbeddedDatabase | undefined;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Integration suites use a real PostgreSQL: TEST_DATABASE_URL when given (CI), else an embedded
 * one started here. With a server, a template database is migrated once and every test file
 * clones it; the embedded database has a single database, so files share it (run serially).
 */
export default async function globalSetup(): Promise<void> {
  setRootLogger(pino({ level: 'silent' }));
  const server = process.env.TEST_DATABASE_URL;
  if (server !== undefined && server !== '') {
    const admin = new Client({ connectionString: server });
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [TEMPLATE_DB]);
      await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
      await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
    } finally {
      await admin.end();
    }
    const ds = createDataSource(withDatabase(server, TEMPLATE_DB), 2);
    await ds.initialize();
    await migrate(ds);
    await ds.destroy();
    process.env.HL7C_TEST_MODE = 'server';
    process.env.HL7C_TEST_SERVER_URL = server;
    return;
  }
  const embedded = await startEmbeddedDatabase(undefined, 64);
  globalThis.__HL7C_EMBEDDED__ = embedded;
  const ds = createDataSource(embedded.url, 2);
  await ds.initialize();
  await migrate(ds);
  await ds.destroy();
  process.env.HL7C_TEST_MODE = 'embedded';
  process.env.HL7C_TEST_SERVER_URL = embedded.url;
}
