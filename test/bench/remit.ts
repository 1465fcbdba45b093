/**
 * 835 import benchmark. A fresh database holds N submitted 5-line professional claims; a payer's
 * 835 for them is generated (about 0.55 KB per claim: CAS on every line, RARCs, denied lines,
 * reversal and correction pairs, PLB WO and L6, ten transactions). Measured: the reader alone
 * against x12-parser alone (MB/s, in-process), then the whole import (read, match, post, balance)
 * by the product's own CLI (`node dist/cli.js remittances import`) in its own process, with its
 * wall time and peak RSS; afterwards what was posted is checked in the database.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { type DataSource } from 'typeorm';
import { X12parser } from 'x12-parser';
import { setRootLogger } from '../../src/common/logger';
import { fromCents, toCents } from '../../src/lib/decimal';
import { createDataSource } from '../../src/database/data-source';
import { migrate } from '../../src/database/database';
import { read835Batches, writeGe, writeGs, writeIea, writeIsa, write835Transaction, X12Writer, DEFAULT_DELIMITERS, type Era835Claim, type Era835Service } from '../../src/lib/x12';
import { PracticeRepository } from '../../src/modules/practice/practice.repository';
import { readPracticeSetup } from '../../src/modules/practice/practice.setup';
import { EXAMPLE_PRACTICE_FILE } from '../../src/modules/practice/practice.service';

export interface RemitBenchResult {
  claims: number;
  claimPayments: number;
  bytes: number;
  parse: { reader: string; megabytesPerSecond: number; seconds: number }[];
  importSeconds: number;
  peakRssMb: number;
  posted: { claimPayments: number; matched: number; servicePayments: number; adjustments: number; denials: number; statuses: Record<string, number>; balanced: boolean; transactions: number };
}

const LINES = [
  { code: '99214', charge: '185.00', modifiers: ['25'] },
  { code: '93000', charge: '62.50', modifiers: [] },
  { code: '80061', charge: '48.25', modifiers: [] },
  { code: '36415', charge: '12.00', modifiers: [] },
  { code: '85025', charge: '24.65', modifiers: [] },
];
const TOTAL = '332.40';

/** Claim g's payment(s): mostly paid with CO-45 and PR-2, every tenth with a denied line, every hundredth reversed and corrected. */
function* paymentsFor(g: number): Generator<Era835Claim> {
  const pcn = `B${g}`;
  const line = (k: number, over: Partial<Era835Service> = {}): Era835Service => {
    const l = LINES[k] as (typeof LINES)[number];
    return { code: l.code, modifiers: l.modifiers, charge: l.charge, paid: l.charge, lineControlNumber: `${g}-${k + 1}`, serviceDate: '2024-01-05', ...over };
  };
  // 99214: allowed 150 (CO-45 35, PR-2 30, paid 120); the others paid at 80% with the rest CO-45.
  const standard = (k: number): Era835Service => (k === 0
    ? line(0, { paid: '120.00', allowed: '150.00', adjustments: [{ group: 'CO', reason: '45', amount: '35.00' }, { group: 'PR', reason: '2', amount: '30.00' }] })
    : line(k, { paid: LINE_PAID[k] as string, adjustments: [{ group: 'CO', reason: '45', amount: LINE_CO[k] as string }] }));
  const denied = g % 10 === 3;
  const services = LINES.map((_, k) => (denied && k === 1 ? line(1, { paid: '0', adjustments: [{ group: 'CO', reason: '97', amount: '62.50' }], remarks: ['N19'] }) : standard(k)));
  const paid = denied ? '187.92' : '237.92';
  const claim: Era835Claim = {
    patientControlNumber: pcn, status: '1', charge: TOTAL, paid, patientResponsibility: '30.00', payerClaimControlNumber: `ICN${g}`, filingIndicator: 'BL',
    patient: { last: 'DOE', first: 'JANE', memberId: `M${g}` }, services, outpatientRemarks: g % 7 === 0 ? ['MA01'] : undefined,
  };
  yield claim;
  if (g % 100 === 50) {
    const neg = (v: string): string => (v === '0' || v === '0.00' ? v : `-${v}`);
    yield {
      ...claim, status: '22', charge: neg(TOTAL), paid: neg(paid), patientResponsibility: undefined,
      services: services.map((s) => ({ ...s, charge: neg(s.charge), paid: neg(s.paid), units: '-1', allowed: undefined, remarks: undefined, adjustments: s.adjustments?.map((a) => ({ ...a, amount: neg(a.amount) })) })),
    };
    yield { ...claim, payerClaimControlNumber: `ICN${g}C`, paid: '237.92', services: LINES.map((_, k) => standard(k)) };
  }
}
const LINE_PAID = ['120.00', '50.00', '38.60', '9.60', '19.72'];
const LINE_CO = ['35.00', '12.50', '9.65', '2.40', '4.93'];

