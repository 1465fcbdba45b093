/**
 * Work queue benchmark. A fresh database holds 10,000 submitted 5-line claims and 50,000 open
 * work items on their lines (categories, payers' CARCs and RARCs, owners, statuses, deadlines and
 * amounts spread as a real queue's are); the real service answers a signed-in biller's requests
 * over HTTP: the default list, filtered and sorted lists, a deep page, and the dashboard. Each
 * request's time is measured at the client on loopback (the server's time plus a few hundred
 * microseconds), p50 and p95 over repeated requests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { benchDatabase } from './bench-db';
import { setRootLogger } from '../../src/common/logger';
import { loadConfig } from '../../src/config/config';
import { createDataSource } from '../../src/database/data-source';
import { migrate } from '../../src/database/database';
import { StaffService } from '../../src/modules/staff/staff.service';
import { EXAMPLE_PRACTICE_FILE } from '../../src/modules/practice/practice.service';
import { startService } from '../../src/service';
import { seedSubmittedClaims } from '../support/remit-seed';
import { WebClient } from '../support/web';

export interface QueueBenchResult {
  items: number;
  pages: { name: string; path: string; p50: number; p95: number; runs: number; rows: string }[];
}

const PASSWORD = 'correct horse battery staple';

export async function benchQueue(serverUrl: string, items: number, runs: number): Promise<QueueBenchResult> {
  setRootLogger(pino({ level: 'silent' }));
  const { url, drop, keep } = await benchDatabase(serverUrl, 'queue');
  const ds = createDataSource(url, 4);
  let svc: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    await ds.initialize();
    await migrate(ds);
    await seedSubmittedClaims(ds, Math.ceil(items / 5));
    // Items on the claims' lines, as the 835 triggers would make them, spread deterministically.
    await ds.query(
      `INSERT INTO work_item (source_key, kind, claim_id, claim_line_id, payer_row_id, category, recoverability, amount, carcs, rarcs, service_date, opened_on, appeal_deadline, deadline, status, follow_up_on)
       SELECT 'bench:' || l.id, 'denial', l.claim_id, l.id, c.payer_id,
              (ARRAY['coding','bundling','authorization','medical_necessity','registration_eligibility','missing_information','timely_filing','duplicate','coordination_of_benefits','pricing','other','uncategorised'])[1 + (l.id % 12)],
              0.5, (10 + (l.id * 7919 % 99000) / 100.0)::numeric(14,2),
              jsonb_build_array(jsonb_build_object('group', 'CO', 'reason', (ARRAY['97','16','4','197','50','27','29','18','22','45','96','253'])[1 + (l.id % 12)], 'amount', '50.00')),
              CASE WHEN l.id % 3 = 0 THEN ARRAY['N19'] WHEN l.id % 3 = 1 THEN ARRAY['M51'] ELSE '{}'::text[] END,
              l.service_date, current_date - (l.id % 150)::int, current_date - (l.id % 150)::int + 120, current_date - (l.id % 150)::int + 120,
              (ARRAY['new','new','in_progress','pending','appealed','resubmitted'])[1 + (l.id % 6)],
              CASE WHEN l.id % 6 = 3 THEN current_date + 10 END
         FROM claim_line l JOIN claim c ON c.id = l.claim_id ORDER BY l.id LIMIT $1`,
      [items],
    );
    await ds.query('ANALYZE');
    const config = loadConfig({ DATABASE_URL: url, MLLP_PORT: '0', HTTP_PORT: '0', API_TOKEN: 'bench-token-0123456789', DATA_DIR: mkdtempSync(join(tmpdir(), 'hl7c-bq-')), PRACTICE_FILE: EXAMPLE_PRACTICE_FILE, LOG_LEVEL: 'silent' });
    svc = await startService(config);
    const staff = svc.app.get(StaffService);
    const biller = await staff.addUser('bench@example.org', 'biller', PASSWORD, { mustChange: false, actor: { userId: null, name: 'bench', ip: null } });
    // A third of the items are the biller's, the rest unassigned or someone else's.
    await ds.query(`UPDATE work_item SET owner_id = $1 WHERE id % 3 = 0`, [biller.id]);
    // As autovacuum leaves a live table: statistics and the visibility map current (index-only scans).
    await ds.query('VACUUM ANALYZE work_item');
    const web = new WebClient(`http://127.0.0.1:${svc.httpPort}`);
    await web.signIn('bench@example.org', PASSWORD);
    const pages: [string, string][] = [
      ['list, default (me + unassigned, by deadline)', '/'],
      ['list, every owner and status', '/?status=all&owner=any'],
      ['list, category + CARC filter', '/?category=coding&carc=97&owner=any'],
      ['list, RARC + amount range, by priority', '/?rarc=N19&amountMin=100&amountMax=500&sort=priority&owner=any'],
      ['list, page 200 by amount', '/?owner=any&sort=amount&page=200'],
      ['dashboard', '/dashboard'],
    ];
    const out: QueueBenchResult['pages'] = [];
    for (const [label, path] of pages) {
      for (let i = 0; i < 3; i++) await web.get(path); // warm-up
      const times: number[] = [];
      let rows = '';
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = await web.get(path);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
        rows = /<caption>([^<]*)<\/caption>/.exec(r.text)?.[1] ?? '';
      }
      times.sort((a, b) => a - b);
      const at = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)] ?? 0;
      out.push({ name: label, path, p50: Math.round(at(0.5) * 10) / 10, p95: Math.round(at(0.95) * 10) / 10, runs, rows });
    }
    return { items, pages: out };
  } finally {
    if (svc !== undefined) await svc.stop();
    if (ds.isInitialized) await ds.destroy();
    // BENCH_QUEUE_KEEP=1 keeps the database, for tuning.
    if (process.env.BENCH_QUEUE_KEEP === '1') {
      process.stderr.write(`kept: ${url}\n`);
      await keep();
    } else await drop();
  }
}

if (require.main === module) {
  const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  benchQueue(server, Number(process.env.BENCH_QUEUE_ITEMS ?? 50_000), 40).then(
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
