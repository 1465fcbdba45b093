import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { ClaimsRepository, statusesToRebuild } from '../src/modules/claims/claims.repository';
import { ClaimsService } from '../src/modules/claims/claims.service';
import { readPracticeSetup } from '../src/modules/practice/practice.setup';
import { BatchesService } from '../src/modules/submission/batches.service';
import { EXAMPLE_PRACTICE_FILE } from '../src/modules/practice/practice.service';
import { createTestDatabase, type TestDatabase } from './support/db';
import { professionalClaim } from './support/claims';
import { dft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { startTestService } from './support/service';

/**
 * Two service processes creating batches at the same moment from the same ready claims: every
 * claim lands in exactly one file, and ISA13, GS06 and ST02 are never used twice. (A real server
 * only: PGlite is one process.)
 */
(process.env.HL7C_TEST_MODE === 'embedded' ? describe.skip : describe)('batch creation from two processes at once', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The service loads the practice setup (and migrations are in the template already).
    const svc = await startTestService(db.url);
    await svc.stop();
    expect(readPracticeSetup(EXAMPLE_PRACTICE_FILE).payers.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await db.drop();
  });

  it('splits 3,000 ready claims between two processes without a claim or a control number twice', async () => {
    const [ids] = await db.query<{ payer: string; provider: string; facility: string }>(
      `SELECT (SELECT id FROM practice_payer WHERE key = 'bcbsil') AS payer, (SELECT id FROM practice_billing_provider WHERE key = 'stmary-cardiology') AS provider,
              (SELECT id FROM practice_facility WHERE key = 'cardiology-clinic') AS facility`,
    );
    const [p] = await db.query<{ id: string }>(`INSERT INTO patient (patient_key, mrn) VALUES ('CONC', 'CONC') RETURNING id`);
    const [e] = await db.query<{ id: string }>(`INSERT INTO encounter (encounter_key, key_source, patient_id) VALUES ('CONC', 'visit', $1) RETURNING id`, [p?.id]);
    await db.query(
      `INSERT INTO claim (patient_control_number, encounter_id, patient_id, payer_id, billing_provider_id, facility_id, claim_type, status, total_charge, service_from, service_to, payload, scrubbed_version)
       SELECT 'K' || g, $2, $3, $4, $5, $6, 'professional', 'ready', 247.50, '2024-01-05', '2024-01-05', jsonb_set($1::jsonb, '{patientControlNumber}', to_jsonb('K' || g)), 1
         FROM generate_series(1, 3000) AS g`,
      [JSON.stringify(professionalClaim()), e?.id, p?.id, ids?.payer, ids?.provider, ids?.facility],
    );
    const worker = (): Promise<{ batches: { id: string; claims: number; interchangeControlNumber: number; groupControlNumber: number }[] }> =>
      new Promise((resolve, reject) => {
        const child = fork(join(__dirname, 'bench', 'batch-child.ts'), [], { execArgv: ['-r', join(__dirname, 'support', 'ts-register.js')] });
        child.once('message', (m) => {
          resolve(m as never);
        });
        child.once('error', reject);
        child.send({ url: db.url });
      });
    const [a, b] = await Promise.all([worker(), worker()]);
    const batches = [...a.batches, ...b.batches];
    expect(batches.reduce((n, x) => n + x.claims, 0)).toBe(3000);
    const isa = batches.map((x) => x.interchangeControlNumber);
    const gs = batches.map((x) => x.groupControlNumber);
    expect(new Set(isa).size).toBe(isa.length);
    expect(new Set(gs).size).toBe(gs.length);
    const twice = await db.query(`SELECT id FROM claim WHERE patient_control_number LIKE 'K%' AND (batch_id IS NULL OR status <> 'batched')`);
    expect(twice).toEqual([]);
    const st = await db.query<{ n: string; distinct: string }>(`SELECT count(*)::text AS n, count(DISTINCT s)::text AS distinct FROM claim_batch, unnest(transaction_control_numbers) AS s`);
    expect(st[0]?.n).toBe(st[0]?.distinct);
  }, 60_000);
});

/**
 * A build rebuilding an encounter's ready claim while a batch takes that claim: the batch must
 * not wait for the build's lock on the encounter (its foreign-key checks), or the two deadlock
 * (the soak found it: 40P01 at 500 messages a second).
 */
(process.env.HL7C_TEST_MODE === 'embedded' ? describe.skip : describe)('a build and a batch on the same claim at once', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url);
  });

  afterAll(async () => {
    await svc.stop();
    await db.drop();
  });

  it('does not deadlock: the batch takes the claim, the build goes on after it', async () => {
    const client = await MllpClient.connect(svc.mllpPort);
    expect(await client.send(dft({ controlId: 'DL-1', mrn: 'DLM1', visit: 'DLV1', charges: [{ amount: '100.00' }] }))).toMatch(/\rMSA\|AA\|/);
    await client.close();
    const claims = svc.app.get(ClaimsService);
    expect(await claims.build({ actor: 'test' })).toMatchObject({ created: 1, ready: 1 });
    const [c] = await db.query<{ id: string; encounter_id: string }>(`SELECT id, encounter_id FROM claim`);
    const runner = svc.db.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      // The builder's first step: the encounter locked, as ClaimsService.build does.
      await svc.app.get(ClaimsRepository).bundle(runner.manager, c?.encounter_id as string, statusesToRebuild(false));
      const batching = svc.app.get(BatchesService).create({ actor: 'test' });
      await new Promise((r) => setTimeout(r, 1_500));
      // The builder's next write to that claim (saveDrafts updates it).
      await runner.query(`UPDATE claim SET updated_at = now() WHERE id = $1`, [c?.id]);
      await runner.commitTransaction();
      // The batch passed by the claim the build held; the next one takes it.
      expect(await batching).toEqual([]);
      expect((await svc.app.get(BatchesService).create({ actor: 'test' })).map((b) => b.claims)).toEqual([1]);
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  }, 30_000);

  it('does not bill twice: a claim a batch took while a build waited stays batched, its charges on it alone', async () => {
    const client = await MllpClient.connect(svc.mllpPort);
    expect(await client.send(dft({ controlId: 'DL-2', mrn: 'DLM2', visit: 'DLV2', charges: [{ amount: '100.00' }] }))).toMatch(/\rMSA\|AA\|/);
    await client.close();
    const claims = svc.app.get(ClaimsService);
    expect(await claims.build({ actor: 'test' })).toMatchObject({ created: 1 });
    const [c] = await db.query<{ id: string; encounter_id: string }>(`SELECT id, encounter_id FROM claim WHERE status = 'ready'`);
    // A batch in flight: the claim taken and marked, not yet committed.
    const batch = new Client({ connectionString: db.url });
    await batch.connect();
    try {
      await batch.query('BEGIN');
      await batch.query(`UPDATE claim SET status = 'batched', updated_at = now() WHERE id = $1`, [c?.id]);
      // The job's build, meanwhile (the claim is ready as far as it can see).
      const building = claims.build({ actor: 'test' });
      await new Promise((r) => setTimeout(r, 1_500));
      await batch.query('COMMIT');
      await building;
    } finally {
      await batch.end();
    }
    const after = await db.query<{ id: string; status: string }>(`SELECT id, status FROM claim WHERE encounter_id = $1 ORDER BY id`, [c?.encounter_id]);
    expect(after).toEqual([{ id: c?.id, status: 'batched' }]);
    const charges = await db.query<{ claim_id: string }>(`SELECT claim_id FROM charge WHERE encounter_id = $1`, [c?.encounter_id]);
    expect(charges).toEqual([{ claim_id: c?.id }]);
  }, 30_000);
});