/** Writes the 835 for claims 1..n in `transactions` transactions; returns the claim payments written. */
async function write835File(path: string, n: number, transactions: number): Promise<number> {
  const out = createWriteStream(path);
  let pending = 0;
  const w = new X12Writer(DEFAULT_DELIMITERS, (c) => {
    if (!out.write(c)) pending++;
  }, 1 << 20);
  const at = new Date('2024-02-01T10:00:00Z');
  const interchange = { senderQualifier: 'ZZ', senderId: 'BCBSIL', receiverQualifier: 'ZZ', receiverId: 'HL7CLAIMS', controlNumber: 1, usage: 'T' as const, ackRequested: false, createdAt: at };
  const group = { senderCode: 'BCBSIL', receiverCode: 'HL7CLAIMS', controlNumber: 1, createdAt: at, version: '005010X221A1', functionalId: 'HP' };
  writeIsa(w, interchange);
  writeGs(w, group);
  let written = 0;
  const per = Math.ceil(n / transactions);
  for (let t = 0; t < transactions; t++) {
    const from = t * per + 1;
    const to = Math.min(n, (t + 1) * per);
    // BPR02 = ΣCLP04 - ΣPLB: computed as the claims are written (in cents).
    let paidCents = 0;
    const claims = function* (): Generator<Era835Claim> {
      for (let g = from; g <= to; g++) {
        for (const c of paymentsFor(g)) {
          paidCents += toCents(c.paid) as number;
          written++;
          yield c;
        }
      }
    };
    // The amount must be known before the claims: a first pass over the same generator's sums.
    let pre = 0;
    for (let g = from; g <= to; g++) for (const c of paymentsFor(g)) pre += toCents(c.paid) as number;
    const plb = [
      { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'WO', reference: `ICN${from}`, amount: '25.00' },
      { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'L6', amount: '-3.75' },
    ];
    const amount = fromCents(pre - 2500 + 375);
    write835Transaction(w, {
      controlNumber: t + 1, payment: { method: 'ACH', date: '2024-02-01' }, trace: { number: `BENCH-EFT-${t + 1}`, payerId: '1370000001' }, productionDate: '2024-01-31',
      payer: { name: 'BLUE CROSS BLUE SHIELD OF ILLINOIS', id: '00621' }, payee: { name: 'ST MARY CARDIOLOGY GROUP', npi: '1234567893' }, claims: [], providerAdjustments: plb,
    }, claims(), amount);
    if (paidCents !== pre) throw new Error('payment amounts differ between passes');
    if (pending > 0) {
      await new Promise<void>((r) => out.once('drain', r));
      pending = 0;
    }
  }
  writeGe(w, transactions, group);
  writeIea(w, 1, interchange);
  w.flush();
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(resolve);
  });
  return written;
}

