import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClaimsService } from '../src/modules/claims/claims.service';
import { IntakeService } from '../src/modules/intake/intake.service';
import { BatchesService, type ControlNumberSource } from '../src/modules/submission/batches.service';
import { readX12, el } from '../src/lib/x12';
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
  });
});
