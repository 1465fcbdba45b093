import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataSource } from '../src/database/data-source';
import { orphans } from './support/integrity';
import { createTestDatabase, type TestDatabase } from './support/db';
import { seedSubmittedClaims, write835File } from './support/remit-seed';

/** `hl7-claims remittances import FILE --json` in its own process (the CLI from the sources). */
function importer(db: TestDatabase, file: string): { child: ChildProcess; result: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, ['-r', join(__dirname, 'support', 'ts-register.js'), join(__dirname, '..', 'src', 'cli.ts'), 'remittances', 'import', file, '--json'], {
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent', DATA_DIR: mkdtempSync(join(tmpdir(), 'hl7c-imp-')), PRACTICE_FILE: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const result = new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve({ code, out });
    });
  });
  return { child, result };
}

const N = 3000;

describe('835 import: all or nothing, one poster at a time', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-remit-crash-'));
  const file = join(dir, 'payer.835');
  let claimPayments = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    const ds = createDataSource(db.url, 2);
    await ds.initialize();
    try {
      await seedSubmittedClaims(ds, N);
    } finally {
      await ds.destroy();
    }
    claimPayments = await write835File(file, N, 3);
  });

  afterAll(async () => {
    await db.drop();
  });

  const counts = async (): Promise<Record<string, string>> => {
    const [r] = await db.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM remittance_file)::text AS files, (SELECT count(*) FROM remittance_transaction)::text AS transactions,
              (SELECT count(*) FROM claim_payment)::text AS claim_payments, (SELECT count(*) FROM service_payment)::text AS service_payments,
              (SELECT count(*) FROM payment_adjustment)::text AS adjustments, (SELECT count(*) FROM denial)::text AS denials,
              (SELECT count(*) FROM claim_event)::text AS events, (SELECT count(*) FROM claim WHERE status <> 'submitted')::text AS moved`,
    );
    return r as Record<string, string>;
  };

  // On the embedded database another session's query waits until the import's transaction ends
  // (PGlite serves one at a time), so nothing could observe the import half-way and kill it there.
  (process.env.HL7C_TEST_MODE === 'embedded' ? it.skip : it)('leaves nothing half posted when the importer is killed (SIGKILL) mid-import, and posts it whole afterwards', async () => {
    const { child, result } = importer(db, file);
    // Posting has begun when claim payment ids are being taken (sequences are seen outside the transaction).
    for (let i = 0; ; i++) {
      const [s] = await db.query<{ v: string; called: boolean }>(`SELECT last_value::text AS v, is_called AS called FROM claim_payment_id_seq`);
      if (s?.called === true && Number(s.v) >= 1000) break;
      if (i > 600) throw new Error('the import did not start posting');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect((await result).code).toBeNull();
    // The server notices the dead connection and rolls its transaction back.
    for (let i = 0; i < 100; i++) {
      const [busy] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 727003`);
      if (busy?.n === '0') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await counts()).toEqual({ files: '0', transactions: '0', claim_payments: '0', service_payments: '0', adjustments: '0', denials: '0', events: '0', moved: '0' });

    const again = await importer(db, file).result;
    expect(again.code).toBe(0);
    const [summary] = JSON.parse(again.out) as { duplicate: boolean; claimPayments: number; matched: number; unbalanced: number }[];
    expect(summary).toMatchObject({ duplicate: false, claimPayments, matched: claimPayments, unbalanced: 0 });
    expect(await counts()).toMatchObject({ files: '1', transactions: '3', claim_payments: String(claimPayments) });
    expect(await orphans(db)).toEqual([]);
  });

  // Two importers need a server with more than one session (the embedded database has one).
  (process.env.HL7C_TEST_MODE === 'embedded' ? it.skip : it)('never double-posts when two processes import the same file, or the same ERA in two files, at once', async () => {
    const before = await counts();
    const other = join(dir, 'same-era.835');
    // The same payments in another interchange (another ISA13): another file, the same ERAs.
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(other, readFileSync(file, 'latin1').replace(/\*000000001\*0\*T\*:~/, '*000000777*0*T*:~'), 'latin1');
    const runs = await Promise.all([importer(db, file).result, importer(db, file).result, importer(db, other).result]);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    const summaries = runs.map((r) => (JSON.parse(r.out) as { duplicate: boolean; claimPayments: number; duplicateTransactions: number }[])[0]);
    // The first file was posted by the previous test: both imports of it are duplicates; the other file's ERAs are too.
    expect(summaries.map((s) => [s?.duplicate, s?.claimPayments])).toEqual([[true, claimPayments], [true, claimPayments], [false, 0]]);
    expect(summaries[2]?.duplicateTransactions).toBe(3);
    // Stored: the other file and its three transactions, each marked a duplicate; posted: nothing more.
    const after = await counts();
    expect({ ...after, files: before.files, transactions: before.transactions }).toEqual(before);
    expect([after.files, after.transactions]).toEqual(['2', '6']);
    const [dups] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM remittance_transaction WHERE duplicate_of_id IS NOT NULL`);
    expect(dups?.n).toBe('3');
  });

  (process.env.HL7C_TEST_MODE === 'embedded' ? it.skip : it)('posts a new ERA once when two processes race to import it', async () => {
    await db.query(`TRUNCATE appeal_letter, write_off, work_item_event, work_item, remittance_exception, denial, provider_adjustment, payment_adjustment, service_payment, claim_payment, remittance_transaction, remittance_file_part, remittance_file`);
    await db.query(`UPDATE claim SET status = 'submitted'`);
    await db.query(`DELETE FROM claim_event`);
    const runs = await Promise.all([importer(db, file).result, importer(db, file).result]);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    const dups = runs.map((r) => (JSON.parse(r.out) as { duplicate: boolean }[])[0]?.duplicate).sort();
    expect(dups).toEqual([false, true]);
    expect(await counts()).toMatchObject({ files: '1', transactions: '3', claim_payments: String(claimPayments) });
    const [posted] = await db.query<{ n: string }>(`SELECT count(DISTINCT claim_id)::text AS n FROM claim_payment`);
    expect(posted?.n).toBe(String(N));
  });
});
