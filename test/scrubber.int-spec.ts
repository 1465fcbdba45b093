import { gzipSync } from 'node:zlib';
import { ClaimsService } from '../src/modules/claims/claims.service';
import { CodeSetsService } from '../src/modules/scrubber/codesets.service';
import { apiOf } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { visitDft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { startTestService } from './support/service';

type Svc = Awaited<ReturnType<typeof startTestService>>;

/**
 * The scrubber through the service: charges arrive over MLLP, claims are built and scrubbed, a
 * held claim is fixed (a corrected birth date) or overridden and then batched; payer settings,
 * dry runs and imported code sets, on real PostgreSQL.
 */
describe('claim scrubber', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  const api = apiOf(() => svc.httpPort);
  const send = async (text: string): Promise<void> => {
    expect(await client.send(text)).toMatch(/\rMSA\|AA\|/);
  };
  const encounterOf = async (visit: string): Promise<string> => (await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [visit]))[0]?.id as string;
  const claimOf = async (visit: string): Promise<any> => {
    const [row] = await db.query<{ id: string }>(`SELECT c.id FROM claim c JOIN encounter e ON e.id = c.encounter_id WHERE e.visit_number = $1 AND c.status <> 'cancelled' ORDER BY c.id DESC`, [visit]);
    return (await api('GET', `/api/claims/${row?.id ?? '0'}`)).json;
  };
  const build = async (visit: string): Promise<any> => (await api('POST', '/api/claims/build', { encounterIds: [await encounterOf(visit)] })).json;
  const counts = async (): Promise<string> => JSON.stringify(await db.query(`SELECT (SELECT count(*) FROM claim_finding) AS f, (SELECT count(*) FROM claim_event) AS e, (SELECT count(*) FROM claim) AS c, (SELECT max(updated_at) FROM claim) AS u`));

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url);
    client = await MllpClient.connect(svc.mllpPort);
  });

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
  });

  it('shows line findings on an encounter\'s charges as they arrive, before any claim', async () => {
    await send(visitDft({ ctl: 'SC-1', mrn: 'SM1', visit: 'SV1', charges: [{ code: 'CHG99213', modifiers: ['26'] }, { code: 'X1', cpt: 'A9155', amount: '10.00' }] }));
    const enc = (await api('GET', `/api/encounters/${await encounterOf('SV1')}`)).json;
    expect(enc.charges.map((c: any) => c.findings.map((f: any) => f.ruleId))).toEqual([['modifier-pctc'], []]);
    // A9155 was terminated on 2025-03-31: valid on this 2024 date.
    expect(enc.charges[0].findings[0]).toMatchObject({ severity: 'error', loop: '2400 SV101-3', value: '26', carc: '4' });
    expect(await db.query(`SELECT id FROM claim`)).toEqual([]);
  });

  it('holds a claim with errors, names them, and a dry run changes nothing', async () => {
    const built = await build('SV1');
    expect(built).toMatchObject({ created: 1, held: 1, ready: 0 });
    const claim = await claimOf('SV1');
    expect(claim.status).toBe('held');
    expect(claim.findings.filter((f: any) => f.severity === 'error')).toEqual([
      expect.objectContaining({ ruleId: 'modifier-pctc', line: 1, loop: '2400 SV101-3', value: '26', carc: '4', overridden: null }),
    ]);
    expect(claim.history.at(-1)).toMatchObject({ to: 'held', reason: expect.stringMatching(/^scrubber: modifier-pctc line 1/) });
    expect(claim.scrubbedVersion).toBe(claim.version);

    const before = await counts();
    const dry = await api('POST', '/api/scrub', { claimIds: [claim.id], encounterIds: [await encounterOf('SV1')] });
    expect(dry.status).toBe(200);
    expect(dry.json.claims[0]).toMatchObject({ claimId: claim.id, status: 'held', wouldBe: 'held' });
    expect(dry.json.claims[0].findings.map((f: any) => f.ruleId)).toContain('modifier-pctc');
    expect(dry.json.encounters[0].claims[0].findings.map((f: any) => f.ruleId)).toContain('modifier-pctc');
    expect(await counts()).toBe(before);
  });

  it('releases an overridden claim and batches it; the override is kept with who and why', async () => {
    const claim = await claimOf('SV1');
    expect((await api('POST', `/api/claims/${claim.id}/overrides`, { ruleId: 'dx-billable', reason: 'nothing to override' })).status).toBe(400);
    expect((await api('POST', `/api/claims/${claim.id}/overrides`, { ruleId: 'modifier-pctc', line: 1 })).status).toBe(400);
    const o = await api('POST', `/api/claims/${claim.id}/overrides`, { ruleId: 'modifier-pctc', line: 1, value: '26', reason: 'payer contract allows 26 on this code' });
    expect(o.status).toBe(200);
    expect(o.json).toMatchObject({ claimId: claim.id, status: 'ready', errors: 0, overridden: 1 });
    const after = await claimOf('SV1');
    expect(after.findings.find((f: any) => f.ruleId === 'modifier-pctc').overridden).toMatchObject({ reason: 'payer contract allows 26 on this code', actor: 'api' });
    expect(after.history.at(-1)).toMatchObject({ from: 'held', to: 'ready', reason: 'scrubbed: no unresolved errors (1 overridden)' });
    // A second override of the same finding is kept too; the newest is the one shown.
    expect((await api('POST', `/api/claims/${claim.id}/overrides`, { ruleId: 'modifier-pctc', reason: 'confirmed with the payer rep' })).status).toBe(200);
    expect((await claimOf('SV1')).findings.find((f: any) => f.ruleId === 'modifier-pctc').overridden.reason).toBe('confirmed with the payer rep');
    expect((await claimOf('SV1')).overrides).toHaveLength(2);
    const batches = await api('POST', '/api/batches', {});
    expect(batches.status).toBe(200);
    expect(batches.json.batches.map((b: any) => b.claims)).toEqual([1]);
    expect((await claimOf('SV1')).status).toBe('batched');
    // A batched claim takes no more overrides.
    expect((await api('POST', `/api/claims/${claim.id}/overrides`, { ruleId: 'modifier-pctc', reason: 'again' })).status).toBe(409);
  });

  it('re-scrubs a claim when it changes: a corrected birth date releases a newborn code', async () => {
    // Z38.00 (a liveborn infant) on a patient the feed says was born in 1980: MCE perinatal age edit.
    await send(visitDft({ ctl: 'SC-2', mrn: 'SM2', visit: 'SV2', dg1: ['Z38.00'], charges: [{ code: 'CHG99213' }] }));
    await build('SV2');
    const held = await claimOf('SV2');
    expect(held.status).toBe('held');
    expect(held.findings.filter((f: any) => f.severity === 'error').map((f: any) => [f.ruleId, f.value, f.carc])).toEqual([['dx-age', 'Z3800', '9']]);
    // The next message carries the corrected birth date (PID-7 and IN1-18: born 2024-01-04) and one more charge.
    await send(visitDft({ ctl: 'SC-4', mrn: 'SM2', visit: 'SV2', dg1: ['Z38.00'], charges: [{ code: 'CHG36415' }] }).replaceAll('19800214', '20240104'));
    await build('SV2');
    const ready = await claimOf('SV2');
    expect(ready.id).toBe(held.id);
    expect(ready.version).toBeGreaterThan(held.version);
    expect(ready.status).toBe('ready');
    expect(ready.findings.filter((f: any) => f.severity === 'error')).toEqual([]);
    // The first version's findings are kept.
    expect(await db.query(`SELECT DISTINCT claim_version FROM claim_finding WHERE claim_id = $1 ORDER BY 1`, [held.id])).toEqual([{ claim_version: held.version }, { claim_version: ready.version }]);
  });

  it('applies payer settings: a rule turned off or its parameters changed re-scrubs unbatched claims', async () => {
    const rules = (await api('GET', '/api/rules')).json.items;
    expect(rules.length).toBeGreaterThanOrEqual(30);
    expect(rules.find((r: any) => r.id === 'timely-filing')).toMatchObject({ severity: 'error', carc: '29', params: { days: 365, warnDays: 30 }, carcDescription: expect.stringMatching(/time limit/i) });

    // 2023-06-01 is 223 days before the suites' scrub date: within 365 days, past a 90-day payer window.
    await send(visitDft({ ctl: 'SC-5', mrn: 'SM3', visit: 'SV3', charges: [{ code: 'CHG99213', date: '20230601' }] }));
    await build('SV3');
    expect((await claimOf('SV3')).status).toBe('ready');
    const payer = (await claimOf('SV3')).payerId as string;
    const patch = await api('PATCH', '/api/rules/timely-filing', { payerId: payer, params: { days: 90 } });
    expect(patch.status).toBe(200);
    expect(patch.json.rescrubbed).toBeGreaterThan(0);
    expect(patch.json.rule.settings).toEqual([expect.objectContaining({ payerId: payer, params: { days: 90 } })]);
    const late = await claimOf('SV3');
    expect(late.status).toBe('held');
    expect(late.findings.find((f: any) => f.ruleId === 'timely-filing')).toMatchObject({ severity: 'error', message: expect.stringMatching(/90-day filing limit/) });
    expect((await api('PATCH', '/api/rules/timely-filing', { payerId: payer, params: { days: 'ninety' } })).status).toBe(400);
    expect((await api('PATCH', '/api/rules/no-such-rule', { enabled: false })).status).toBe(404);
    expect((await api('PATCH', '/api/rules/timely-filing', { payerId: payer, enabled: false })).status).toBe(200);
    expect((await claimOf('SV3')).status).toBe('ready');

    const summary = (await api('GET', '/api/scrub/summary')).json.items;
    expect(summary).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: 'dx-year-loaded', severity: 'warning' })]));
    expect(summary.some((s: any) => s.ruleId === 'timely-filing')).toBe(false);
  });

  it('imports a customer\'s NCCI file once, all or nothing, and the rules use it', async () => {
    const ncci = ['Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable', '99213\t36415\t\t20100101\t*\t0', ''].join('\n');
    const codeSets = svc.app.get(CodeSetsService);
    // The embedded database is shared by the suites: count this suite's rows, and remove them after.
    const ncciRows = async (): Promise<unknown[]> => db.query(`SELECT id FROM codeset_import WHERE kind = 'ncci'`);
    await expect(codeSets.import('ncci', { name: 'bad.txt', content: Buffer.from(ncci.replace('\t0', '\t5')) }, undefined, 'test')).rejects.toThrow(/bad.txt line 2: modifier indicator "5"/);
    expect(await ncciRows()).toEqual([]);
    const first = await codeSets.import('ncci', { name: 'ccipra.txt.gz', content: gzipSync(ncci) }, '2024Q1', 'test');
    try {
      expect(first).toMatchObject({ kind: 'ncci', rows: 1, created: true });
      expect(await codeSets.import('ncci', { name: 'ccipra.txt.gz', content: gzipSync(ncci) }, '2024Q1', 'test')).toMatchObject({ id: first.id, created: false });
      expect(await ncciRows()).toHaveLength(1);

      await send(visitDft({ ctl: 'SC-6', mrn: 'SM4', visit: 'SV4', charges: [{ code: 'CHG99213' }, { code: 'CHG36415' }] }));
      await svc.app.get(ClaimsService).build({ encounterIds: [await encounterOf('SV4')], actor: 'test' });
      const claim = await claimOf('SV4');
      expect(claim.findings.filter((f: any) => f.ruleId === 'ncci-pair')).toEqual([expect.objectContaining({ line: 2, value: '36415', carc: '97' })]);
      expect((await api('GET', '/api/codesets')).json.imports).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'ncci', label: '2024Q1', rows: 1 })]));
    } finally {
      await db.query(`DELETE FROM codeset_import WHERE id = $1`, [first.id]);
    }
  });

  it('of two visits billing the same service on the same day, built together, holds the later one only', async () => {
    await send(visitDft({ ctl: 'SC-D1', mrn: 'SMD', visit: 'SVD1', charges: [{ code: 'CHG99213' }] }));
    await send(visitDft({ ctl: 'SC-D2', mrn: 'SMD', visit: 'SVD2', charges: [{ code: 'CHG99213' }] }));
    const built = (await api('POST', '/api/claims/build', { encounterIds: [await encounterOf('SVD1'), await encounterOf('SVD2')] })).json;
    expect(built).toMatchObject({ created: 2, ready: 1, held: 1 });
    const dup = (c: any): any[] => c.findings.filter((f: any) => f.ruleId === 'duplicate-lines');
    const [first, second] = [await claimOf('SVD1'), await claimOf('SVD2')];
    expect([first.status, dup(first)]).toEqual(['ready', []]);
    expect(second.status).toBe('held');
    expect(dup(second)).toEqual([expect.objectContaining({ severity: 'error', line: 1, carc: '18' })]);
  });
});
