import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClaimsService } from '../src/modules/claims/claims.service';
import { IntakeService } from '../src/modules/intake/intake.service';
import { BatchesService, type ControlNumberSource } from '../src/modules/submission/batches.service';
import { readX12, el } from '../src/lib/x12';
import { demoRemittance } from '../src/demo';
import { ClaimsRepository, type ClaimDetail } from '../src/modules/claims/claims.repository';
import { RemittanceService } from '../src/modules/remittance/remittance.service';
import { bufferSource } from '../src/modules/remittance/source';
import { createTestDatabase, type TestDatabase } from './support/db';
import { startTestService } from './support/service';

type Svc = Awaited<ReturnType<typeof startTestService>>;

const GOLDEN = join(__dirname, '..', 'fixtures', 'x12', 'golden');
const FEED = join(__dirname, '..', 'fixtures', 'demo', 'feed.hl7');

/**
 * The demo feed through the whole service (intake, claim building, batching) with the clock and
 * the control numbers injected: the 837 files must equal the reviewed ones byte for byte
 * (UPDATE_GOLDEN=1 rewrites them; validate new ones with pyx12 before committing).
 */
describe('837 files from a fixture feed (golden)', () => {
  let db: TestDatabase;
  let svc: Svc;

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url);
  });

  afterAll(async () => {
    await svc.stop();
    await db.drop();
  });

  it('writes the reviewed 837P and 837I for fixtures/demo/feed.hl7', async () => {
    const ingest = await svc.app.get(IntakeService).ingestBytes(readFileSync(FEED), { source: 'file', charset: 'utf-8' });
    expect(ingest.summary).toMatchObject({ messages: 5, processed: 5 });
    expect(await svc.app.get(ClaimsService).build({ actor: 'test' })).toMatchObject({ encounters: 5, ready: 4, held: 1 });
    const next = { interchange: 101, group: 201, transaction: 301 };
    const numbers: ControlNumberSource = (kind, count) => Promise.resolve(Array.from({ length: count }, () => next[kind]++));
    const batches = svc.app.get(BatchesService);
    const created = await batches.create({ actor: 'test', now: () => new Date('2024-01-08T15:04:00Z'), controlNumbers: numbers });
    expect(created.map((b) => [b.claimType, b.claims])).toEqual([['institutional', 1], ['professional', 3]]);
    for (const b of created) {
      const parts: Buffer[] = [];
      for await (const p of batches.file(b.id)) parts.push(p);
      const text = Buffer.concat(parts).toString('latin1');
      const file = join(GOLDEN, `demo-${b.claimType}.837`);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
      expect(text).toBe(readFileSync(file, 'latin1'));
      const segments = await readX12(text);
      expect(segments.filter((s) => s.id === 'CLM')).toHaveLength(b.claims);
      expect(el(segments[0] as never, 13)).toBe(String(b.interchangeControlNumber).padStart(9, '0'));
    }

    // The demo's payers answer (its 835); the Medicare claim's coinsurance goes to the patient's
    // second insurance: the secondary claim's 837 is reviewed too.
    await db.query(`UPDATE claim SET status = 'submitted' WHERE status = 'batched'`);
    const repo = svc.app.get(ClaimsRepository);
    const sent = await Promise.all((await db.query<{ id: string }>(`SELECT id FROM claim WHERE status = 'submitted' ORDER BY id`)).map(async (r) => (await repo.get(r.id)) as ClaimDetail));
    const era = demoRemittance(sent);
    const golden835 = join(GOLDEN, 'demo-payers.835');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden835, era, 'latin1');
    expect(era).toBe(readFileSync(golden835, 'latin1'));
    const posted = await svc.app.get(RemittanceService).import(bufferSource(Buffer.from(era, 'latin1'), 'demo-payers.835'), { actor: 'test' });
    expect(posted).toMatchObject({ transactions: 3, claimPayments: 4, matched: 4, unbalanced: 0 });
    const secondary = await batches.create({ actor: 'test', now: () => new Date('2024-02-02T09:30:00Z'), controlNumbers: numbers });
    expect(secondary.map((b) => [b.claimType, b.claims])).toEqual([['professional', 1]]);
    const parts: Buffer[] = [];
    for await (const p of batches.file((secondary[0] as { id: string }).id)) parts.push(p);
    const text = Buffer.concat(parts).toString('latin1');
    const file = join(GOLDEN, 'demo-secondary.837');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'latin1'));
  });
});
