import { Client } from 'pg';

export const TEMPLATE_DB = 'hl7claims_test_template';
let counter = 0;

export interface TestDatabase {
  url: string;
  /** Runs one query on a short-lived connection. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const TABLES = [
  'charge', 'procedure', 'diagnosis', 'coverage', 'encounter', 'patient', 'chargemaster_item', 'inbound_message',
  'remittance_exception', 'denial', 'provider_adjustment', 'payment_adjustment', 'service_payment', 'claim_payment', 'remittance_transaction', 'remittance_file_part', 'remittance_file', 'practice_fee_schedule',
  'appeal_letter', 'appeal_template', 'write_off', 'work_item_event', 'work_item', 'saved_view', 'audit_event', 'staff_api_token', 'staff_session', 'staff_user',
  'denial_pattern', 'denial_pattern_line', 'denial_pattern_pending', 'denial_pattern_refresh', 'rate_limit',
  'claim_response', 'ack_file', 'claim_event', 'claim_line', 'claim', 'claim_batch_file', 'claim_batch', 'practice_facility', 'practice_payer', 'practice_clearinghouse', 'practice_billing_provider',
];

async function run<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * A fresh, migrated database for one test file: a clone of the template on a server
 * (CREATE DATABASE … TEMPLATE, Immich's medium tests), or the embedded one emptied.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const mode = process.env.HL7C_TEST_MODE;
  const server = process.env.HL7C_TEST_SERVER_URL;
  if (server === undefined || mode === undefined) throw new Error('integration globalSetup did not run');
  if (mode === 'embedded') {
    // The audit trail refuses TRUNCATE (append-only); a test database is emptied all the same.
    await run(server, `ALTER TABLE audit_event DISABLE TRIGGER USER; ALTER TABLE work_item_event DISABLE TRIGGER USER; ALTER TABLE appeal_letter DISABLE TRIGGER USER; ALTER TABLE write_off DISABLE TRIGGER USER; TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE; ALTER TABLE audit_event ENABLE TRIGGER USER; ALTER TABLE work_item_event ENABLE TRIGGER USER; ALTER TABLE appeal_letter ENABLE TRIGGER USER; ALTER TABLE write_off ENABLE TRIGGER USER`);
    // As a fresh database: the sequences no column owns (control numbers such as ISA13) from their
    // start too; a table's own were restarted with it (tables kept, like the shipped rules, keep theirs).
    await run(server, `DO $$ DECLARE s record; BEGIN
      FOR s IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'S' AND n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
        EXECUTE format('ALTER SEQUENCE public.%I RESTART', s.relname);
      END LOOP; END $$`);
    return { url: server, query: (sql, params) => run(server, sql, params), drop: () => Promise.resolve() };
  }
  const name = `hl7c_t_${process.pid}_${++counter}_${Date.now().toString(36)}`;
  await run(server, `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  const url = withDatabase(server, name);
  return {
    url,
    query: (sql, params) => run(url, sql, params),
    async drop() {
      await run(server, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
      await run(server, `DROP DATABASE IF EXISTS ${name}`);
    },
  };
}
