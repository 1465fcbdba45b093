/**
 * The soak: `npm run soak` (not in CI). The built service runs as its own process on a fresh
 * database, its submission job every minute (build the encounters quiet for a minute, batch,
 * deliver to a directory clearinghouse, import what came back). A forked load generator sends mixed ADT/DFT at SOAK_RATE messages a
 * second (500) over SOAK_CONNECTIONS (32) for SOAK_MINUTES (30), with resends and junk. Every
 * minute this orchestrator writes an 835 paying the claims submitted since the last one into the
 * clearinghouse's response folder. It prints, a line a minute, the ACK latency and the service's
 * resident memory; at the end it checks that nothing was lost: every message answered AA is
 * stored, every charge stored once and billed on one claim, every filed claim in exactly one file,
 * every 835 payment posted once (paid = billed).
 *
 * The server: SOAK_DATABASE_URL, else TEST_DATABASE_URL, else postgres on 127.0.0.1:5432.
 * SOAK_KEEP=1 keeps the database.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { practiceWith } from '../support/practice';
import { claimPayment, era, payment, write835, type SentClaim } from '../support/remit';
import { benchDatabase } from './bench-db';
import type { SoakLoadDone, SoakLoadJob, SoakWindow } from './soak-load';
import { freePort } from '../support/net';

const ROOT = join(__dirname, '..', '..');
const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const RATE = Number(process.env.SOAK_RATE ?? 500);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 32);
/** At most this many claims per 835 (a payer's daily file is seldom bigger). */
const PER_835 = 20_000;

/** Child processes to end with this one (besides the service). */
const children: ChildProcess[] = [];

const log = (s: string): void => {
  process.stdout.write(s + '\n');
};

/** Resident set size of a process in MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Writes an 835 paying (in full) the submitted claims above `afterId`; returns the highest claim id paid, and how many. */
async function pay(db: Client, afterId: string, responses: string, n: number): Promise<{ lastId: string; claims: number }> {
  const rows = (await db.query(
    `SELECT c.id, c.patient_control_number, c.total_charge::text AS total,
            json_agg(json_build_object('procedureCode', l.procedure_code, 'revenueCode', l.revenue_code, 'modifiers', l.modifiers, 'charge', l.charge_amount::text,
                                       'controlNumber', l.control_number, 'serviceDate', l.service_date::text, 'lineNumber', l.line_number, 'id', l.id::text, 'quantity', l.quantity::text) ORDER BY l.line_number) AS lines
       FROM claim c JOIN claim_line l ON l.claim_id = c.id
      WHERE c.status = 'submitted' AND c.id > $1 GROUP BY c.id ORDER BY c.id LIMIT $2`,
    [afterId, PER_835],
  )).rows as { id: string; patient_control_number: string; total: string; lines: SentClaim['lines'] }[];
  if (rows.length === 0) return { lastId: afterId, claims: 0 };
  const claims: SentClaim[] = rows.map((r) => ({ id: r.id, patientControlNumber: r.patient_control_number, totalCharge: r.total, status: 'submitted', payerId: null, lines: r.lines }));
  const text = write835(era([payment(`SOAK-EFT-${n}`, claims.map((c) => claimPayment(c)))], 7000 + n));
  const name = `soak-${String(n).padStart(4, '0')}.835`;
  writeFileSync(join(responses, `.${name}.part`), text, 'latin1');
  renameSync(join(responses, `.${name}.part`), join(responses, name));
  return { lastId: (rows[rows.length - 1] as { id: string }).id, claims: rows.length };
}

async function counts(db: Client): Promise<{ claims: number; submitted: number; paid: number; batches: number; payments: number; remits: number; paidTotal: string }> {
  const r = (await db.query(
    `SELECT (SELECT count(*) FROM claim)::int AS claims, (SELECT count(*) FROM claim WHERE status = 'submitted')::int AS submitted,
            (SELECT count(*) FROM claim WHERE status = 'paid')::int AS paid, (SELECT count(*) FROM claim_batch)::int AS batches,
            (SELECT count(*) FROM claim_payment p JOIN remittance_transaction t ON t.id = p.transaction_id WHERE t.duplicate_of_id IS NULL)::int AS payments,
            (SELECT count(*) FROM remittance_file WHERE status = 'posted')::int AS remits,
            (SELECT COALESCE(sum(p.paid), 0)::text FROM claim_payment p JOIN remittance_transaction t ON t.id = p.transaction_id WHERE t.duplicate_of_id IS NULL) AS "paidTotal"`,
  )).rows[0] as never;
  return r;
}

