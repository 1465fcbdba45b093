import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli';
import { encodeFrame } from '../src/lib/mllp';
import { EXAMPLE_PRACTICE_FILE } from '../src/modules/practice/practice.service';
import { orphans } from './support/integrity';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { SCRUB_TODAY } from './support/service';

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  try {
    const code = await main(args);
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

/** The CLI in its own process (the embedded database cannot start inside a jest worker; stdin is a pipe, not a terminal). */
function spawnCli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', join(__dirname, 'support', 'ts-register.js'), join(__dirname, '..', 'src', 'cli.ts'), ...args], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve({ code, out, err });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

const multiFile = (): string => join(dirOf, 'feed.hl7');
let dirOf = '';

describe('hl7-claims CLI', () => {
  let db: TestDatabase;
  const saved = { ...process.env };
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-cli-'));
  dirOf = dir;

  beforeAll(async () => {
    db = await createTestDatabase();
    process.env.DATABASE_URL = db.url;
    process.env.DATA_DIR = dir;
    process.env.SCRUB_AS_OF = SCRUB_TODAY;
  });

  afterAll(async () => {
    process.env = saved;
    await db.drop();
  });

  it('db migrate reports an up-to-date schema', async () => {
    const r = await run(['db', 'migrate', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ migrated: [] });
  });

  it('ingests multi-message files and batches, idempotently', async () => {
    const multi = join(dir, 'feed.hl7');
    writeFileSync(multi, [dft({ controlId: 'F-1', visit: 'VF1' }), dft({ controlId: 'F-2', visit: 'VF2', charges: [{ amount: 'x' }] })].join('\n').replace(/\r/g, '\n'));
    const batch = join(dir, 'batch.hl7');
    writeFileSync(batch, ['BHS|^~\\&|CHG|HOSP|||20240105||||B-77', dft({ controlId: 'F-3', visit: 'VF3' }).trimEnd(), 'BTS|1'].join('\r') + '\r');
    const first = await run(['ingest', multi, batch, '--json']);
    expect(JSON.parse(first.out)).toEqual({ messages: 3, processed: 2, duplicates: 0, errors: 1, rejected: 0, ignored: 0 });
    expect(first.code).toBe(1); // an error was found: scripts can tell
    const again = await run(['ingest', multi, batch, '--json']);
    expect(JSON.parse(again.out)).toEqual({ messages: 3, processed: 0, duplicates: 3, errors: 0, rejected: 0, ignored: 0 });
    const charges = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM charge`);
    expect(charges[0]?.n).toBe('2');
  });

  it('ingests a batch larger than one group statement (600 messages, some with credits), every charge once', async () => {
    const big = join(dir, 'big.hl7');
    const msgs = Array.from({ length: 600 }, (_, i) =>
      dft({ controlId: `BIG-${i}`, visit: `VBIG${(i % 50 === 49 ? i - 1 : i) % 150}`, charges: i % 50 === 49 ? [{ amount: '-5.00', txn: `BIGTX-${i - 1}` }] : [{ amount: '5.00', txn: `BIGTX-${i}` }] }).trimEnd(),
    );
    writeFileSync(big, ['BHS|^~\\&|CHG|HOSP|||20240105||||B-BIG', ...msgs, 'BTS|600'].join('\r') + '\r');
    process.env.INTAKE_BATCH_MAX = '1000';
    try {
      const r = await run(['ingest', big, '--json']);
      expect(JSON.parse(r.out)).toEqual({ messages: 600, processed: 600, duplicates: 0, errors: 0, rejected: 0, ignored: 0 });
    } finally {
      delete process.env.INTAKE_BATCH_MAX;
    }
    const rows = await db.query<{ status: string; n: string }>(
      `SELECT c.status, count(*)::text AS n FROM charge c JOIN inbound_message m ON m.id = c.message_id WHERE m.batch_control_id = 'B-BIG' GROUP BY c.status ORDER BY c.status`,
    );
    // 12 credits (every 50th message), each reversing a charge of the message just before it.
    expect(rows).toEqual([{ status: 'posted', n: '576' }, { status: 'reversal', n: '12' }, { status: 'reversed', n: '12' }]);
  });

  it('builds claims and writes batch files to a folder', async () => {
    process.env.PRACTICE_FILE = EXAMPLE_PRACTICE_FILE;
    try {
      const built = await run(['claims', 'build', '--json']);
      expect(built.code).toBe(0);
      const summary = JSON.parse(built.out) as { encounters: number; created: number; ready: number; held: number };
      expect(summary.created).toBeGreaterThan(0);
      expect(summary.ready + summary.held).toBe(summary.created);
      const outDir = join(dir, 'outbox');
      const batched = await run(['batches', 'create', '--out', outDir, '--json']);
      expect(batched.code).toBe(0);
      const { batches } = JSON.parse(batched.out) as { batches: { fileName: string; bytes: number; claims: number }[] };
      expect(batches.reduce((n, b) => n + b.claims, 0)).toBe(summary.ready);
      for (const b of batches) {
        const file = readFileSync(join(outDir, b.fileName), 'latin1');
        expect(file.length).toBe(b.bytes);
        expect(file.startsWith('ISA*00*')).toBe(true);
      }
      expect(readdirSync(outDir).filter((f) => f.startsWith('.'))).toEqual([]);
      const none = await run(['batches', 'create']);
      expect(none.out.trim()).toBe('no ready claims');
      // A third-party 999 for a group we never sent is refused with the element at fault; the same
      // goes for a file that is not X12.
      const acks = await run(['acks', 'import', join(__dirname, '..', 'fixtures', 'x12', 'ack', 'imsweb__x12_999_accepted.txt'), multiFile(), '--json']);
      expect(acks.code).toBe(1);
      expect(JSON.parse(acks.out)).toEqual([
        { file: expect.stringMatching(/imsweb__x12_999_accepted\.txt$/) as string, error: 'AK1-02: group control number 17456 matches no batch that was sent' },
        { file: expect.stringMatching(/feed\.hl7$/) as string, error: 'ISA: not an X12 interchange: it does not begin with an ISA segment' },
      ]);
    } finally {
      delete process.env.PRACTICE_FILE;
    }
  });

  it('scrubs as a dry run and imports code-set files once, refusing bad ones with the line', async () => {
    process.env.PRACTICE_FILE = EXAMPLE_PRACTICE_FILE;
    try {
      writeFileSync(join(dir, 'enc.hl7'), dft({ controlId: 'SCRUB-1', visit: 'VSCRUB', charges: [{ amount: '-0.00' }] }));
      expect((await run(['ingest', join(dir, 'enc.hl7')])).code).toBe(0);
      const [enc] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = 'VSCRUB'`);
      const before = await db.query(`SELECT count(*) AS n FROM claim_finding`);
      const dry = await run(['scrub', '--encounters', enc?.id ?? '', '--json']);
      expect(dry.code).toBe(0);
      const result = JSON.parse(dry.out) as { encounters: { encounterId: string; claims: { wouldBe: string; findings: { ruleId: string }[] }[] }[] };
      expect(result.encounters[0]?.encounterId).toBe(enc?.id);
      expect(result.encounters[0]?.claims[0]?.findings.map((f) => f.ruleId)).toContain('charge-positive');
      expect(await db.query(`SELECT count(*) AS n FROM claim_finding`)).toEqual(before);
      expect((await run(['scrub', '--claims', 'x'])).code).toBe(2);

      const mue = join(dir, 'mue.csv');
      writeFileSync(mue, '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator"\n"99213","1","2 Date of Service Edit: Policy"\n');
      const first = await run(['codesets', 'import', 'mue', mue, '--json']);
      expect(JSON.parse(first.out)).toMatchObject({ kind: 'mue', rows: 1, created: true });
      expect(JSON.parse((await run(['codesets', 'import', 'mue', mue, '--json'])).out)).toMatchObject({ created: false });
      const bad = join(dir, 'icd10cm-order-2028.txt');
      writeFileSync(bad, 'order\tcode\tbillable\nx\tE119\t2\n');
      const refused = await run(['codesets', 'import', 'icd10cm', bad]);
      expect(refused.code).toBe(1);
      expect(await db.query(`SELECT kind FROM codeset_import WHERE imported_by = 'cli' ORDER BY id`)).toEqual([{ kind: 'mue' }]);
      const listed = JSON.parse((await run(['codesets', 'list', '--json'])).out) as { loaded: { kind: string; source: string }[] };
      expect(listed.loaded.filter((l) => l.source === 'imported').map((l) => l.kind)).toEqual(['mue']);
    } finally {
      delete process.env.PRACTICE_FILE;
      // The embedded database is shared by the suites: later ones must not get this MUE limit.
      await db.query(`DELETE FROM codeset_import WHERE kind = 'mue' AND imported_by = 'cli'`);
    }
  });

  it('imports 835 files (each once), lists remittances and the unmatched queue, and loads newer CARC/RARC lists', async () => {
    const sample = join(__dirname, '..', 'fixtures', 'x12', '835', 'lfh__managed-care.835');
    const first = await run(['remittances', 'import', sample, '--json']);
    expect(first.code).toBe(0);
    const [summary] = JSON.parse(first.out) as { file: string; duplicate: boolean; claimPayments: number; matched: number; unmatched: number; paid: string }[];
    expect(summary).toMatchObject({ duplicate: false, claimPayments: 2, matched: 0, unmatched: 2, paid: '945.00' });
    const again = await run(['remittances', 'import', sample]);
    expect(again.out.trim()).toBe(`${sample}: imported before, nothing changed`);
    const refused = await run(['remittances', 'import', multiFile(), '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toEqual([expect.objectContaining({ refused: { error: 'ISA: not an X12 interchange: it does not begin with an ISA segment', location: 'ISA' } })]);
    const list = JSON.parse((await run(['remittances', 'list', '--json'])).out) as { items: { traceNumber: string; claimPayments: number; unmatched: number; balanced: boolean }[] };
    expect(list.items).toEqual([expect.objectContaining({ traceNumber: '7170066655', claimPayments: 2, unmatched: 2, balanced: true })]);
    const queue = JSON.parse((await run(['remittances', 'unmatched', '--json'])).out) as { items: { kind: string; id: string; patientControlNumber: string; reason: string }[] };
    expect(queue.items.map((i) => [i.kind, i.patientControlNumber, i.reason])).toEqual([['claim', '5554555444', 'unmatched'], ['claim', '8765432112', 'unmatched']]);
    const noClaim = await run(['remittances', 'match', queue.items[0]?.id ?? '', '999999']);
    expect(noClaim.code).toBe(1);
    expect((await run(['remittances', 'match', 'x'])).code).toBe(2);
    // A newer CARC list: a code's wording and status change; codes it leaves out are kept.
    const carc = join(dir, 'carc.csv');
    writeFileSync(carc, 'Code,Description,Stop Date\n45,"Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement.",\n42,"Charges exceed our fee schedule or maximum allowable amount.",2023-01-01\n');
    expect(JSON.parse((await run(['codesets', 'import', 'carc', carc, '--json'])).out)).toMatchObject({ kind: 'carc', rows: 2, created: true });
    const bad = join(dir, 'rarc.csv');
    writeFileSync(bad, 'code,description\nXX1,not a remark code\n');
    expect((await run(['codesets', 'import', 'rarc', bad])).code).toBe(1);
    await db.query(`DELETE FROM codeset_import WHERE kind = 'carc' AND imported_by = 'cli'`);
  });

  it('runs the demo on a throw-away embedded database and explains what it did', async () => {
    const outDir = join(dir, 'demo-out');
    // Without DATABASE_URL: the embedded database (PGlite).
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const r = await spawnCli(['demo', '--out', outDir], { env });
    expect(r.code).toBe(0);
    expect(r.out).toContain('5 DFT^P03 messages, 5 processed, 0 in error.');
    expect(r.out).toContain('Claims built from 5 encounters: 4 ready, 1 held.');
    expect(r.out).toMatch(/held because IN1-3 "UNITEDHC" \/ IN1-2 "PPO" \(2010BB NM1-09\) matches no payer in the practice setup/);
    // The payers' 835, posted, and each claim's money.
    expect(r.out).toContain("4. The payers' 835 (responses/payers-835-demo.x12, now in responses/processed): 3 payments, 4 claim payments, 4 matched, 0 unmatched, 661.16 paid, 23.85 in provider-level adjustments (PLB), every balance holds");
    expect(r.out).toMatch(/HC1 \(BLUE CROSS BLUE SHIELD OF ILLINOIS\): partially_paid; billed 307\.75, paid 194\.50, contractual 83\.25, patient owes 30\.00, other 0\.00, outstanding 0\.00, interest 1\.15/);
    expect(r.out).toMatch(/denied line 3: 48\.25 \(CO-97 /);
    expect(r.out).toMatch(/HC3 \(MEDICARE PART B\): paid; billed 147\.40, paid 91\.66, contractual 32\.83, patient owes 22\.91/);
    expect(r.out).toMatch(/5\. Secondary claims from the balances the payments left: 1\n {3}- HC6: professional claim to AETNA after the primary's payment, 147\.40 billed, ready/);
    expect(r.out).not.toMatch(/"level":30/);
    expect(readdirSync(outDir).sort()).toEqual([
      expect.stringMatching(/^837I_example-ch_000000001_\d{8}\.x12$/) as string, expect.stringMatching(/^837P_example-ch_000000002_\d{8}\.x12$/) as string,
      expect.stringMatching(/^837P_example-ch_000000003_\d{8}\.x12$/) as string, 'responses',
    ]);
    expect(readdirSync(join(outDir, 'responses', 'processed'))).toEqual(['payers-835-demo.x12']);
  }, 60_000);

  it('ingests an MLLP-framed dump', async () => {
    const framed = join(dir, 'capture.mllp');
    writeFileSync(framed, Buffer.concat([encodeFrame(dft({ controlId: 'FR-1', visit: 'VFR1' })), Buffer.from('\r\n'), encodeFrame(dft({ controlId: 'FR-2', visit: 'VFR2' }))]));
    const r = await run(['ingest', framed, '--json']);
    expect(JSON.parse(r.out)).toEqual({ messages: 2, processed: 2, duplicates: 0, errors: 0, rejected: 0, ignored: 0 });
  });

  it('reprocesses messages in error and says what is still failing', async () => {
    const r = await run(['messages', 'reprocess', '--status', 'error', '--json']);
    const body = JSON.parse(r.out) as { reprocessed: number; processed: number; stillFailing: number; results: { status: string; error: string }[] };
    expect(body).toMatchObject({ reprocessed: 1, processed: 0, stillFailing: 1 });
    expect(body.results[0]).toMatchObject({ status: 'error', error: 'FT1-11: is not a number' });
    expect(r.code).toBe(1);
  });

  it('sends files to a listener and prints each ACK', async () => {
    const { startTestService } = await import('./support/service');
    const svc = await startTestService(db.url);
    try {
      const file = join(dir, 'send.hl7');
      writeFileSync(file, dft({ controlId: 'SEND-1', visit: 'VS1' }).replace(/\r/g, '\n') + dft({ controlId: 'SEND-2', visit: 'VS2', charges: [{ amount: 'bad' }] }));
      const r = await run(['send', file, '--port', String(svc.mllpPort), '--json']);
      expect(JSON.parse(r.out)).toEqual([
        { file, ack: 'AA', controlId: 'SEND-1' },
        { file, ack: 'AE', controlId: 'SEND-2', error: 'is not a number' },
      ]);
      expect(r.code).toBe(1);
    } finally {
      await svc.stop();
    }
  });

  it('is scriptable: --json prints exactly one JSON document, logs go to stderr, exit codes 0/1/2/3, a closed pipe ends quietly', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PRACTICE_FILE: EXAMPLE_PRACTICE_FILE };
    delete env.LOG_LEVEL;
    const good = join(dir, 'script-good.hl7');
    writeFileSync(good, dft({ controlId: 'S-1', visit: 'VS1' }));
    const bad = join(dir, 'script-bad.hl7');
    writeFileSync(bad, dft({ controlId: 'S-2', visit: 'VS2', charges: [{ amount: 'x' }] }));
    const ok = await spawnCli(['ingest', good, '--json'], { env });
    expect(ok.code).toBe(0);
    expect(ok.out.endsWith('\n')).toBe(true);
    expect(JSON.parse(ok.out)).toEqual({ messages: 1, processed: 1, duplicates: 0, errors: 0, rejected: 0, ignored: 0 });
    // A one-shot command logs warnings and errors only (there are none here), and only on stderr.
    expect(ok.err).toBe('');
    // --verbose: the logs, on stderr; stdout is still the one document.
    const verbose = await spawnCli(['ingest', good, '--json', '--verbose'], { env });
    expect(JSON.parse(verbose.out)).toMatchObject({ duplicates: 1 });
    expect(verbose.err).toMatch(/"event":"database_ready"/);
    const failed = await spawnCli(['ingest', bad, '--json'], { env });
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.out)).toMatchObject({ errors: 1 });
    expect((await spawnCli(['ingest'], { env })).code).toBe(2);
    expect((await spawnCli(['no-such-command'], { env })).code).toBe(2);
    const down = await spawnCli(['claims', 'build', '--json'], { env: { ...env, DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/nowhere' } });
    expect(down).toMatchObject({ code: 3, out: '' });
    expect(down.err).toContain('database unreachable (127.0.0.1:1/nowhere)');
    expect(down.err).not.toContain('secret');
    // The reader goes away before the result is written (`... | head -0`): no EPIPE trace, exit 0.
    const closed = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', join(__dirname, 'support', 'ts-register.js'), join(__dirname, '..', 'src', 'cli.ts'), 'ingest', good, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) => { resolve({ code, err }); });
    });
    expect(closed).toEqual({ code: 0, err: '' });
  });

  it('refuses a bad configuration with a sentence', async () => {
    process.env.MLLP_PORT = 'abc';
    let err = '';
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    try {
      expect(await main(['db', 'migrate'])).toBe(2);
    } finally {
      spy.mockRestore();
      delete process.env.MLLP_PORT;
    }
    expect(err).toMatch(/Invalid configuration:\n {2}- MLLP_PORT/);
  });

  it('users add reads the password from stdin, --generate prints a one-time one; list and disable; refusals say why', async () => {
    const cli = (args: string[], stdin: string): ReturnType<typeof spawnCli> => spawnCli(args, { env: { ...process.env, LOG_LEVEL: 'warn' }, stdin });
    const added = await cli(['users', 'add', 'Staff.Admin@Example.org', '--role', 'admin', '--json'], 'correct horse battery staple\nignored second line\n');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.out)).toMatchObject({ email: 'staff.admin@example.org', role: 'admin', mustChangePassword: false });
    const [row] = await db.query<{ hash: string }>(`SELECT password_hash AS hash FROM staff_user WHERE email = 'staff.admin@example.org'`);
    expect(row?.hash).toMatch(/^scrypt\$32768\$8\$3\$/);
    expect(row?.hash).not.toContain('correct horse');

    const generated = await cli(['users', 'add', 'biller@example.org', '--role', 'biller', '--generate'], '');
    expect(generated.code).toBe(0);
    expect(generated.out).toMatch(/one-time password \(shown once; to be changed at first sign-in\): [A-Za-z0-9]{20}/);

    const short = await cli(['users', 'add', 'x@example.org', '--role', 'viewer'], 'short\n');
    expect(short.code).toBe(1);
    expect(short.err).toContain('at least 12 characters');
    const dup = await cli(['users', 'add', 'BILLER@example.org', '--role', 'viewer'], 'another long password\n');
    expect(dup.code).toBe(1);
    expect(dup.err).toContain('biller@example.org has an account already');
    const badRole = await cli(['users', 'add', 'z@example.org', '--role', 'owner'], 'another long password\n');
    expect(badRole.err).toContain('the role must be one of admin, biller, viewer');

    const disabled = await run(['users', 'disable', 'biller@example.org', '--json']);
    expect(JSON.parse(disabled.out)).toMatchObject({ email: 'biller@example.org', disabled: true });
    const list = await run(['users', 'list', '--json']);
    expect((JSON.parse(list.out) as { email: string; role: string; disabled: boolean }[]).map((u) => [u.email, u.role, u.disabled])).toEqual([
      ['biller@example.org', 'biller', true],
      ['staff.admin@example.org', 'admin', false],
    ]);
    const audit = await db.query<{ action: string; actor: string }>(`SELECT action, actor FROM audit_event WHERE action LIKE 'user.%' ORDER BY id`);
    expect(audit).toEqual([{ action: 'user.add', actor: 'cli' }, { action: 'user.add', actor: 'cli' }, { action: 'user.disable', actor: 'cli' }]);

    // A personal API token: printed once, listed without it, revoked by id.
    const made = await run(['users', 'token', 'staff.admin@example.org', '--name', 'nightly export', '--expires-days', '7', '--json']);
    expect(made.code).toBe(0);
    const token = JSON.parse(made.out) as { id: string; token: string; role: string; expiresAt: string };
    expect(token).toMatchObject({ role: 'admin', token: expect.stringMatching(/^hl7c_/) as string });
    const listed = await run(['users', 'tokens', '--json']);
    expect(listed.out).not.toContain(token.token);
    expect(JSON.parse(listed.out)).toEqual([expect.objectContaining({ id: token.id, name: 'nightly export', revoked: false })]);
    expect((await run(['users', 'token', 'staff.admin@example.org'])).code).toBe(2);
    expect((await run(['users', 'revoke-token', token.id, '--json'])).code).toBe(0);
    expect(JSON.parse((await run(['users', 'tokens', 'staff.admin@example.org', '--json'])).out)[0]).toMatchObject({ revoked: true });
    expect((await run(['users', 'revoke-token', '999999'])).code).toBe(1);
  });

  it('demo --keep fills the database `npm start` uses, work queue included', async () => {
    const outDir = join(dir, 'demo-keep-out');
    const r = await spawnCli(['demo', '--keep', '--out', outDir], { env: { ...process.env, DATABASE_URL: db.url } });
    expect(r.code).toBe(0);
    expect(r.out).toContain('kept in the DATABASE_URL database');
    expect(r.out).toMatch(/6\. The work queue: \d+ open item\(s\)/);
    expect(r.out).toMatch(/: denial, bundling, 48\.25 at stake/);
    expect(r.out).toContain('hl7-claims users add you@example.org --role admin');
    const kept = await db.query<{ kind: string }>(`SELECT kind FROM work_item WHERE closed_at IS NULL AND kind IN ('denial', 'held') AND amount IN (48.25, 125.00)`);
    expect(kept.map((k) => k.kind).sort()).toEqual(expect.arrayContaining(['denial', 'held']));
  });

  it('leaves no intake row without its parent', async () => {
    expect(await orphans(db)).toEqual([]);
  });
});
