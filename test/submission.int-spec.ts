import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { apiOf } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { practiceWith } from './support/practice';
import { era, payment, write835 } from './support/remit';
import { MllpClient } from './support/mllp-client';
import { startTestService, TEST_TOKEN } from './support/service';
import { SFTP_AVAILABLE, startSshd, type Sshd } from './support/sshd';

type Svc = Awaited<ReturnType<typeof startTestService>>;

function ack999(gs06: number, st02: number, code: 'A' | 'R'): string {
  const body = ['ST*999*0001*005010X231A1', `AK1*HC*${gs06}*005010X222A1`, `AK2*837*${String(st02).padStart(4, '0')}*005010X222A1`, `IK5*${code}`, `AK9*${code}*1*1*${code === 'A' ? 1 : 0}`];
  body.push(`SE*${body.length + 1}*0001`);
  return ['ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*HL7CLAIMS      *240109*1200*^*00501*000000777*0*T*:', 'GS*FA*CLEARHOUSE*HL7CLAIMS*20240109*1200*777*X*005010X231A1', ...body, 'GE*1*777', 'IEA*1*000000777'].join('~') + '~';
}

async function scenario(svc: Svc, db: TestDatabase, client: MllpClient, outbox: () => string[], readOut: (f: string) => Buffer, dropResponse: (name: string, text: string) => void, processed: () => string[], refused: () => string[], prefix: string): Promise<void> {
  const api = apiOf(() => svc.httpPort);
  for (let i = 1; i <= 3; i++) expect(await client.send(dft({ controlId: `${prefix}-${i}`, mrn: `${prefix}M${i}`, visit: `${prefix}V${i}`, charges: [{ amount: '100.00' }] }))).toMatch(/\rMSA\|AA\|/);
  // One run: the job builds (settled after 0 minutes here), batches, delivers.
  const run = await api('POST', '/api/submission/run');
  expect(run.status).toBe(200);
  expect(run.json.ran).toBe(true);
  expect(run.json.built).toMatchObject({ created: 3, ready: 3 });
  expect(run.json.batches).toHaveLength(1);
  const batch = run.json.batches[0] as { id: string; fileName: string; bytes: number; groupControlNumber: number };
  expect(run.json.deliveries).toEqual([{ batchId: batch.id, fileName: batch.fileName, delivered: true, replay: false, claimsSubmitted: 3 }]);
  expect(outbox()).toEqual([batch.fileName]);
  const stored = Buffer.from(await (await fetch(`http://127.0.0.1:${svc.httpPort}/api/batches/${batch.id}/file`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).arrayBuffer());
  expect(readOut(batch.fileName).equals(stored)).toBe(true);
  const submitted = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim WHERE batch_id = $1 AND status = 'submitted'`, [batch.id]);
  expect(submitted[0]?.n).toBe('3');

  // Replay: the same bytes under the same name, nothing created twice.
  const events = async (): Promise<string> => (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim_event e JOIN claim c ON c.id = e.claim_id WHERE c.batch_id = $1`, [batch.id]))[0]?.n ?? '';
  const before = await events();
  const replay = await api('POST', `/api/batches/${batch.id}/deliver`, { replay: true });
  expect(replay.json).toMatchObject({ delivered: true, replay: true, claimsSubmitted: 0 });
  expect(readOut(batch.fileName).equals(stored)).toBe(true);
  expect(await events()).toBe(before);
  expect((await api('GET', `/api/batches/${batch.id}`)).json).toMatchObject({ deliveries: 2, status: 'delivered' });
  expect((await api('POST', `/api/batches/${batch.id}/deliver`, {})).json).toMatchObject({ delivered: false });

  // Responses: a 999 accepting the batch and a file that is not X12.
  const [st] = (await db.query<{ st: number }>(`SELECT transaction_control_numbers[1] AS st FROM claim_batch WHERE id = $1`, [batch.id])) as { st: number }[];
  dropResponse('accept.999', ack999(batch.groupControlNumber, (st as { st: number }).st, 'A'));
  dropResponse('junk.txt', 'not an acknowledgement');
  const second = await api('POST', '/api/submission/run');
  expect(second.json.responses).toEqual([
    { file: 'accept.999', clearinghouse: 'example-ch', kind: '999', result: expect.objectContaining({ kind: '999', accepted: 3 }) },
    { file: 'junk.txt', clearinghouse: 'example-ch', refused: 'ISA: not an X12 interchange: it does not begin with an ISA segment' },
  ]);
  expect(processed()).toEqual(['accept.999']);
  expect(refused()).toEqual(['junk.txt']);
  const accepted = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim WHERE batch_id = $1 AND status = 'accepted'`, [batch.id]);
  expect(accepted[0]?.n).toBe('3');
  expect((await api('POST', '/api/submission/run')).json.responses).toEqual([]);

  // The payer's 835 for the three claims, and one cut short: posted, and refused (nothing posted).
  const claims = await db.query<{ id: string; patient_control_number: string; control_number: string }>(
    `SELECT c.id, c.patient_control_number, l.control_number FROM claim c JOIN claim_line l ON l.claim_id = c.id WHERE c.batch_id = $1 ORDER BY c.id`,
    [batch.id],
  );
  const remit = write835(era([payment(`${prefix}-EFT`, claims.map((c) => ({
    patientControlNumber: c.patient_control_number, status: '1', charge: '100.00', paid: '80.00', patient: { last: 'DOE' },
    services: [{ code: '99213', charge: '100.00', paid: '80.00', lineControlNumber: c.control_number, serviceDate: '2024-01-05', adjustments: [{ group: 'CO', reason: '45', amount: '20.00' }] }],
  })))]));
  dropResponse('payment.835', remit);
  dropResponse('short.835', remit.slice(0, remit.indexOf('SE*')));
  const third = await api('POST', '/api/submission/run');
  expect(third.json.responses).toEqual([
    { file: 'payment.835', clearinghouse: 'example-ch', kind: '835', remittance: expect.objectContaining({ transactions: 1, claimPayments: 3, matched: 3, unmatched: 0, paid: '240.00' }) },
    { file: 'short.835', clearinghouse: 'example-ch', kind: '835', remittance: expect.objectContaining({ refused: expect.any(Object) }), refused: expect.stringMatching(/SE missing$/) },
  ]);
  expect(processed()).toEqual(['accept.999', 'payment.835']);
  expect(refused()).toEqual(['junk.txt', 'short.835']);
  const paid = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim WHERE batch_id = $1 AND status = 'paid'`, [batch.id]);
  expect(paid[0]?.n).toBe('3');
}

