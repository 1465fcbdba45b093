import { parseMessage } from '../src/lib/hl7v2';
import { encodeFrame } from '../src/lib/mllp';
import { orphans } from './support/integrity';
import { createTestDatabase, type TestDatabase } from './support/db';
import { adt, dft, type DftOptions } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { startTestService } from './support/service';

type Svc = Awaited<ReturnType<typeof startTestService>>;

describe('MLLP intake against real PostgreSQL over real TCP', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url, { MLLP_MAX_FRAME_BYTES: 64 * 1024 });
    client = await MllpClient.connect(svc.mllpPort);
  });

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
  });

  const ackOf = async (text: string): Promise<ReturnType<typeof parseMessage>> => parseMessage(await client.send(text));

  it('acknowledges ADT and DFT with AA only after the rows are committed', async () => {
    const a = await ackOf(adt('A01', 'ADT-1', 'MRN1', 'V100'));
    expect(a.get('MSA-1')).toBe('AA');
    expect(a.get('MSA-2')).toBe('ADT-1');
    expect(a.get('MSH-10')).not.toBe('ADT-1');
    const d = await ackOf(dft({ controlId: 'DFT-1', visit: 'V100', charges: [{ amount: '125.00' }, { amount: '80.5', qty: '2', cpt: '36415', modifiers: ['25', '59'] }] }));
    expect(d.get('MSA-1')).toBe('AA');
    const enc = await db.query<{ id: string; status: string; patient_class: string; attending_provider: { npi: string } }>(
      `SELECT id, status, patient_class, attending_provider FROM encounter WHERE visit_number = 'V100'`,
    );
    expect(enc).toHaveLength(1);
    expect(enc[0]).toMatchObject({ status: 'active', patient_class: 'O', attending_provider: { npi: '1234567893' } });
    const charges = await db.query<{ amount: string; quantity: string; procedure_code: string; modifiers: string[]; diagnosis_codes: string[]; status: string }>(
      `SELECT amount::text, quantity::text, procedure_code, modifiers, diagnosis_codes, status FROM charge WHERE encounter_id = $1 ORDER BY ft1_index`,
      [enc[0]?.id],
    );
    expect(charges).toEqual([
      { amount: '125.00', quantity: '1.000', procedure_code: '99213', modifiers: [], diagnosis_codes: ['E11.9'], status: 'posted' },
      { amount: '80.50', quantity: '2.000', procedure_code: '36415', modifiers: ['25', '59'], diagnosis_codes: ['E11.9'], status: 'posted' },
    ]);
    const cov = await db.query<{ payer_id: string; member_id: string; set_id: number; group_number: string }>(`SELECT payer_id, member_id, set_id, group_number FROM coverage WHERE encounter_id = $1`, [enc[0]?.id]);
    expect(cov).toEqual([{ payer_id: 'PAYER01', member_id: 'MEM123456', set_id: 1, group_number: 'GRP123' }]);
    const dx = await db.query<{ code: string; coding_system: string; priority: number }>(`SELECT code, coding_system, priority FROM diagnosis WHERE encounter_id = $1`, [enc[0]?.id]);
    expect(dx).toEqual([{ code: 'E11.9', coding_system: 'I10', priority: 1 }]);
  });

  it('stores an exact resend as a duplicate, answers with the original outcome and applies nothing again', async () => {
    const text = dft({ controlId: 'DFT-DUP', visit: 'V200', charges: [{ amount: '10.00' }] });
    expect((await ackOf(text)).get('MSA-1')).toBe('AA');
    const again = await ackOf(text);
    expect(again.get('MSA-1')).toBe('AA');
    expect(again.get('MSA-2')).toBe('DFT-DUP');
    const rows = await db.query<{ status: string; duplicate_of_id: string | null }>(`SELECT status, duplicate_of_id FROM inbound_message WHERE control_id = 'DFT-DUP' ORDER BY id`);
    expect(rows.map((r) => r.status)).toEqual(['processed', 'duplicate']);
    expect(rows[1]?.duplicate_of_id).not.toBeNull();
    const n = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM charge c JOIN encounter e ON e.id = c.encounter_id WHERE e.visit_number = 'V200'`);
    expect(n[0]?.n).toBe('1');
  });

  it('processes a reused control id with different content and flags it', async () => {
    expect((await ackOf(dft({ controlId: 'REUSED', visit: 'V300', charges: [{ amount: '1.00' }] }))).get('MSA-1')).toBe('AA');
    expect((await ackOf(dft({ controlId: 'REUSED', visit: 'V300', charges: [{ amount: '2.00', txn: 'OTHER' }] }))).get('MSA-1')).toBe('AA');
    const rows = await db.query<{ status: string; control_id_reused: boolean }>(`SELECT status, control_id_reused FROM inbound_message WHERE control_id = 'REUSED' ORDER BY id`);
    expect(rows).toEqual([{ status: 'processed', control_id_reused: false }, { status: 'processed', control_id_reused: true }]);
    const amounts = await db.query<{ amount: string }>(`SELECT c.amount::text FROM charge c JOIN encounter e ON e.id = c.encounter_id WHERE e.visit_number = 'V300' ORDER BY c.id`);
    expect(amounts.map((a) => a.amount)).toEqual(['1.00', '2.00']);
  });

  // The server's own index statistics (the embedded database keeps none).
  (process.env.HL7C_TEST_MODE === 'embedded' ? it.skip : it)('checks a control id a sender keeps reusing without reading every original that has it', async () => {
    // What the service's sessions read through the duplicate index, once they have reported it
    // (an idle session reports what it has not yet reported within 10 s).
    const indexReads = async (): Promise<number> => {
      await new Promise((r) => setTimeout(r, 11_000));
      const [r] = await db.query<{ n: string }>(`SELECT idx_tup_read::text AS n FROM pg_stat_user_indexes WHERE indexrelname = 'uq_inbound_message_original'`);
      return Number(r?.n);
    };
    const many = 400;
    for (let i = 0; i < many; i++) expect((await ackOf(adt('A08', 'SAME-ID', `MRN-S${i}`, `VS${i}`))).get('MSA-1')).toBe('AA');
    const before = await indexReads();
    const more = 10;
    for (let i = 0; i < more; i++) expect((await ackOf(adt('A08', 'SAME-ID', `MRN-T${i}`, `VT${i}`))).get('MSA-1')).toBe('AA');
    // A resend among them is still known as one.
    const resend = await ackOf(adt('A08', 'SAME-ID', 'MRN-S7', 'VS7'));
    expect(resend.get('MSA-1')).toBe('AA');
    const read = (await indexReads()) - before;
    // Reading every original with the id would be more than `many` entries per message.
    expect(read).toBeLessThan((more + 1) * 20);
    const rows = await db.query<{ n: string; reused: string; dups: string }>(
      `SELECT count(*) FILTER (WHERE duplicate_of_id IS NULL)::text AS n, count(*) FILTER (WHERE control_id_reused)::text AS reused, count(*) FILTER (WHERE duplicate_of_id IS NOT NULL)::text AS dups
         FROM inbound_message WHERE control_id = 'SAME-ID'`,
    );
    expect(rows).toEqual([{ n: String(many + more), reused: String(many + more - 1), dups: '1' }]);
  });

  it('A11 cancels the encounter and holds its charges; a new admit releases them', async () => {
    await ackOf(adt('A01', 'C-1', 'MRN4', 'V400'));
    await ackOf(dft({ controlId: 'C-2', mrn: 'MRN4', visit: 'V400' }));
    expect((await ackOf(adt('A11', 'C-3', 'MRN4', 'V400'))).get('MSA-1')).toBe('AA');
    const held = await db.query<{ e: string; c: string; r: string }>(
      `SELECT e.status AS e, c.status AS c, c.hold_reason AS r FROM encounter e JOIN charge c ON c.encounter_id = e.id WHERE e.visit_number = 'V400'`,
    );
    expect(held).toEqual([{ e: 'cancelled', c: 'held', r: 'encounter cancelled' }]);
    await ackOf(dft({ controlId: 'C-4', mrn: 'MRN4', visit: 'V400', charges: [{ amount: '5.00', txn: 'LATE' }] }));
    const late = await db.query<{ status: string }>(`SELECT status FROM charge WHERE transaction_id = 'LATE'`);
    expect(late).toEqual([{ status: 'held' }]);
    await ackOf(adt('A01', 'C-5', 'MRN4', 'V400'));
    const after = await db.query<{ status: string }>(`SELECT c.status FROM charge c JOIN encounter e ON e.id = c.encounter_id WHERE e.visit_number = 'V400'`);
    expect(after.map((a) => a.status)).toEqual(['posted', 'posted']);
  });

  it('creates the encounter from an A08 or DFT that arrives before the admit, and the admit completes it', async () => {
    const early = adt('A08', 'O-1', 'MRN12', 'V1200').replace(/\rPV1\|1\|O\|/, '\rPV1|1||');
    expect((await ackOf(early)).get('MSA-1')).toBe('AA');
    let enc = await db.query<{ status: string; patient_class: string | null }>(`SELECT status, patient_class FROM encounter WHERE visit_number = 'V1200'`);
    expect(enc).toEqual([{ status: 'active', patient_class: null }]);
    await ackOf(adt('A01', 'O-2', 'MRN12', 'V1200'));
    enc = await db.query<{ status: string; patient_class: string | null }>(`SELECT status, patient_class FROM encounter WHERE visit_number = 'V1200'`);
    expect(enc).toEqual([{ status: 'active', patient_class: 'O' }]);
    const n = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM encounter WHERE visit_number = 'V1200'`);
    expect(n[0]?.n).toBe('1');
  });

  it('A03 discharges and A13 cancels the discharge', async () => {
    await ackOf(adt('A01', 'D-1', 'MRN5', 'V500'));
    // PV1-45 discharge date/time on the A03.
    await ackOf(adt('A03', 'D-2', 'MRN5', 'V500').replace(/(\rPV1\|[^\r]*)/, '$1|20240106100000'));
    let enc = await db.query<{ status: string; discharge_at: string | null }>(`SELECT status, to_char(discharge_at, 'YYYY-MM-DD HH24:MI') AS discharge_at FROM encounter WHERE visit_number = 'V500'`);
    expect(enc[0]).toEqual({ status: 'discharged', discharge_at: '2024-01-06 10:00' });
    await ackOf(adt('A13', 'D-3', 'MRN5', 'V500'));
    enc = await db.query<{ status: string; discharge_at: string | null }>(`SELECT status, to_char(discharge_at, 'YYYY-MM-DD HH24:MI') AS discharge_at FROM encounter WHERE visit_number = 'V500'`);
    expect(enc[0]).toEqual({ status: 'active', discharge_at: null });
  });

  it('A40 moves the prior patient’s encounters and charges to the survivor', async () => {
    await ackOf(dft({ controlId: 'M-1', mrn: 'OLDMRN', visit: 'V600' }));
    const merge = [
      'MSH|^~\\&|ADT1|HOSP|BILLING|BILLCO|20240105120000||ADT^A40^ADT_A39|M-2|P|2.5.1',
      'EVN|A40|20240105120000',
      'PID|1||NEWMRN^^^HOSP^MR||DOE^JANE',
      'MRG|OLDMRN^^^HOSP^MR',
    ].join('\r');
    expect((await ackOf(merge)).get('MSA-1')).toBe('AA');
    const rows = await db.query<{ mrn: string }>(`SELECT p.mrn FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.visit_number = 'V600'`);
    expect(rows).toEqual([{ mrn: 'NEWMRN' }]);
    const charge = await db.query<{ mrn: string }>(`SELECT p.mrn FROM charge c JOIN encounter e ON e.id = c.encounter_id JOIN patient p ON p.id = c.patient_id WHERE e.visit_number = 'V600'`);
    expect(charge).toEqual([{ mrn: 'NEWMRN' }]);
    const old = await db.query<{ merged: boolean }>(`SELECT merged_into_id IS NOT NULL AS merged FROM patient WHERE mrn = 'OLDMRN'`);
    expect(old).toEqual([{ merged: true }]);
    // A later charge for the prior MRN lands on the survivor.
    await ackOf(dft({ controlId: 'M-3', mrn: 'OLDMRN', visit: 'V601' }));
    const later = await db.query<{ mrn: string }>(`SELECT p.mrn FROM charge c JOIN encounter e ON e.id = c.encounter_id JOIN patient p ON p.id = c.patient_id WHERE e.visit_number = 'V601'`);
    expect(later).toEqual([{ mrn: 'NEWMRN' }]);
  });

  it('a credit (CD or negative amount) reverses the matching charge', async () => {
    await ackOf(dft({ controlId: 'CR-1', visit: 'V700', charges: [{ amount: '100.00', cpt: '99214', txn: 'A1' }, { amount: '30.00', cpt: '36415', txn: 'A2' }] }));
    await ackOf(dft({ controlId: 'CR-2', visit: 'V700', charges: [{ type: 'CD', amount: '-30.00', cpt: '36415', txn: 'A2-REV' }] }));
    await ackOf(dft({ controlId: 'CR-3', visit: 'V700', charges: [{ amount: '-55.00', cpt: '99999', txn: 'NOMATCH' }] }));
    const rows = await db.query<{ transaction_id: string; status: string; amount: string; reverses: string | null }>(
      `SELECT c.transaction_id, c.status, c.amount::text, r.transaction_id AS reverses
         FROM charge c JOIN encounter e ON e.id = c.encounter_id LEFT JOIN charge r ON r.id = c.reverses_charge_id
        WHERE e.visit_number = 'V700' ORDER BY c.id`,
    );
    expect(rows).toEqual([
      { transaction_id: 'A1', status: 'posted', amount: '100.00', reverses: null },
      { transaction_id: 'A2', status: 'reversed', amount: '30.00', reverses: null },
      { transaction_id: 'A2-REV', status: 'reversal', amount: '-30.00', reverses: 'A2' },
      { transaction_id: 'NOMATCH', status: 'unmatched_credit', amount: '-55.00', reverses: null },
    ]);
    const warn = await db.query<{ warnings: string[] }>(`SELECT warnings FROM inbound_message WHERE control_id = 'CR-3'`);
    expect(warn[0]?.warnings).toEqual(['FT1[1]: credit matches no posted charge: kept as an unmatched credit for review']);
  });

  it('lands a DFT without PV1 or amounts on a date-of-service encounter, priced from the chargemaster when it can be', async () => {
    await db.query(`INSERT INTO chargemaster_item (transaction_code, procedure_code, price) VALUES ('LAB100', '80053', '42.10')`);
    const text = dft({ controlId: 'NOPV1', mrn: 'MRN8', visit: null, charges: [{ code: 'LAB100', amount: '', qty: '3', cpt: '' }, { code: 'UNKNOWN', amount: '', cpt: '', date: '20240107' }] })
      .replace(/PID\|([^\r]*)\|ACCTMRN8/, 'PID|$1|');
    expect((await ackOf(text)).get('MSA-1')).toBe('AA');
    const rows = await db.query<{ key_source: string; service_date: string; amount: string | null; price_source: string; procedure_code: string | null }>(
      `SELECT e.key_source, to_char(c.service_date, 'YYYY-MM-DD') AS service_date, c.amount::text, c.price_source, c.procedure_code
         FROM charge c JOIN encounter e ON e.id = c.encounter_id JOIN inbound_message m ON m.id = c.message_id WHERE m.control_id = 'NOPV1' ORDER BY c.ft1_index`,
    );
    expect(rows).toEqual([
      { key_source: 'service_date', service_date: '2024-01-05', amount: '126.30', price_source: 'chargemaster', procedure_code: '80053' },
      { key_source: 'service_date', service_date: '2024-01-07', amount: null, price_source: 'unpriced', procedure_code: null },
    ]);
  });

  it('prices a charge from FT1-12 x FT1-10 when FT1-11 is empty, and FT1-11 wins (with a warning) when they disagree', async () => {
    await ackOf(dft({ controlId: 'UNIT-1', visit: 'V450', charges: [{ qty: '3', amount: '', unit: '25.00', cpt: '99213^^C4' }, { qty: '2', amount: '75.00', unit: '25.00' }, { qty: '1.5', amount: '', unit: '10.10' }] }));
    const rows = await db.query<{ amount: string; unit_amount: string; price_source: string }>(
      `SELECT c.amount::text, c.unit_amount::text, c.price_source FROM charge c JOIN inbound_message m ON m.id = c.message_id WHERE m.control_id = 'UNIT-1' ORDER BY c.ft1_index`,
    );
    expect(rows).toEqual([
      { amount: '75.00', unit_amount: '25.00', price_source: 'unit_price' },
      { amount: '75.00', unit_amount: '25.00', price_source: 'message' },
      { amount: '15.15', unit_amount: '10.10', price_source: 'unit_price' },
    ]);
    const [m] = await db.query<{ status: string; warnings: string[] }>(`SELECT status, warnings FROM inbound_message WHERE control_id = 'UNIT-1'`);
    expect(m).toEqual({ status: 'processed', warnings: ['FT1[2]: FT1-11 75.00 differs from FT1-12 25.00 x FT1-10 2 = 50.00; FT1-11 is used'] });
  });

  it('never rounds money silently: FT1-11 with fractions of a cent, or a unit price that does not come to whole cents, is refused naming the field', async () => {
    const cases: [string, DftOptions['charges'], string, string][] = [
      ['CENTS-1', [{ amount: '75.005' }], 'FT1^1^11', '75.005 has more than 2 decimal places: amounts are whole cents and are never rounded'],
      ['CENTS-2', [{ amount: '', unit: '10.125', qty: '2' }], 'FT1^1^12', '10.125 has more than 2 decimal places: amounts are whole cents and are never rounded'],
      ['CENTS-3', [{ amount: '', unit: '25.25', qty: '1.5' }], 'FT1^1^12', 'unit amount 25.25 x quantity 1.5 = 37.875 is not whole cents: send the extended amount (FT1-11)'],
      ['CENTS-4', [{ amount: '10.00', qty: '1.2345' }], 'FT1^1^10', '1.2345 has more than 3 decimal places'],
    ];
    for (const [ctl, charges, where, why] of cases) {
      const ack = await ackOf(dft({ controlId: ctl, visit: 'V451', charges }));
      expect([ctl, ack.get('MSA-1'), ack.getRaw('ERR-2'), ack.get('ERR-8')]).toEqual([ctl, 'AE', where, why]);
    }
    const kept = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM inbound_message WHERE control_id LIKE 'CENTS-%' AND status = 'error'`);
    expect(kept[0]?.n).toBe('4');
    expect(await db.query(`SELECT 1 FROM encounter WHERE visit_number = 'V451'`)).toHaveLength(0);
  });

  it('answers bad content with AE naming the field, and keeps the message for reprocessing', async () => {
    const bad = dft({ controlId: 'BAD-AMT', visit: 'V900', charges: [{ amount: '12,50' }] });
    const ack = await ackOf(bad);
    expect(ack.get('MSA-1')).toBe('AE');
    expect(ack.getRaw('ERR-2')).toBe('FT1^1^11');
    expect(ack.get('ERR-3.1')).toBe('102');
    expect(ack.get('ERR-8')).toBe('is not a number');
    const rows = await db.query<{ id: string; status: string; error: string; error_location: string }>(`SELECT id, status, error, error_location FROM inbound_message WHERE control_id = 'BAD-AMT'`);
    expect(rows[0]).toMatchObject({ status: 'error', error: 'FT1-11: is not a number', error_location: 'FT1-11' });
    const none = await db.query(`SELECT 1 FROM encounter WHERE visit_number = 'V900'`);
    expect(none).toHaveLength(0);
  });

  it('takes a message without MSH-11 as production with a warning, and refuses it when the header checks are strict', async () => {
    const bare = dft({ controlId: 'NO-MSH11', visit: 'V950' }).replace(`|NO-MSH11|P|`, '|NO-MSH11||');
    expect(bare).toContain('|NO-MSH11||2.5.1');
    const ack = await ackOf(bare);
    expect(ack.get('MSA-1')).toBe('AA');
    expect(ack.get('MSH-11')).toBe('P');
    const [row] = await db.query<{ status: string; warnings: string[] }>(`SELECT status, warnings FROM inbound_message WHERE control_id = 'NO-MSH11'`);
    expect(row).toEqual({ status: 'processed', warnings: ['MSH-11 processing id is missing: taken as P (production)'] });
    expect(await db.query(`SELECT 1 FROM encounter WHERE visit_number = 'V950'`)).toHaveLength(1);
    const strict = await startTestService(db.url, { MLLP_HEADER_CHECKS: 'strict' });
    const strictClient = await MllpClient.connect(strict.mllpPort);
    try {
      const refused = parseMessage(await strictClient.send(bare.replace('NO-MSH11', 'NO-MSH11-S')));
      expect(refused.get('MSA-1')).toBe('AR');
      expect(refused.get('ERR-3.1')).toBe('202');
      expect(refused.getRaw('ERR-2')).toBe('MSH^1^11');
    } finally {
      await strictClient.close();
      await strict.stop();
    }
  });

  it('answers non-HL7 content with AR and stores it', async () => {
    const ack = await ackOf('hello, this is not HL7');
    expect(ack.get('MSA-1')).toBe('AR');
    expect(ack.get('MSA-2')).toBe('');
    expect(ack.get('ERR-8')).toMatch(/does not start with an MSH segment/);
    const rows = await db.query<{ status: string; raw: Buffer }>(`SELECT status, raw FROM inbound_message WHERE status = 'rejected' AND control_id = ''`);
    expect(rows.some((r) => r.raw.toString('utf8') === 'hello, this is not HL7')).toBe(true);
  });

  it('refuses an oversize frame with AR naming its MSH-10 and goes on with the next frame', async () => {
    const big = dft({ controlId: 'HUGE', visit: 'V1000' }) + 'NTE|1||' + 'X'.repeat(70 * 1024) + '\r';
    const ack = await ackOf(big);
    expect(ack.get('MSA-1')).toBe('AR');
    expect(ack.get('MSA-2')).toBe('HUGE');
    expect(ack.get('ERR-8')).toMatch(/over the 65536-byte limit/);
    expect((await ackOf(dft({ controlId: 'AFTER-HUGE', visit: 'V1000' }))).get('MSA-1')).toBe('AA');
  });

  it('answers pipelined frames in order, junk between frames skipped', async () => {
    const second = await MllpClient.connect(svc.mllpPort);
    const ids = Array.from({ length: 20 }, (_, i) => `PIPE-${i}`);
    const bytes = Buffer.concat(ids.flatMap((id) => [Buffer.from('\r\n'), encodeFrame(dft({ controlId: id, visit: `VP${id}` }))]));
    // One write for all, then cut across frame boundaries on the wire by the kernel as it likes.
    second.write(bytes);
    const acks = await second.waitForAcks(ids.length);
    expect(acks.map((a) => parseMessage(a).get('MSA-2'))).toEqual(ids);
    expect(acks.every((a) => parseMessage(a).get('MSA-1') === 'AA')).toBe(true);
    await second.close();
  });

  it('sends one ACK in enhanced mode: CA when only the commit ACK is asked for', async () => {
    const text = adt('A08', 'ENH-1', 'MRN11', 'V1100').replace('|P|2.5.1', '|P|2.5.1|||AL|NE');
    const ack = await ackOf(text);
    expect(ack.get('MSA-1')).toBe('CA');
    const both = await ackOf(adt('A08', 'ENH-2', 'MRN11', 'V1100').replace('|P|2.5.1', '|P|2.5.1|||AL|AL'));
    expect(both.get('MSA-1')).toBe('AA');
    expect(client.received.length).toBeGreaterThan(0);
  });

  it('splits an FHS/BHS batch frame and answers it with one ACK for the batch', async () => {
    const batch = ['FHS|^~\\&|CHG1|HOSP|||20240105||||FILE-9', 'BHS|^~\\&|CHG1|HOSP|||20240105||||BATCH-9',
      dft({ controlId: 'B-1', visit: 'VB1' }).trimEnd(), dft({ controlId: 'B-2', visit: 'VB2' }).trimEnd(), 'BTS|2', 'FTS|1'].join('\r') + '\r';
    const ack = await ackOf(batch);
    expect(ack.get('MSA-1')).toBe('AA');
    expect(ack.get('MSA-2')).toBe('BATCH-9');
    const rows = await db.query<{ control_id: string; batch_control_id: string }>(`SELECT control_id, batch_control_id FROM inbound_message WHERE control_id IN ('B-1', 'B-2') ORDER BY control_id`);
    expect(rows).toEqual([{ control_id: 'B-1', batch_control_id: 'BATCH-9' }, { control_id: 'B-2', batch_control_id: 'BATCH-9' }]);
  });

  it('stores a group mixing new messages, a resend and a reused control id: the resend as a duplicate, the rest once', async () => {
    const resent = dft({ controlId: 'G-OLD', visit: 'VG0', charges: [{ amount: '7.00' }] });
    expect((await ackOf(resent)).get('MSA-1')).toBe('AA');
    // One batch frame is stored as one group: the resend makes the one-statement path give way to the look-up.
    const batch = ['BHS|^~\\&|CHG1|HOSP|||20240105||||BATCH-G',
      dft({ controlId: 'G-1', visit: 'VG1' }).trimEnd(), resent.trimEnd(),
      dft({ controlId: 'G-OLD', visit: 'VG2', charges: [{ amount: '9.00', txn: 'NEWTXN' }] }).trimEnd(), dft({ controlId: 'G-2', visit: 'VG3' }).trimEnd(), 'BTS|4'].join('\r') + '\r';
    expect((await ackOf(batch)).get('MSA-1')).toBe('AA');
    const rows = await db.query<{ control_id: string; status: string; control_id_reused: boolean; dup: boolean; charges: string }>(
      `SELECT m.control_id, m.status, m.control_id_reused, m.duplicate_of_id IS NOT NULL AS dup, (SELECT count(*) FROM charge c WHERE c.message_id = m.id)::text AS charges
         FROM inbound_message m WHERE m.control_id IN ('G-OLD', 'G-1', 'G-2') ORDER BY m.id`,
    );
    expect(rows).toEqual([
      { control_id: 'G-OLD', status: 'processed', control_id_reused: false, dup: false, charges: '1' },
      { control_id: 'G-1', status: 'processed', control_id_reused: false, dup: false, charges: '1' },
      { control_id: 'G-OLD', status: 'duplicate', control_id_reused: false, dup: true, charges: '0' },
      { control_id: 'G-OLD', status: 'processed', control_id_reused: true, dup: false, charges: '1' },
      { control_id: 'G-2', status: 'processed', control_id_reused: false, dup: false, charges: '1' },
    ]);
    const vg0 = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM charge c JOIN encounter e ON e.id = c.encounter_id WHERE e.visit_number = 'VG0'`);
    expect(vg0[0]?.n).toBe('1');
  });

  it('flags a reused control id found by the one-statement path (no look-up), in a group of new messages', async () => {
    expect((await ackOf(dft({ controlId: 'R-1', visit: 'VR1', charges: [{ amount: '3.00' }] }))).get('MSA-1')).toBe('AA');
    const batch = ['BHS|^~\\&|CHG1|HOSP|||20240105||||BATCH-R',
      dft({ controlId: 'R-2', visit: 'VR2' }).trimEnd(), dft({ controlId: 'R-1', visit: 'VR3', charges: [{ amount: '4.00', txn: 'T2' }] }).trimEnd(), 'BTS|2'].join('\r') + '\r';
    expect((await ackOf(batch)).get('MSA-1')).toBe('AA');
    const rows = await db.query<{ control_id: string; status: string; control_id_reused: boolean }>(
      `SELECT control_id, status, control_id_reused FROM inbound_message WHERE control_id IN ('R-1', 'R-2') ORDER BY id`,
    );
    expect(rows).toEqual([
      { control_id: 'R-1', status: 'processed', control_id_reused: false },
      { control_id: 'R-2', status: 'processed', control_id_reused: false },
      { control_id: 'R-1', status: 'processed', control_id_reused: true },
    ]);
  });

  it('leaves no charge, diagnosis, coverage or encounter without its parent, and refuses to delete parents', async () => {
    // These tables have no foreign keys (migration 1764129600000): integrity is by construction.
    expect(await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM charge`)).not.toEqual([{ n: '0' }]);
    expect(await orphans(db)).toEqual([]);
    for (const t of ['patient', 'encounter', 'inbound_message', 'charge']) {
      await expect(db.query(`DELETE FROM ${t} WHERE id = -1`)).rejects.toThrow(/rows are never deleted/);
    }
  });

  it('checks a self-reference only when it is set: a missing row is refused as a foreign-key violation, an existing one is taken', async () => {
    // Row triggers, not foreign keys (migration 1764216000000): a null reference queues no check.
    for (const [table, column] of [['charge', 'reverses_charge_id'], ['charge', 'reversed_by_charge_id'], ['patient', 'merged_into_id'], ['inbound_message', 'duplicate_of_id']] as const) {
      const [row] = await db.query<{ a: string; b: string }>(`SELECT min(id)::text AS a, max(id)::text AS b FROM ${table}`);
      expect(row?.a).not.toBe(row?.b);
      await expect(db.query(`UPDATE ${table} SET ${column} = $2 WHERE id = $1`, [row?.a, '987654321'])).rejects.toMatchObject({
        code: '23503',
        message: `${table}.${column} = 987654321: there is no such ${table} row`,
      });
      const before = await db.query<{ v: string | null }>(`SELECT ${column}::text AS v FROM ${table} WHERE id = $1`, [row?.a]);
      await db.query(`UPDATE ${table} SET ${column} = $2 WHERE id = $1`, [row?.a, row?.b]);
      expect(await db.query(`SELECT ${column}::text AS v FROM ${table} WHERE id = $1`, [row?.a])).toEqual([{ v: row?.b }]);
      await db.query(`UPDATE ${table} SET ${column} = $2 WHERE id = $1`, [row?.a, before[0]?.v]);
    }
  });
});
