/**
 * 835 import benchmark. A fresh database holds N submitted 5-line professional claims; a payer's
 * 835 for them is generated (about 0.55 KB per claim: CAS on every line, RARCs, denied lines,
 * reversal and correction pairs, PLB WO and L6, ten transactions). Measured: the reader alone
 * against x12-parser alone (MB/s, each pass in a fresh process, best of two), then the whole
 * import (read, match, post, balance) by the product's own CLI (`node dist/cli.js remittances
 * import`) in its own process, with its wall time and peak RSS; afterwards what was posted is
 * checked in the database.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { benchDatabase } from './bench-db';
import { type DataSource } from 'typeorm';
import { setRootLogger } from '../../src/common/logger';
import { createDataSource } from '../../src/database/data-source';
import { migrate } from '../../src/database/database';
import { seedSubmittedClaims, write835File } from '../support/remit-seed';

export interface RemitBenchResult {
  claims: number;
  claimPayments: number;
  bytes: number;
  parse: { reader: string; megabytesPerSecond: number; seconds: number; slowestSeconds: number }[];
  importSeconds: number;
  peakRssMb: number;
  posted: { claimPayments: number; matched: number; servicePayments: number; adjustments: number; denials: number; statuses: Record<string, number>; balanced: boolean; transactions: number };
}

/** One parse-only pass in a fresh process (remit-parse.ts). */
async function parsePass(reader: 'x12-parser' | 'hl7-claims', path: string): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    const child = spawn(process.execPath, ['-r', join(__dirname, '..', 'support', 'ts-register.js'), join(__dirname, 'remit-parse.ts'), reader, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (b: Buffer) => {
      text += b.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(text);
      else reject(new Error(`${reader} pass exited with ${String(code)}`));
    });
  });
  const r = JSON.parse(out) as { seconds: number; count: number };
  if (r.count === 0) throw new Error(`${reader}: nothing parsed`);
  return r.seconds;
}

/**
 * x12-parser alone against the product's reader: each pass in its own process, alternately, best of
 * three (the slowest is reported too). Either can run at half its speed in a given process: V8's
 * allocation-site pretenuring sometimes decides, from one sample, that a site's objects live long
 * and allocates them in the old space, where they die (measured: 4.4-5.0 s or 7.9-12.8 s for the
 * reader, bimodal; with --no-allocation-site-pretenuring 4.1-6.2 s in 16 of 16 runs).
 */
async function parseOnly(path: string, bytes: number): Promise<RemitBenchResult['parse']> {
  const mb = bytes / 1e6;
  const best = { 'x12-parser': Infinity, 'hl7-claims': Infinity };
  const worst = { 'x12-parser': 0, 'hl7-claims': 0 };
  for (let round = 0; round < 3; round++) {
    for (const reader of ['x12-parser', 'hl7-claims'] as const) {
      const seconds = await parsePass(reader, path);
      best[reader] = Math.min(best[reader], seconds);
      worst[reader] = Math.max(worst[reader], seconds);
    }
  }
  return (['x12-parser', 'hl7-claims'] as const).map((reader) => ({ reader, megabytesPerSecond: Math.round((mb / best[reader]) * 10) / 10, seconds: best[reader], slowestSeconds: worst[reader] }));
}

export async function benchRemit(serverUrl: string, n: number): Promise<RemitBenchResult> {
  setRootLogger(pino({ level: 'silent' }));
  const { url, drop, keep } = await benchDatabase(serverUrl, 'remit');
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-bench-835-'));
  const file = join(dir, 'bench.835');
  const ds: DataSource = createDataSource(url, 4);
  try {
    await ds.initialize();
    await migrate(ds);
    await seedSubmittedClaims(ds, n);
    await ds.query('ANALYZE');
    const claimPayments = await write835File(file, n, 10);
    const bytes = statSync(file).size;
    const parse = await parseOnly(file, bytes);

    // The whole import, by the CLI as a user runs it, in its own process.
    const root = join(__dirname, '..', '..');
    const rssFile = join(dir, 'rss');
    const started = process.hrtime.bigint();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', join(__dirname, 'rss-report.js'), join(root, 'dist', 'cli.js'), 'remittances', 'import', file, '--json'], {
        env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn', HL7C_RSS_FILE: rssFile, PRACTICE_FILE: '' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const importSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`the import exited with ${String(code)}`);
    const peakRssMb = Math.round(Number(readFileSync(rssFile, 'utf8')) / 1024);

    const [counts] = await ds.query<{ cp: string; matched: string; sp: string; adj: string; denials: string; tx: string; unbalanced: string }[]>(
      `SELECT (SELECT count(*) FROM claim_payment)::text AS cp, (SELECT count(*) FROM claim_payment WHERE match_status = 'matched')::text AS matched,
              (SELECT count(*) FROM service_payment)::text AS sp, (SELECT count(*) FROM payment_adjustment)::text AS adj, (SELECT count(*) FROM denial WHERE status = 'open')::text AS denials,
              (SELECT count(*) FROM remittance_transaction)::text AS tx,
              (SELECT count(*) FROM remittance_exception WHERE kind IN ('line_unbalanced', 'claim_unbalanced', 'transaction_unbalanced'))::text AS unbalanced`,
    );
    const statuses = Object.fromEntries((await ds.query<{ status: string; n: string }[]>(`SELECT status, count(*)::text AS n FROM claim GROUP BY status ORDER BY status`)).map((r) => [r.status, Number(r.n)]));
    return {
      claims: n, claimPayments, bytes, parse, importSeconds, peakRssMb,
      posted: {
        claimPayments: Number(counts?.cp), matched: Number(counts?.matched), servicePayments: Number(counts?.sp), adjustments: Number(counts?.adj), denials: Number(counts?.denials), statuses,
        balanced: counts?.unbalanced === '0', transactions: Number(counts?.tx),
      },
    };
  } finally {
    if (ds.isInitialized) await ds.destroy();
    // BENCH_REMIT_KEEP=1 keeps the database (as it was after the import) and the file, for tuning.
    if (process.env.BENCH_REMIT_KEEP === '1') {
      process.stderr.write(`kept: ${url} ${file}\n`);
      await keep();
    } else {
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (require.main === module) {
  const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  benchRemit(server, Number(process.env.BENCH_REMIT_CLAIMS ?? 100_000)).then(
    (r) => {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