async function parseOnly(path: string, bytes: number): Promise<RemitBenchResult['parse']> {
  const mb = bytes / 1e6;
  const t0 = process.hrtime.bigint();
  let segments = 0;
  // x12-parser alone, the way its README streams a file (segment objects from 'data' events).
  await new Promise<void>((resolve, reject) => {
    createReadStream(path, { highWaterMark: 256 * 1024 }).pipe(new X12parser('latin1')).on('data', () => {
      segments++;
    }).on('end', resolve).on('error', reject);
  });
  const t1 = process.hrtime.bigint();
  let claims = 0;
  for await (const batch of read835Batches(createReadStream(path, { highWaterMark: 256 * 1024 }))) for (const e of batch) if (e.kind === 'claim') claims++;
  const t2 = process.hrtime.bigint();
  if (segments === 0 || claims === 0) throw new Error('nothing parsed');
  const s1 = Number(t1 - t0) / 1e9;
  const s2 = Number(t2 - t1) / 1e9;
  return [
    { reader: 'x12-parser', megabytesPerSecond: Math.round((mb / s1) * 10) / 10, seconds: s1 },
    { reader: 'hl7-claims', megabytesPerSecond: Math.round((mb / s2) * 10) / 10, seconds: s2 },
  ];
}

export async function benchRemit(serverUrl: string, n: number): Promise<RemitBenchResult> {
  setRootLogger(pino({ level: 'silent' }));
  const name = `hl7c_bench_remit_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-bench-835-'));
  const file = join(dir, 'bench.835');
  const ds: DataSource = createDataSource(url, 4);
  try {
    await ds.initialize();
    await migrate(ds);
    await new PracticeRepository(ds).apply(readPracticeSetup(EXAMPLE_PRACTICE_FILE));
    const [ids] = await ds.query<{ payer: string; provider: string; facility: string }[]>(
      `SELECT (SELECT id FROM practice_payer WHERE key = 'bcbsil') AS payer, (SELECT id FROM practice_billing_provider WHERE key = 'stmary-cardiology') AS provider,
              (SELECT id FROM practice_facility WHERE key = 'cardiology-clinic') AS facility`,
    );
    const [p] = await ds.query<{ id: string }[]>(`INSERT INTO patient (patient_key, mrn) VALUES ('BENCH', 'BENCH') RETURNING id`);
    const [e] = await ds.query<{ id: string }[]>(`INSERT INTO encounter (encounter_key, key_source, patient_id) VALUES ('BENCH', 'visit', $1) RETURNING id`, [p?.id]);
    // N submitted claims B1..BN with 5 lines each, line control numbers g-1..g-5.
    await ds.query(
      `INSERT INTO claim (id, patient_control_number, encounter_id, patient_id, payer_id, billing_provider_id, facility_id, claim_type, status, total_charge, service_from, service_to, payload)
       SELECT g, 'B' || g, $1, $2, $3, $4, $5, 'professional', 'submitted', ${TOTAL}, '2024-01-05', '2024-01-05', '{"otherCoverage": []}'
         FROM generate_series(1, $6::int) AS g`,
      [e?.id, p?.id, ids?.payer, ids?.provider, ids?.facility, n],
    );
    await ds.query(`SELECT setval('claim_id_seq', $1::bigint)`, [n]);
    await ds.query(
      `INSERT INTO claim_line (claim_id, line_number, control_number, charge_ids, procedure_code, modifiers, revenue_code, quantity, charge_amount, service_date)
       SELECT g, k, g || '-' || k, '{}', (ARRAY['99214','93000','80061','36415','85025'])[k], CASE WHEN k = 1 THEN '{25}'::text[] ELSE '{}' END, NULL, 1,
              (ARRAY[185.00, 62.50, 48.25, 12.00, 24.65])[k], '2024-01-05'
         FROM generate_series(1, $1::int) AS g, generate_series(1, 5) AS k`,
      [n],
    );
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
    if (process.env.BENCH_REMIT_KEEP === '1') process.stderr.write(`kept: ${url} ${file}\n`);
    else {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(dir, { recursive: true, force: true });
    }
    await admin.end();
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
