import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDecimal, compareDecimal } from '../src/lib/decimal';
import { readX12, write837File, el, type Claim837 } from '../src/lib/x12';
import { apiOf } from './support/api';
import { orphans } from './support/integrity';
import { createTestDatabase, type TestDatabase } from './support/db';
import { batchOptions } from './support/claims';
import { visitDft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { startTestService, TEST_TOKEN } from './support/service';

type Svc = Awaited<ReturnType<typeof startTestService>>;

describe('claims built from encounters', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  /** The batches this suite created (the embedded database is shared with other suites). */
  const batchIds: string[] = [];
  const api = apiOf(() => svc.httpPort);
  const send = async (text: string): Promise<void> => {
    const ack = await client.send(text);
    expect(ack).toMatch(/\rMSA\|AA\|/);
  };
  const encounterOf = async (visit: string): Promise<string> => {
    const r = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [visit]);
    return (r[0] as { id: string }).id;
  };
  const claimsOf = async (visit: string): Promise<any[]> => {
    const ids = await db.query<{ id: string }>(`SELECT c.id FROM claim c JOIN encounter e ON e.id = c.encounter_id WHERE e.visit_number = $1 AND c.status <> 'cancelled' ORDER BY c.part`, [visit]);
    return Promise.all(ids.map(async (r) => (await api('GET', `/api/claims/${r.id}`)).json));
  };

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

  it('builds a ready professional claim with lines, pointers, rendering provider and history, and it writes as valid 837P', async () => {
    await send(visitDft({
      ctl: 'P-1', mrn: 'M1', visit: 'VP1', dg1: ['I25.10', 'E78.5'],
      charges: [
        { code: 'CHG99214', dx: ['I25.10', 'E78.5'], modifiers: ['25'] }, // priced from the chargemaster
        { code: 'X', cpt: '93000', amount: '62.50', dx: ['I25.10'] },
        { code: 'CHGJ1885', ndc: '0409-3795-01' },
      ],
    }));
    const built = await api('POST', '/api/claims/build', { encounterIds: [await encounterOf('VP1')] });
    expect(built.status).toBe(200);
    expect(built.json).toMatchObject({ encounters: 1, created: 1, ready: 1, held: 0 });
    const [claim] = await claimsOf('VP1');
    expect(claim).toMatchObject({ status: 'ready', claimType: 'professional', payerId: '00621', totalCharge: '269.90', diagnoses: ['I2510', 'E785'], problems: [] });
    expect(claim.patientControlNumber).toMatch(/^HC\d+$/);
    expect(claim.lines.map((l: any) => [l.procedureCode, l.modifiers, l.charge, l.diagnosisPointers, l.ndc])).toEqual([
      ['99214', ['25'], '185.00', [1, 2], null],
      ['93000', [], '62.50', [1], null],
      ['J1885', [], '22.40', [1, 2], '00409379501'],
    ]);
    expect(new Set(claim.lines.map((l: any) => l.controlNumber)).size).toBe(3);
    expect(claim.history).toEqual([expect.objectContaining({ from: null, to: 'ready', reason: 'built', actor: 'api' })]);
    // The stored claim is what the batch writes: read it back from its own 837.
    const [row] = await db.query<{ payload: Claim837 }>(`SELECT payload FROM claim WHERE id = $1`, [claim.id]);
    const payload = (row as { payload: Claim837 }).payload;
    expect(payload.subscriber.last).toBe('ZOLLNER'); // transliterated for X12
    expect(payload.rendering?.npi).toBe('1987654328');
    const segments = await readX12(write837File(batchOptions('professional'), [payload]).text);
    expect(el(segments.find((s) => s.id === 'CLM') as never, 1)).toBe(claim.patientControlNumber);
    expect(segments.filter((s) => s.id === 'REF' && el(s, 1) === '6R').map((s) => el(s, 2))).toEqual(claim.lines.map((l: any) => l.controlNumber));
    const charges = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM charge WHERE claim_id = $1`, [claim.id]);
    expect(charges[0]?.n).toBe('3');
  });

  it('holds a claim with reasons naming the field, and a fix through the feed makes the same claim ready', async () => {
    await send(visitDft({ ctl: 'H-1', mrn: 'M2', visit: 'VH1', in1: { member: '' }, charges: [{ code: 'X', cpt: '99213', amount: '95.00' }, { code: 'NOPRICE', cpt: '36415' }] }));
    await api('POST', '/api/claims/build', { encounterIds: [await encounterOf('VH1')] });
    const [held] = await claimsOf('VH1');
    expect(held.status).toBe('held');
    expect(held.problems).toEqual(expect.arrayContaining([
      { field: 'IN1-36 member id', loop: '2010BA NM1-09', message: 'is missing' },
      { field: 'FT1[2] H-1-2 FT1-11 amount', loop: '2400 SV1-02/SV2-03', message: 'has no amount and the chargemaster prices none' },
    ]));
    expect(held.history[0]).toMatchObject({ to: 'held', reason: expect.stringContaining('IN1-36 member id') });

    // The feed sends the member id and reverses the unpriced charge; building again updates the claim in place.
    await send(visitDft({ ctl: 'H-2', mrn: 'M2', visit: 'VH1', charges: [{ code: 'X', cpt: '90471', amount: '20.00' }] }));
    await db.query(`UPDATE charge SET status = 'reversed' WHERE transaction_id = 'H-1-2'`);
    const again = await api('POST', '/api/claims/build', { encounterIds: [await encounterOf('VH1')] });
    expect(again.json).toMatchObject({ created: 0, updated: 1, ready: 1 });
    const [ready] = await claimsOf('VH1');
    expect(ready.id).toBe(held.id);
    expect(ready.patientControlNumber).toBe(held.patientControlNumber);
    expect(ready).toMatchObject({ status: 'ready', problems: [], totalCharge: '115.00' });
    expect(ready.history.map((h: any) => [h.from, h.to])).toEqual([[null, 'held'], ['held', 'ready']]);
  });

  it('names an unmapped payer and bills a dependent with the patient loop', async () => {
    await send(visitDft({ ctl: 'U-1', mrn: 'M3', visit: 'VU1', in1: { payer: 'NOBODY' }, charges: [{ code: 'X', cpt: '99213', amount: '95.00' }] }));
    await send(visitDft({ ctl: 'D-1', mrn: 'M4', visit: 'VD1', in1: { relationship: 'CHD', insured: 'ZÖLLNER^PETER', insuredDob: '19750101' }, charges: [{ code: 'X', cpt: '99213', amount: '95.00' }] }));
    await api('POST', '/api/claims/build', {});
    const [unmapped] = await claimsOf('VU1');
    expect(unmapped.status).toBe('held');
    expect(unmapped.problems).toContainEqual({ field: 'IN1-3 "NOBODY" / IN1-2 "PLAN1"', loop: '2010BB NM1-09', message: 'matches no payer in the practice setup (payers[].hl7Ids)' });
    const [dependent] = await claimsOf('VD1');
    expect(dependent.status).toBe('ready');
    const [row] = await db.query<{ payload: Claim837 }>(`SELECT payload FROM claim WHERE id = $1`, [dependent.id]);
    const payload = (row as { payload: Claim837 }).payload;
    expect(payload.patient).toMatchObject({ last: 'ZOLLNER', first: 'JANE', relationship: '19' });
    expect(payload.subscriber).toMatchObject({ last: 'ZOLLNER', first: 'PETER', birthDate: '1975-01-01', memberId: 'MEM123456' });
  });

  it('builds an institutional inpatient claim from revenue codes, with admission, discharge status and PCS procedures', async () => {
    await send(visitDft({
      ctl: 'I-1', mrn: 'M5', visit: 'VI1', facility: 'MAIN HOSPITAL', patientClass: 'I', dg1: ['I21.4', 'I10'], pr1: ['4A023N7'],
      pv1Extra: { admit: '20240103143000', discharge: '20240106110000', disposition: '01', admitType: 'E' },
      charges: [{ code: 'CHG99214' }, { code: 'CHG93000' }],
    }));
    await api('POST', '/api/claims/build', { encounterIds: [await encounterOf('VI1')] });
    const [claim] = await claimsOf('VI1');
    expect(claim).toMatchObject({ status: 'ready', claimType: 'institutional', totalCharge: '247.50', problems: [] });
    expect(claim.lines.map((l: any) => [l.revenueCode, l.procedureCode])).toEqual([['0510', '99214'], ['0730', '93000']]);
    const [row] = await db.query<{ payload: Claim837 }>(`SELECT payload FROM claim WHERE id = $1`, [claim.id]);
    expect((row as { payload: Claim837 }).payload.institutional).toMatchObject({
      typeOfBill: '0111', statementFrom: '2024-01-03', statementTo: '2024-01-06', admission: { date: '2024-01-03', hour: '1430' }, admissionType: '1',
      dischargeStatus: '01', procedures: [{ code: '4A023N7', date: '2024-01-04' }], attending: { npi: '1987654328' }, operating: { last: 'CHASE', npi: '1765432103' },
    });
  });

  it('splits a professional encounter at 50 lines, and two builders at once never bill a charge twice', async () => {
    // One visit a day (the same code twice on a day would be a duplicate line the scrubber holds).
    const day = (i: number): string => new Date(Date.UTC(2023, 10, 1 + i)).toISOString().slice(0, 10).replaceAll('-', '');
    const charges = Array.from({ length: 55 }, (_, i) => ({ code: 'X', cpt: '99213', amount: `${i + 1}.00`, date: day(i) }));
    await send(visitDft({ ctl: 'S-1', mrn: 'M6', visit: 'VS1', charges }));
    const encounter = await encounterOf('VS1');
    const results = await Promise.all([api('POST', '/api/claims/build', { encounterIds: [encounter] }), api('POST', '/api/claims/build', { encounterIds: [encounter] })]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const parts = await claimsOf('VS1');
    expect(parts.map((c) => [c.part, c.lines.length, c.status])).toEqual([[1, 50, 'ready'], [2, 5, 'ready']]);
    const perCharge = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM claim_line l JOIN claim c ON c.id = l.claim_id JOIN encounter e ON e.id = c.encounter_id, unnest(l.charge_ids) AS ch
        WHERE e.visit_number = 'VS1' AND c.status <> 'cancelled' GROUP BY ch HAVING count(*) > 1`,
    );
    expect(perCharge).toEqual([]);
    const total = parts.reduce((s: string, c: { totalCharge: string }) => addDecimal(s, c.totalCharge), '0');
    expect(compareDecimal(total, charges.reduce((s, c) => addDecimal(s, c.amount), '0'))).toBe(0); // 1 + 2 + ... + 55 = 1540.00
  });

  it('batches ready claims into one file per clearinghouse and claim type, stored byte for byte, and never batches a claim twice', async () => {
    const ready = await db.query<{ id: string; claim_type: string }>(
      `SELECT c.id, c.claim_type FROM claim c JOIN encounter e ON e.id = c.encounter_id WHERE c.status = 'ready' AND e.visit_number LIKE 'V%' ORDER BY c.id`,
    );
    expect(ready.length).toBeGreaterThan(3);
    // Two creators at once (two instances): SKIP LOCKED splits the claims, no claim is in two files.
    const [a, b] = await Promise.all([api('POST', '/api/batches', {}), api('POST', '/api/batches', {})]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const batches = [...a.json.batches, ...b.json.batches];
    batchIds.push(...batches.map((x: { id: string }) => x.id));
    expect(batches.reduce((n: number, x: { claims: number }) => n + x.claims, 0)).toBe(ready.length);
    const isa = batches.map((x: { interchangeControlNumber: number }) => x.interchangeControlNumber);
    expect(new Set(isa).size).toBe(isa.length);
    const inFiles: string[] = [];
    for (const batch of batches) {
      const res = await fetch(`http://127.0.0.1:${svc.httpPort}/api/batches/${batch.id}/file`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      const text = await res.text();
      expect(Buffer.byteLength(text)).toBe(batch.bytes);
      // For checking with an independent validator (pyx12): HL7C_X12_DUMP=<folder> keeps the files.
      if (process.env.HL7C_X12_DUMP) writeFileSync(join(process.env.HL7C_X12_DUMP, batch.fileName), text);
      const segments = await readX12(text);
      expect(el(segments[0] as never, 13)).toBe(String(batch.interchangeControlNumber).padStart(9, '0'));
      expect(el(segments.find((s) => s.id === 'GS') as never, 8)).toBe(batch.claimType === 'professional' ? '005010X222A1' : '005010X223A2');
      const pcns = segments.filter((s) => s.id === 'CLM').map((s) => el(s, 1));
      expect(pcns).toHaveLength(batch.claims);
      inFiles.push(...pcns);
      const detail = await api('GET', `/api/batches/${batch.id}`);
      expect(detail.json).toMatchObject({ claims: batch.claims, bytes: batch.bytes, status: 'created' });
    }
    expect(new Set(inFiles).size).toBe(ready.length);
    const after = await db.query<{ status: string; n: string }>(`SELECT status, count(*)::text AS n FROM claim WHERE id = ANY($1::bigint[]) GROUP BY status`, [ready.map((r) => r.id)]);
    expect(after).toEqual([{ status: 'batched', n: String(ready.length) }]);
    const history = await api('GET', `/api/claims/${(ready[0] as { id: string }).id}`);
    expect(history.json.history.at(-1)).toMatchObject({ from: 'ready', to: 'batched', reason: expect.stringMatching(/^in batch \d+ \(ISA13 \d{9}\)$/) });
    expect((await api('POST', '/api/batches', {})).json).toEqual({ batches: [] });
  });

  it('applies 999 and 277CA acknowledgements: statuses, reasons in plain words, payer claim numbers, each file once', async () => {
    const batches = await db.query<{ id: string; claim_type: string; group_control_number: number; transaction_control_numbers: number[] }>(
      `SELECT id, claim_type, group_control_number, transaction_control_numbers FROM claim_batch WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [batchIds],
    );
    const prof = batches.find((b) => b.claim_type === 'professional') as (typeof batches)[number];
    const inst = batches.find((b) => b.claim_type === 'institutional') as (typeof batches)[number];
    const post = async (text: string): Promise<{ status: number; json: any }> => {
      const res = await fetch(`http://127.0.0.1:${svc.httpPort}/api/acknowledgements?fileName=ack.x12`, {
        method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/edi-x12' }, body: text,
      });
      return { status: res.status, json: await res.json() };
    };
    const ack999 = (gs06: number, version: string, sets: { st: number; ik5: string; errors?: string[] }[], ak9: string): string => {
      const body = [`ST*999*0001*005010X231A1`, `AK1*HC*${gs06}*${version}`];
      for (const s of sets) body.push(`AK2*837*${String(s.st).padStart(4, '0')}*${version}`, ...(s.errors ?? []), `IK5*${s.ik5}`);
      body.push(`AK9*${ak9}*${sets.length}*${sets.length}*${sets.filter((s) => s.ik5 !== 'R').length}`);
      body.push(`SE*${body.length + 1}*0001`);
      return [`ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*HL7CLAIMS      *240109*1200*^*00501*000000901*0*T*:`, `GS*FA*CLEARHOUSE*HL7CLAIMS*20240109*1200*901*X*005010X231A1`, ...body, 'GE*1*901', 'IEA*1*000000901'].join('~\n') + '~\n';
    };

    const rejected = await post(ack999(inst.group_control_number, '005010X223A2', [{ st: inst.transaction_control_numbers[0] as number, ik5: 'R*5', errors: ['IK3*CL1*12*2300*8', 'IK4*3*1352*7*99'] }], 'R'));
    expect(rejected.status).toBe(200);
    expect(rejected.json).toMatchObject({ kind: '999', duplicate: false, rejected: 1, accepted: 0 });
    const [instClaim] = await claimsOf('VI1');
    expect(instClaim.status).toBe('rejected');
    expect(instClaim.history.at(-1)).toMatchObject({
      from: 'batched', to: 'rejected',
      reason: '999 rejected; one or more segments in error; CL1 (segment 12, loop 2300): segment has data element errors; element CL103: invalid code value ("99")',
    });

    const accepted = ack999(prof.group_control_number, '005010X222A1', [{ st: prof.transaction_control_numbers[0] as number, ik5: 'A' }], 'A');
    expect((await post(accepted)).json).toMatchObject({ kind: '999', accepted: expect.any(Number) as number, rejected: 0 });
    const [visit1] = await claimsOf('VP1');
    expect(visit1.status).toBe('accepted');
    const again = await post(accepted);
    expect(again.json).toMatchObject({ duplicate: true });
    expect((await claimsOf('VP1'))[0].history).toHaveLength(visit1.history.length);

    const [dependent] = await claimsOf('VD1');
    const claim277 = (pcn: string, stc: string, ref?: string): string[] => [`HL*X*3*PT`, `NM1*QC*1*DOE*JANE`, `TRN*2*${pcn}`, `STC*${stc}*20240110*WQ*95`, ...(ref ? [`REF*1K*${ref}`] : []), `DTP*472*D8*20240105`];
    const body277 = [
      'ST*277*0001*005010X214', 'BHT*0085*08*CH277*20240110*1200*TH', 'HL*1**20*1', 'NM1*AY*2*EXAMPLE CLEARINGHOUSE*****46*CLEARHOUSE', 'TRN*1*1', 'DTP*050*D8*20240110', 'DTP*009*D8*20240110',
      'HL*2*1*21*1', 'NM1*41*2*HL7 CLAIMS BILLING SERVICES*****46*HL7CLAIMS', 'TRN*2*HC1-1', 'STC*A1:20*20240110*WQ*400', 'HL*3*2*19*1', 'NM1*85*2*ST MARY CARDIOLOGY GROUP*****XX*1234567893',
      ...claim277(visit1.patientControlNumber, 'A2:20', 'PAYER2024ABC'), ...claim277(dependent.patientControlNumber, 'A7:21:IL'), ...claim277('HC999999', 'A2:20'),
    ];
    let hl = 3;
    const numbered = body277.map((s) => (s.startsWith('HL*X') ? s.replace('HL*X', `HL*${++hl}`) : s));
    numbered.push(`SE*${numbered.length + 1}*0001`);
    const text277 = [`ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*HL7CLAIMS      *240110*1200*^*00501*000000902*0*T*:`, `GS*HN*CLEARHOUSE*HL7CLAIMS*20240110*1200*902*X*005010X214`, ...numbered, 'GE*1*902', 'IEA*1*000000902'].join('~') + '~';
    const r277 = await post(text277);
    expect(r277.json).toMatchObject({ kind: '277CA', accepted: 1, rejected: 1, unmatched: ['HC999999'] });
    const [paid] = await claimsOf('VP1');
    expect(paid).toMatchObject({ status: 'payer_accepted', payerClaimControlNumber: 'PAYER2024ABC' });
    const [refused] = await claimsOf('VD1');
    expect(refused.status).toBe('payer_rejected');
    expect(refused.history.at(-1).reason).toBe('277CA A7:21:IL acknowledgement: rejected for invalid information (claim status code 21, entity IL)');

    const garbage = await post('this is not X12');
    expect(garbage).toEqual({ status: 400, json: { error: 'bad_request', message: 'ISA: not an X12 interchange: it does not begin with an ISA segment' } });
    const unknown = await post(ack999(424242, '005010X222A1', [{ st: 1, ik5: 'A' }], 'A'));
    expect(unknown.json.message).toBe('AK1-02: group control number 424242 matches no batch that was sent');
  });

  it('replaces (7) and voids (8) a claim the payer has, with REF*F8; a rejected claim goes out again as a new original', async () => {
    const [original] = await claimsOf('VP1');
    expect((await api('POST', `/api/claims/${original.id}/corrections`, { frequency: '9' })).status).toBe(400);
    const replaced = await api('POST', `/api/claims/${original.id}/corrections`, { frequency: '7' });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ status: 'ready', created: true });
    const correction = (await api('GET', `/api/claims/${replaced.json.id}`)).json;
    expect(correction).toMatchObject({ frequency: '7', replacesClaimId: original.id, payerClaimControlNumber: 'PAYER2024ABC', totalCharge: original.totalCharge });
    expect(correction.patientControlNumber).not.toBe(original.patientControlNumber);
    expect((await api('GET', `/api/claims/${original.id}`)).json.history.at(-1)).toMatchObject({ from: 'payer_accepted', to: 'replaced' });
    const [row] = await db.query<{ payload: Claim837 }>(`SELECT payload FROM claim WHERE id = $1`, [replaced.json.id]);
    const segments = await readX12(write837File(batchOptions('professional'), [(row as { payload: Claim837 }).payload]).text);
    expect(el(segments.find((s) => s.id === 'CLM') as never, 5, 3)).toBe('7');
    expect(el(segments.find((s) => s.id === 'REF' && el(s, 1) === 'F8') as never, 2)).toBe('PAYER2024ABC');
    // A claim not yet with the payer cannot be corrected; one the payer has no number for either.
    expect((await api('POST', `/api/claims/${replaced.json.id}/corrections`, { frequency: '8' })).status).toBe(409);
    // Void: the claim as it was sent, with its lines and amounts, frequency 8.
    const [toVoid] = await claimsOf('VH1');
    await db.query(`UPDATE claim SET payer_claim_control_number = 'PAYER-VH1' WHERE id = $1`, [toVoid.id]);
    const voided = await api('POST', `/api/claims/${toVoid.id}/corrections`, { frequency: '8' });
    const voidClaim = (await api('GET', `/api/claims/${voided.json.id}`)).json;
    expect(voidClaim).toMatchObject({ frequency: '8', status: 'ready', totalCharge: toVoid.totalCharge, payerClaimControlNumber: 'PAYER-VH1' });
    expect(voidClaim.lines.map((l: any) => [l.procedureCode, l.charge])).toEqual(toVoid.lines.map((l: any) => [l.procedureCode, l.charge]));

    // The dependent's claim was rejected by the payer (277CA A7): a build without naming the
    // encounter leaves it for staff; naming it sends it again as a new original.
    const [rejected] = await claimsOf('VD1');
    await api('POST', '/api/claims/build', {});
    expect((await claimsOf('VD1'))[0].status).toBe('payer_rejected');
    await api('POST', '/api/claims/build', { encounterIds: [await encounterOf('VD1')] });
    const [again] = await claimsOf('VD1');
    expect(again).toMatchObject({ id: rejected.id, patientControlNumber: rejected.patientControlNumber, status: 'ready', frequency: '1', batchId: null });
    expect(again.history.at(-1)).toMatchObject({ from: 'payer_rejected', to: 'ready', reason: 'rebuilt after the rejection: to be sent again as a new original (frequency 1)' });
  });

  it('lists claims by status and payer', async () => {
    const batched = await api('GET', '/api/claims?status=accepted&payerId=00621&limit=100');
    expect(batched.status).toBe(200);
    expect(batched.json.items.length).toBeGreaterThan(0);
    expect(batched.json.items.every((c: any) => c.status === 'accepted' && c.payerId === '00621')).toBe(true);
    expect(batched.json.total).toBe(batched.json.items.length);
    expect((await api('GET', '/api/claims?status=held')).json.items.map((c: any) => c.status)).toEqual(['held']);
    expect((await api('GET', '/api/claims/999999')).status).toBe(404);
    expect((await api('GET', '/api/claims?status=nonsense')).status).toBe(400);
  });

  it('leaves no intake row without its parent', async () => {
    expect(await orphans(db)).toEqual([]);
  });
});
