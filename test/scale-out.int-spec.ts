import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDecimal } from '../src/lib/decimal';
import { parseMessage } from '../src/lib/hl7v2';
import { apiOf, type ApiResponse } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { practiceWith } from './support/practice';
import { claimPayment, era, payment, postEra, write835, type SentClaim } from './support/remit';
import { SCRUB_TODAY, TEST_TOKEN } from './support/service';
import { freePort } from './support/net';

/** Until the instance answers ready (database, migrations, code sets, listener). */
async function waitReady(httpPort: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the instance exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/api/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the instance on ${httpPort} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Instance {
  name: string;
  child: ChildProcess;
  mllpPort: number;
  httpPort: number;
  api: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;
}

async function startInstance(name: string, env: NodeJS.ProcessEnv): Promise<Instance> {
  const mllpPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(process.execPath, ['-r', join(__dirname, 'support', 'ts-register.js'), join(__dirname, '..', 'src', 'main.ts')], {
    env: { ...env, MLLP_PORT: String(mllpPort), HTTP_PORT: String(httpPort), DATA_DIR: mkdtempSync(join(tmpdir(), `hl7c-${name}-`)) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { name, child, mllpPort, httpPort, api: apiOf(() => httpPort) };
}

const MESSAGES = 400;
/** Sent after the first batches, for the submission job to build and batch. */
const LATER = 40;
const CONNECTIONS = 4;

/** Which instance gets message i: 'both' at the same moment, one of them, or one and then the other later (a resend through the other instance). */
function route(i: number): 'both' | 'A' | 'B' | 'A-then-B' {
  return (['both', 'A', 'B', 'A-then-B'] as const)[i % 4] as 'both' | 'A' | 'B' | 'A-then-B';
}

const message = (i: number, prefix = 'SO'): string => dft({
  controlId: `${prefix}-${i}`, mrn: `${prefix}M${i}`, visit: `${prefix}V${i}`, charges: Array.from({ length: 1 + (i % 2) }, (_, k) => ({ amount: k === 0 ? '125.00' : '40.10', cpt: k === 0 ? '99213^^C4' : '93000^^C4' })),
});

/**
 * Scale-out, proven: two service processes (separate Node processes, as two containers would be)
 * on one PostgreSQL database. MLLP load is split between them and a quarter of the messages reach
 * both at the same moment; then claims are built, batched, submitted and paid from both at once.
 * Nothing is stored, charged, filed, posted or run twice, and nothing acknowledged is missing.
 * (A real server only: the embedded database is one process.)
 */
(process.env.HL7C_TEST_MODE === 'embedded' ? describe.skip : describe)('two instances on one database', () => {
  let db: TestDatabase;
  let a: Instance | undefined;
  let b: Instance | undefined;
  let outbox: string;
  let responses: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'hl7c-scale-'));
    outbox = join(dir, 'outbox');
    responses = join(dir, 'responses');
    mkdirSync(outbox);
    mkdirSync(responses);
    // One clearinghouse mailbox both instances reach (as an SFTP server would be).
    const practice = practiceWith({ type: 'directory', outbox, responses }, dir);
    const env: NodeJS.ProcessEnv = {
      ...process.env, DATABASE_URL: db.url, API_TOKEN: TEST_TOKEN, PRACTICE_FILE: practice, SCRUB_AS_OF: SCRUB_TODAY, CLAIMS_SETTLED_MINUTES: '0',
      SUBMISSION_INTERVAL_SECONDS: '0', WORK_SWEEP_MINUTES: '0', LOG_LEVEL: 'warn', DB_POOL_SIZE: '6',
    };
    // Started together: both load the practice setup and check migrations at the same moment.
    const both = await Promise.all([startInstance('A', env), startInstance('B', env)]);
    [a, b] = both;
    await Promise.all(both.map((x) => waitReady(x.httpPort, x.child, 120_000)));
  }, 180_000);

  afterAll(async () => {
    const stopped = [a, b].filter((x): x is Instance => x !== undefined).map((x) => new Promise<void>((resolve) => {
      if (x.child.exitCode !== null) {
        resolve();
        return;
      }
      x.child.once('exit', () => {
        resolve();
      });
      x.child.kill('SIGTERM');
    }));
    await Promise.all(stopped);
    await db.drop();
  }, 60_000);

  it('stores each message once across both listeners, and builds, batches, submits and posts once from both at once', async () => {
    if (a === undefined || b === undefined) throw new Error('the instances did not start');
    const [A, B] = [a, b];
    // --- MLLP: the load split, a quarter sent to both at once, a quarter resent through the other one later.
    const acks = new Map<string, { A?: string; B?: string }>();
    const queues = { A: [] as number[], B: [] as number[] };
    for (let i = 0; i < MESSAGES; i++) {
      const r = route(i);
      if (r === 'both' || r === 'A' || r === 'A-then-B') queues.A.push(i);
      if (r === 'both' || r === 'B') queues.B.push(i);
    }
    const sendAll = async (inst: Instance, ids: number[], prefix = 'SO'): Promise<void> => {
      const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => MllpClient.connect(inst.mllpPort)));
      await Promise.all(clients.map(async (c, k) => {
        for (let j = k; j < ids.length; j += CONNECTIONS) {
          const i = ids[j] as number;
          const ack = parseMessage(await c.send(message(i, prefix), 30_000));
          const id = `${prefix}-${i}`;
          expect(ack.get('MSA-2')).toBe(id);
          acks.set(id, { ...acks.get(id), [inst.name]: ack.get('MSA-1') });
        }
      }));
      await Promise.all(clients.map((c) => c.close()));
    };
    // While the messages flow, both instances build claims now and then (what two timers would do).
    let flowing = true;
    const builds: Promise<ApiResponse>[] = [];
    const builder = (async () => {
      while (flowing) {
        builds.push(A.api('POST', '/api/claims/build', {}), B.api('POST', '/api/claims/build', {}));
        await Promise.all(builds.slice(-2));
      }
    })();
    await Promise.all([sendAll(A, queues.A), sendAll(B, queues.B)]);
    await sendAll(B, Array.from({ length: MESSAGES }, (_, i) => i).filter((i) => route(i) === 'A-then-B'));
    flowing = false;
    await builder;
    for (const r of await Promise.all(builds)) expect(r.status).toBe(200);

    // Every message answered AA by every instance that got it; stored exactly once as an original.
    for (let i = 0; i < MESSAGES; i++) {
      const got = acks.get(`SO-${i}`);
      const r = route(i);
      expect({ i, got }).toEqual({ i, got: r === 'A' ? { A: 'AA' } : r === 'B' ? { B: 'AA' } : { A: 'AA', B: 'AA' } });
    }
    const stored = await db.query<{ control_id: string; originals: string; processed: string; duplicates: string; dup_acks: string[]; charges: string }>(
      `SELECT m.control_id, count(*) FILTER (WHERE m.duplicate_of_id IS NULL)::text AS originals,
              count(*) FILTER (WHERE m.duplicate_of_id IS NULL AND m.status = 'processed')::text AS processed,
              count(*) FILTER (WHERE m.status = 'duplicate')::text AS duplicates,
              array_remove(array_agg(CASE WHEN m.status = 'duplicate' THEN m.ack_code END), NULL) AS dup_acks,
              (SELECT count(*) FROM charge c JOIN inbound_message o ON o.id = c.message_id WHERE o.control_id = m.control_id)::text AS charges
         FROM inbound_message m WHERE m.control_id LIKE 'SO-%' GROUP BY m.control_id`,
    );
    expect(stored).toHaveLength(MESSAGES);
    for (const s of stored) {
      const i = Number(s.control_id.slice(3));
      const copies = route(i) === 'both' || route(i) === 'A-then-B' ? 1 : 0;
      expect({ id: s.control_id, originals: s.originals, processed: s.processed, duplicates: Number(s.duplicates), dupAcks: s.dup_acks, charges: Number(s.charges) })
        .toEqual({ id: s.control_id, originals: '1', processed: '1', duplicates: copies, dupAcks: copies === 1 ? ['AA'] : [], charges: 1 + (i % 2) });
    }
    const [enc] = await db.query<{ encounters: string; charges: string; total: string }>(
      `SELECT count(DISTINCT e.id)::text AS encounters, count(c.id)::text AS charges, sum(c.amount)::text AS total FROM encounter e JOIN charge c ON c.encounter_id = e.id`,
    );
    const sentTotal = Array.from({ length: MESSAGES }, (_, i) => (i % 2 === 0 ? '125.00' : '165.10')).reduce(addDecimal, '0');
    expect(enc).toEqual({ encounters: String(MESSAGES), charges: String(MESSAGES * 1.5), total: sentTotal });

    // --- Claims build and batch creation from both at once: one claim per encounter, each in one file.
    const [builtA, builtB] = await Promise.all([A.api('POST', '/api/claims/build', {}), B.api('POST', '/api/claims/build', {})]);
    expect([builtA.status, builtB.status]).toEqual([200, 200]);
    const claimCount = await db.query<{ encounter_id: string; n: string }>(`SELECT encounter_id, count(*)::text AS n FROM claim WHERE status <> 'cancelled' GROUP BY encounter_id HAVING count(*) <> 1`);
    expect(claimCount).toEqual([]);
    const [ready] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim WHERE status = 'ready'`);
    expect(ready?.n).toBe(String(MESSAGES));
    const [batchA, batchB] = await Promise.all([A.api('POST', '/api/batches', {}), B.api('POST', '/api/batches', {})]);
    expect([batchA.status, batchB.status]).toEqual([200, 200]);
    const made = [...(batchA.json.batches as { claims: number }[]), ...(batchB.json.batches as { claims: number }[])];
    expect(made.reduce((n, x) => n + x.claims, 0)).toBe(MESSAGES);

    // --- The submission job from both at once, three times, with claims still to build and batch
    // (later messages, split between the instances): runs never overlap, each claim in one file,
    // each batch delivered once.
    await Promise.all([sendAll(A, Array.from({ length: LATER / 2 }, (_, i) => i), 'SJ'), sendAll(B, Array.from({ length: LATER / 2 }, (_, i) => LATER / 2 + i), 'SJ')]);
    for (let i = 0; i < LATER; i++) expect(acks.get(`SJ-${i}`)).toEqual(i < LATER / 2 ? { A: 'AA' } : { B: 'AA' });
    const runs: { ran: boolean; startedAt?: string; finishedAt?: string; batches: { claims: number }[] }[] = [];
    for (let k = 0; k < 3; k++) {
      const pair = await Promise.all([A.api('POST', '/api/submission/run'), B.api('POST', '/api/submission/run')]);
      for (const r of pair) {
        expect(r.status).toBe(200);
        runs.push(r.json);
      }
    }
    const ran = runs.filter((r) => r.ran).map((r) => [Date.parse(r.startedAt as string), Date.parse(r.finishedAt as string)] as const).sort((x, y) => x[0] - y[0]);
    expect(ran.length).toBeGreaterThanOrEqual(3);
    for (let k = 1; k < ran.length; k++) expect((ran[k] as readonly [number, number])[0]).toBeGreaterThanOrEqual((ran[k - 1] as readonly [number, number])[1]);
    const jobBatches = runs.flatMap((r) => r.batches);
    expect(jobBatches.reduce((n, x) => n + x.claims, 0)).toBe(LATER);
    const ALL = MESSAGES + LATER;
    const files = readdirSync(outbox).sort();
    expect(files).toHaveLength(made.length + jobBatches.length);
    const clm01 = files.flatMap((f) => readFileSync(join(outbox, f), 'latin1').split(/~\r?\n?/).filter((s) => s.startsWith('CLM*')).map((s) => s.split('*')[1] as string));
    expect(clm01).toHaveLength(ALL);
    expect(new Set(clm01).size).toBe(ALL);
    const batches = await db.query<{ deliveries: number; status: string }>(`SELECT deliveries, status FROM claim_batch`);
    expect(batches).toEqual(files.map(() => ({ deliveries: 1, status: 'delivered' })));
    const [submitted] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim WHERE status = 'submitted'`);
    expect(submitted?.n).toBe(String(ALL));
    const [moved] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim_event WHERE to_status = 'submitted'`);
    expect(moved?.n).toBe(String(ALL));

    // --- The payer's 835: the same file posted to both at once, the same ERA in another interchange
    // to both at once, and the file also waiting in the clearinghouse mailbox for both jobs.
    const claims: SentClaim[] = [];
    for (const { id } of await db.query<{ id: string }>(`SELECT id FROM claim ORDER BY id`)) claims.push((await A.api('GET', `/api/claims/${id}`)).json as SentClaim);
    const eraOf = (control: number): string => write835(era([payment('SCALE-EFT-1', claims.map((c) => claimPayment(c)))], control));
    const first = eraOf(9101);
    const again = eraOf(9102);
    writeFileSync(join(responses, '.payment.835.part'), first);
    renameSync(join(responses, '.payment.835.part'), join(responses, 'payment.835'));
    const posted = await Promise.all([postEra(A.httpPort, first), postEra(B.httpPort, first), postEra(A.httpPort, again), postEra(B.httpPort, again), A.api('POST', '/api/submission/run'), B.api('POST', '/api/submission/run')]);
    for (const r of posted) expect(r.status).toBe(200);
    const fresh = posted.slice(0, 4).filter((r) => r.json.duplicate === false && r.json.duplicateTransactions === 0);
    expect(fresh).toHaveLength(1);
    const [paid] = await db.query<{ payments: string; claims: string; total: string; lines: string; line_total: string }>(
      `SELECT count(*)::text AS payments, count(DISTINCT claim_id)::text AS claims, sum(paid)::text AS total,
              (SELECT count(*) FROM service_payment sp JOIN claim_payment p2 ON p2.id = sp.claim_payment_id JOIN remittance_transaction t2 ON t2.id = p2.transaction_id WHERE t2.duplicate_of_id IS NULL)::text AS lines,
              (SELECT sum(sp.paid) FROM service_payment sp JOIN claim_payment p2 ON p2.id = sp.claim_payment_id JOIN remittance_transaction t2 ON t2.id = p2.transaction_id WHERE t2.duplicate_of_id IS NULL)::text AS line_total
         FROM claim_payment p JOIN remittance_transaction t ON t.id = p.transaction_id WHERE t.duplicate_of_id IS NULL`,
    );
    const billed = claims.map((c) => c.totalCharge).reduce(addDecimal, '0');
    expect(billed).toBe(addDecimal(sentTotal, Array.from({ length: LATER }, (_, i) => (i % 2 === 0 ? '125.00' : '165.10')).reduce(addDecimal, '0')));
    expect(paid).toEqual({ payments: String(ALL), claims: String(ALL), total: billed, lines: String(ALL * 1.5), line_total: billed });
    const [paidClaims] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim WHERE status = 'paid'`);
    expect(paidClaims?.n).toBe(String(ALL));
    expect(readdirSync(responses).filter((f) => !f.startsWith('.')).sort()).toEqual(['processed']);
    expect(readdirSync(join(responses, 'processed'))).toEqual(['payment.835']);

    // Both instances are still ready afterwards.
    for (const inst of [A, B]) expect((await fetch(`http://127.0.0.1:${inst.httpPort}/api/health/ready`)).status).toBe(200);
  }, 300_000);
});