describe('submission: delivery to a clearinghouse folder and its responses', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-ch-'));
  const outbox = join(dir, 'outbox');
  const responses = join(dir, 'responses');

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url, { PRACTICE_FILE: practiceWith({ type: 'directory', outbox, responses }, dir), CLAIMS_SETTLED_MINUTES: 0 });
    client = await MllpClient.connect(svc.mllpPort);
  });

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
  });

  it('builds, batches and delivers with an atomic rename; replays byte for byte; imports responses once', async () => {
    const list = (d: string): string[] => (existsSync(d) ? readdirSync(d).filter((f) => !f.startsWith('.')).sort() : []);
    await scenario(
      svc, db, client, () => list(outbox), (f) => readFileSync(join(outbox, f)),
      (name, text) => {
        mkdirSync(responses, { recursive: true });
        writeFileSync(join(responses, name), text);
      },
      () => list(join(responses, 'processed')), () => list(join(responses, 'refused')), 'DIR',
    );
    expect(readdirSync(outbox).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  // Instances share a PostgreSQL server; PGlite's one backend session cannot tell two holders apart.
  (process.env.HL7C_TEST_MODE === 'embedded' ? it.skip : it)('lets one instance at a time run the job (a PostgreSQL advisory lock)', async () => {
    const run = async (): Promise<{ ran: boolean }> =>
      (await fetch(`http://127.0.0.1:${svc.httpPort}/api/submission/run`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json() as Promise<{ ran: boolean }>;
    // Another instance holds the job's lock: this one does not run it.
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(727002)');
      expect(await run()).toMatchObject({ ran: false });
      await other.query('SELECT pg_advisory_unlock(727002)');
      expect(await run()).toMatchObject({ ran: true });
    } finally {
      await other.end();
    }
  });
});

(SFTP_AVAILABLE ? describe : describe.skip)('submission: delivery over SFTP to a real OpenSSH server on loopback', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  let sshd: Sshd;
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-sftp-'));
  const remote = join(dir, 'remote');
  const outbox = join(remote, 'inbound');
  const responses = join(remote, 'outbound');

  beforeAll(async () => {
    mkdirSync(outbox, { recursive: true });
    mkdirSync(responses, { recursive: true });
    sshd = await startSshd();
    db = await createTestDatabase();
    const delivery = { type: 'sftp', host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyFile: sshd.privateKeyFile, outbox, responses };
    svc = await startTestService(db.url, { PRACTICE_FILE: practiceWith(delivery, dir), CLAIMS_SETTLED_MINUTES: 0 });
    client = await MllpClient.connect(svc.mllpPort);
  }, 30_000);

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
    await sshd.stop();
  });

  it('delivers through SFTP (temporary name, then rename), replays, and fetches responses through it', async () => {
    const list = (d: string): string[] => (existsSync(d) ? readdirSync(d).filter((f) => !f.startsWith('.')).sort() : []);
    await scenario(
      svc, db, client, () => list(outbox).filter((f) => f !== 'processed'), (f) => readFileSync(join(outbox, f)),
      (name, text) => {
        writeFileSync(join(responses, name), text);
      },
      () => list(join(responses, 'processed')), () => list(join(responses, 'refused')), 'SFTP',
    );
  });
});
