/**
 * Many submitted claims and a payer's 835 for them, for the 835 benchmark and the import's crash
 * and concurrency suites: N 5-line professional claims B1..BN written straight into the claim
 * tables (lines g-1..g-5), and an 835 paying them (CAS on every line, every tenth claim with a
 * denied line and RARC, every hundredth reversed and corrected, PLB WO and L6, several transactions).
 */
import { createWriteStream } from 'node:fs';
import type { DataSource } from 'typeorm';
import { fromCents, toCents } from '../../src/lib/decimal';
import { writeGe, writeGs, writeIea, writeIsa, write835Transaction, X12Writer, DEFAULT_DELIMITERS, type Era835Claim, type Era835Service } from '../../src/lib/x12';
import { PracticeRepository } from '../../src/modules/practice/practice.repository';
import { readPracticeSetup } from '../../src/modules/practice/practice.setup';
import { EXAMPLE_PRACTICE_FILE } from '../../src/modules/practice/practice.service';

/** The example practice, then N submitted claims with their lines. */
export async function seedSubmittedClaims(ds: DataSource, n: number): Promise<void> {
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
    patientControlNumber: pcn, status: '1', charge: TOTAL, paid, patientResponsibility: '30.00', payerClaimControlNumber: `ICN${g}`, filingIndicator: '12',
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
export async function write835File(path: string, n: number, transactions: number): Promise<number> {
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
      payer: { name: 'BLUE CROSS BLUE SHIELD OF ILLINOIS', id: '00621', address: { line1: '300 E RANDOLPH ST', city: 'CHICAGO', state: 'IL', zip: '606015014' }, technicalContact: { name: 'EDI SUPPORT', phone: '8005550100' } }, payee: { name: 'ST MARY CARDIOLOGY GROUP', npi: '1234567893' }, claims: [], providerAdjustments: plb,
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