async function main(): Promise<void> {
  const server = process.env.SOAK_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  const bench = await benchDatabase(server, 'soak');
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-soak-'));
  const outbox = join(dir, 'outbox');
  const responses = join(dir, 'responses');
  mkdirSync(outbox);
  mkdirSync(responses);
  const practice = practiceWith({ type: 'directory', outbox, responses }, dir);
  const mllpPort = await freePort();
  const httpPort = await freePort();
  const token = 'soak-token-0123456789abcdef';
  log(`soak: ${MINUTES} min at ${RATE} msg/s over ${CONNECTIONS} connections; database ${new URL(bench.url).pathname.slice(1)}`);
  const svc = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    env: {
      ...process.env, DATABASE_URL: bench.url, MLLP_PORT: String(mllpPort), HTTP_PORT: String(httpPort), API_TOKEN: token, DATA_DIR: join(dir, 'data'), PRACTICE_FILE: practice,
      SCRUB_AS_OF: '2024-01-10', CLAIMS_SETTLED_MINUTES: '1', SUBMISSION_INTERVAL_SECONDS: '60', LOG_LEVEL: 'warn', DB_POOL_SIZE: '10',
    },
    stdio: ['ignore', openSync(join(dir, 'service.log'), 'a'), 'inherit'],
  });
  log(`soak: the service's log is ${join(dir, 'service.log')}`);
  const svcExit = new Promise<number | null>((resolve) => svc.once('exit', resolve));
  // However the soak ends, the service and the load generator end with it.
  process.once('exit', () => {
    svc.kill('SIGKILL');
    children.forEach((c) => c.kill('SIGKILL'));
  });
  for (const until = Date.now() + 120_000; ;) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/api/health/ready`)).status === 200) break;
    } catch {
      // starting
    }
    if (Date.now() > until || svc.exitCode !== null) throw new Error('the service did not become ready');
    await new Promise((r) => setTimeout(r, 250));
  }
  const db = new Client({ connectionString: bench.url });
  await db.connect();
  // Production servers run autovacuum, which keeps the planner's statistics current as the tables
  // grow; where it is off (these CI machines' server is), the soak does what it would each
  // minute: ANALYZE the tables changed by more than 50 rows + 10% (autovacuum's default
  // thresholds). Without statistics the planner reads whole tables where an index serves.
  const autovacuum = ((await db.query('SHOW autovacuum')).rows[0] as { autovacuum: string }).autovacuum === 'on';
  if (!autovacuum) log('soak: autovacuum is off on this server; the soak analyzes changed tables every minute in its place');
  const analyze = async (): Promise<void> => {
    if (autovacuum) return;
    const stale = (await db.query(`SELECT relname FROM pg_stat_user_tables WHERE n_mod_since_analyze > 50 + 0.1 * n_live_tup`)).rows as { relname: string }[];
    for (const t of stale) await db.query(`ANALYZE "${t.relname.replace(/"/g, '""')}"`);
  };

  const aaFile = join(dir, 'answered.bin');
  const load = fork(join(__dirname, 'soak-load.ts'), [], { execArgv: ['-r', join(__dirname, '..', 'support', 'ts-register.js')] });
  children.push(load);
  const windows: SoakWindow[] = [];
  const done = new Promise<SoakLoadDone>((resolve, reject) => {
    load.on('message', (m: SoakWindow | SoakLoadDone) => {
      if (m.type === 'window') windows.push(m);
      else resolve(m);
    });
    load.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the load generator exited with ${String(code)}`));
    });
  });
  const job: SoakLoadJob = { port: mllpPort, connections: CONNECTIONS, rate: RATE, seconds: MINUTES * 60, outFile: aaFile };
  load.send(job);

  /** The service's event-loop delay since the last scrape (prom-client resets it at each), max and p99 in ms. */
  const loopDelay = async (): Promise<{ max: number; p99: number }> => {
    try {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      const value = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 1000;
      return { max: value('hl7c_nodejs_eventloop_lag_max_seconds'), p99: value('hl7c_nodejs_eventloop_lag_p99_seconds') };
    } catch {
      return { max: NaN, p99: NaN };
    }
  };
  await loopDelay();
  log('minute  msg/s   p50 ms  p99 ms  max ms  not AA  RSS MB  loop p99/max ms  claims  submitted  paid  batches  835s');
  const rss: number[] = [];
  const p99s: number[] = [];
  let lastPaid = '0';
  let remitNo = 0;
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  const loadDone = (): boolean => finished;
  const started = Date.now();
  for (let minute = 1; !loadDone(); minute++) {
    const wake = started + minute * 60_000;
    while (Date.now() < wake && !loadDone()) await new Promise((r) => setTimeout(r, 1000));
    if (loadDone()) break;
    await analyze();
    const ws = windows.splice(0);
    const sorted = ws.map((w) => w.p99).sort((a, b) => a - b);
    const p99 = sorted[sorted.length - 1] ?? 0;
    const mem = rssMb(svc.pid as number);
    const loop = await loopDelay();
    rss.push(mem);
    p99s.push(p99);
    const paid = await pay(db, lastPaid, responses, ++remitNo);
    lastPaid = paid.lastId;
    const c = await counts(db);
    const sent = ws.reduce((n, w) => n + w.sent, 0);
    log([String(minute).padStart(6), String(Math.round(sent / 60)).padStart(6), Math.max(...ws.map((w) => w.p50), 0).toFixed(1).padStart(8), p99.toFixed(1).padStart(7), Math.max(...ws.map((w) => w.max), 0).toFixed(0).padStart(7),
      String(ws.reduce((n, w) => n + w.notAa, 0)).padStart(7), String(mem).padStart(7), `${loop.p99.toFixed(0)}/${loop.max.toFixed(0)}`.padStart(16), String(c.claims).padStart(7), String(c.submitted).padStart(10), String(c.paid).padStart(5), String(c.batches).padStart(8), String(c.remits).padStart(5)].join(' '));
  }
  const result = await done;

  // Drain: every encounter's charges billed now (settled or not), batched and delivered; the last
  // 835s written and imported.
  const api = async (path: string, body?: unknown): Promise<{ ran?: boolean }> => {
    const r = await fetch(`http://127.0.0.1:${httpPort}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    return (await r.json()) as { ran?: boolean };
  };
  const run = async (): Promise<void> => {
    while ((await api('/api/submission/run')).ran !== true) await new Promise((res) => setTimeout(res, 1000));
  };
  await analyze();
  await api('/api/claims/build');
  await run();
  for (;;) {
    const paid = await pay(db, lastPaid, responses, ++remitNo);
    lastPaid = paid.lastId;
    await run();
    if (paid.claims === 0) break;
  }

  // Nothing lost: every message answered AA is stored, processed, as an original.
  const answered = readFileSync(aaFile);
  const aa: number[] = [];
  let notAa = 0;
  let unanswered = 0;
  for (let k = 0; k < answered.length; k++) {
    if (answered[k] === 1) aa.push(k);
    else if (answered[k] === 2) notAa++;
    else unanswered++;
  }
  let missing = 0;
  for (let i = 0; i < aa.length; i += 50_000) {
    const r = await db.query(
      `SELECT count(*)::int AS n FROM unnest($1::int[]) AS k
        WHERE NOT EXISTS (SELECT 1 FROM inbound_message m WHERE m.control_id = 'SK' || k AND m.duplicate_of_id IS NULL AND m.status = 'processed')`,
      [aa.slice(i, i + 50_000)],
    );
    missing += (r.rows[0] as { n: number }).n;
  }
  const stored = (await db.query(`SELECT count(*) FILTER (WHERE duplicate_of_id IS NULL AND control_id LIKE 'SK%')::int AS originals, count(*) FILTER (WHERE status = 'duplicate')::int AS duplicates, count(*)::int AS total FROM inbound_message`)).rows[0] as { originals: number; duplicates: number; total: number };
  // Every charge stored once and billed once: on a claim, and on one live claim only.
  const billing = (await db.query(
    `SELECT (SELECT count(*) FROM charge)::int AS charges, (SELECT count(*) FROM charge WHERE claim_id IS NULL)::int AS unbilled,
            (SELECT count(*) FROM (SELECT c FROM claim_line l JOIN claim k ON k.id = l.claim_id, unnest(l.charge_ids) AS c
                                    WHERE k.status NOT IN ('cancelled', 'replaced') GROUP BY c HAVING count(*) > 1) t)::int AS "billedTwice"`,
  )).rows[0] as { charges: number; unbilled: number; billedTwice: number };
  const byStatus = Object.fromEntries((await db.query(`SELECT status, count(*)::int AS n FROM claim GROUP BY status ORDER BY status`)).rows.map((r: { status: string; n: number }) => [r.status, r.n]));
  const [filed] = (await db.query(`SELECT count(*)::int AS n, COALESCE(sum(total_charge) FILTER (WHERE status = 'paid'), 0)::text AS "paidBilled" FROM claim WHERE batch_id IS NOT NULL`)).rows as { n: number; paidBilled: string }[];
  const c = await counts(db);
  const files = readdirSync(outbox);
  const clm01 = files.flatMap((f) => readFileSync(join(outbox, f), 'latin1').split(/~\r?\n?/).filter((s) => s.startsWith('CLM*')).map((s) => s.split('*')[1] as string));
  const mem = rssMb(svc.pid as number);

  const half = Math.max(1, Math.floor(Math.min(5, rss.length / 2)));
  const avg = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const summary = {
    minutes: MINUTES, rate: RATE, connections: CONNECTIONS, elapsedSeconds: result.elapsedSeconds,
    messages: result.messages, dfts: result.dfts, charges: result.charges, resends: result.resends, junk: result.junk, acks: result.acks, unansweredFrames: result.unanswered,
    answeredAa: aa.length, answeredOther: notAa, unansweredMessages: unanswered, missing,
    storedOriginals: stored.originals, storedDuplicates: stored.duplicates, storedRows: stored.total, chargesStored: billing.charges, chargesUnbilled: billing.unbilled, chargesBilledTwice: billing.billedTwice,
    claims: c.claims, claimsByStatus: byStatus, claimsFiled: filed?.n, claimsInFiles: clm01.length, distinctClaimsInFiles: new Set(clm01).size, files: files.length, batches: c.batches,
    remittances: c.remits, payments: c.payments, paidClaims: c.paid, billedOnPaidClaims: filed?.paidBilled, paid: c.paidTotal,
    rssMb: { firstMinutes: Math.round(avg(rss.slice(0, half))), lastMinutes: Math.round(avg(rss.slice(-half))), max: Math.max(...rss, mem), afterDrain: mem },
    p99Ms: { firstMinutes: Number(avg(p99s.slice(0, half)).toFixed(1)), lastMinutes: Number(avg(p99s.slice(-half)).toFixed(1)), max: Number(Math.max(...p99s, 0).toFixed(1)) },
    // Flat or not, at a glance: the mean of each five minutes' figures.
    byFiveMinutes: Array.from({ length: Math.ceil(p99s.length / 5) }, (_, i) => ({
      minutes: `${i * 5 + 1}-${Math.min(p99s.length, i * 5 + 5)}`, p99Ms: Number(avg(p99s.slice(i * 5, i * 5 + 5)).toFixed(1)), rssMb: Math.round(avg(rss.slice(i * 5, i * 5 + 5))),
    })),
  };
  log(JSON.stringify(summary, null, 2));
  const problems: string[] = [];
  if (missing > 0) problems.push(`${missing} messages answered AA are not stored`);
  if (unanswered > 0 || result.unanswered > 0) problems.push(`${result.unanswered} frames unanswered`);
  if (billing.charges !== result.charges || billing.unbilled > 0 || billing.billedTwice > 0) problems.push(`charges sent ${result.charges}, stored ${billing.charges}, unbilled ${billing.unbilled}, billed twice ${billing.billedTwice}`);
  if (clm01.length !== filed?.n || new Set(clm01).size !== clm01.length) problems.push(`claims filed ${filed?.n ?? 0}, in files ${clm01.length} (${new Set(clm01).size} distinct)`);
  if (c.payments !== c.paid || c.paid !== filed?.n || filed.paidBilled !== c.paidTotal) problems.push(`payments ${c.payments}, paid claims ${c.paid} of ${filed?.n ?? 0} filed, billed ${filed?.paidBilled ?? ''} paid ${c.paidTotal}`);
  log(problems.length === 0 ? 'soak: nothing lost, nothing twice' : `soak: PROBLEMS: ${problems.join('; ')}`);

  svc.kill('SIGTERM');
  await svcExit;
  await db.end();
  if (process.env.SOAK_KEEP === '1') await bench.keep();
  else await bench.drop();
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`soak failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
