import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { read835, write835, DEFAULT_DELIMITERS, X12ReadError, type Era835File, type Remit835Event, type ClaimPayment835, type Transaction835Trailer } from './index';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'x12', '835', name));

async function events(input: Buffer | string | (Buffer | string)[]): Promise<Remit835Event[]> {
  const out: Remit835Event[] = [];
  for await (const e of read835(Array.isArray(input) ? input : [input])) out.push(e);
  return out;
}
const claimsOf = (ev: Remit835Event[]): ClaimPayment835[] => ev.flatMap((e) => (e.kind === 'claim' ? [e.claim] : []));
const trailersOf = (ev: Remit835Event[]): Transaction835Trailer[] => ev.flatMap((e) => (e.kind === 'end' ? [e.trailer] : []));

/** A small ERA of our own: a paid claim, a denied line, an NU line, a reversal, PLB WO and L6. */
export function sampleEra(over: Partial<Era835File> = {}): Era835File {
  const at = new Date('2024-02-01T10:00:00Z');
  return {
    delimiters: DEFAULT_DELIMITERS,
    interchange: { senderQualifier: 'ZZ', senderId: 'PAYER', receiverQualifier: 'ZZ', receiverId: 'HL7CLAIMS', controlNumber: 5001, usage: 'T', ackRequested: false, createdAt: at },
    group: { senderCode: 'PAYER', receiverCode: 'HL7CLAIMS', controlNumber: 6001, createdAt: at },
    transactions: [{
      controlNumber: 1,
      payment: { method: 'ACH', date: '2024-02-01' },
      trace: { number: 'EFT0001', payerId: '1123456789' },
      productionDate: '2024-01-31',
      payer: { name: 'ACME HEALTH', id: 'ACME1', address: { line1: 'PO BOX 1', city: 'CHICAGO', state: 'IL', zip: '60601' } },
      payee: { name: 'ST MARY CARDIOLOGY GROUP', npi: '1234567893', taxId: '371234567' },
      claims: [
        {
          patientControlNumber: 'HC1', status: '1', charge: '247.50', paid: '150.00', patientResponsibility: '20.00', payerClaimControlNumber: 'ICN001', patient: { last: 'DOE', first: 'JANE', memberId: 'MEM1' },
          interest: '1.25', outpatientRemarks: ['MA01'],
          services: [
            { code: '99214', modifiers: ['25'], charge: '185.00', paid: '150.00', lineControlNumber: '11', serviceDate: '2024-01-05', allowed: '170.00',
              adjustments: [{ group: 'CO', reason: '45', amount: '15.00' }, { group: 'PR', reason: '2', amount: '20.00' }] },
            { code: '93000', charge: '62.50', paid: '0', lineControlNumber: '12', serviceDate: '2024-01-05', adjustments: [{ group: 'CO', reason: '97', amount: '62.50' }], remarks: ['M15', 'N19'] },
          ],
        },
        {
          patientControlNumber: 'HC2', status: '1', charge: '300.00', paid: '200.00', payerClaimControlNumber: 'ICN002', patient: { last: 'ROE', first: 'RICHARD' }, facilityCode: '13',
          adjustments: [{ group: 'CO', reason: '45', amount: '100.00' }],
          // Claim-level CAS: the line is paid in full, the claim 100.00 less (Σ SVC03 ≠ CLP04 is legal then).
          services: [{ qualifier: 'NU', code: '0450', charge: '300.00', paid: '300.00', units: '1', lineControlNumber: '21', serviceDate: '2024-01-06' }],
        },
        {
          patientControlNumber: 'HC3', status: '22', charge: '-125.00', paid: '-100.00', payerClaimControlNumber: 'ICN003', patient: { last: 'POE' },
          services: [{ code: '99213', charge: '-125.00', paid: '-100.00', units: '-1', original: { qualifier: 'HC', code: '99214' }, adjustments: [{ group: 'CO', reason: '45', amount: '-25.00' }] }],
        },
      ],
      providerAdjustments: [
        { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'WO', reference: 'ICN000', amount: '30.00' },
        { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'L6', amount: '-1.25' },
      ],
    }],
    ...over,
  };
}

describe('835 reader', () => {
  it('reads our own ERA: header, claims, lines, adjustments, remarks, PLB, and all three balances hold', async () => {
    const ev = await events(write835(sampleEra()));
    expect(ev.map((e) => e.kind)).toEqual(['transaction', 'claim', 'claim', 'claim', 'end']);
    const header = (ev[0] as Extract<Remit835Event, { kind: 'transaction' }>).header;
    expect(header).toMatchObject({
      controlNumber: '0001', version: '005010X221A1', interchangeControlNumber: '000005001', groupControlNumber: '6001', productionDate: '2024-01-31',
      payment: { handling: 'I', amount: '221.25', creditDebit: 'C', method: 'ACH', format: 'CCP', date: '2024-02-01' },
      trace: { type: '1', number: 'EFT0001', originatorId: '1123456789' },
      payer: { name: 'ACME HEALTH', idQualifier: 'XV', id: 'ACME1', address: { line1: 'PO BOX 1', city: 'CHICAGO', state: 'IL', zip: '60601' }, references: [{ qualifier: '2U', value: 'ACME1' }] },
      payee: { name: 'ST MARY CARDIOLOGY GROUP', idQualifier: 'XX', id: '1234567893', references: [{ qualifier: 'TJ', value: '371234567' }] },
      warnings: [],
    });
    const [paid, nu, reversal] = claimsOf(ev);
    expect(paid).toMatchObject({
      patientControlNumber: 'HC1', status: '1', charge: '247.50', paid: '150.00', patientResponsibility: '20.00', payerClaimControlNumber: 'ICN001', interest: '1.25', remarks: ['MA01'],
      imbalanceCents: 0, patientResponsibilityDifferenceCents: 0, names: [{ entity: 'QC', type: '1', last: 'DOE', first: 'JANE', idQualifier: 'MI', id: 'MEM1' }],
    });
    expect(paid?.services[0]).toMatchObject({
      qualifier: 'HC', code: '99214', modifiers: ['25'], charge: '185.00', paid: '150.00', units: '1', lineControlNumber: '11', serviceDate: '2024-01-05', allowed: '170.00', imbalanceCents: 0,
      adjustments: [{ group: 'CO', reason: '45', amount: '15.00' }, { group: 'PR', reason: '2', amount: '20.00' }],
    });
    expect(paid?.services[1]).toMatchObject({ paid: '0.00', remarks: ['M15', 'N19'], adjustments: [{ group: 'CO', reason: '97', amount: '62.50' }] });
    // NU revenue-code line; claim-level CAS (Σ SVC03 ≠ CLP04 is legal then).
    expect(nu).toMatchObject({ facilityCode: '13', adjustments: [{ group: 'CO', reason: '45', amount: '100.00' }], imbalanceCents: 0 });
    expect(nu?.services[0]).toMatchObject({ qualifier: 'NU', code: '0450', paid: '300.00', imbalanceCents: 0 });
    // A reversal: every amount negated, the original code kept (SVC06).
    expect(reversal).toMatchObject({ status: '22', charge: '-125.00', paid: '-100.00', imbalanceCents: 0 });
    expect(reversal?.services[0]).toMatchObject({ code: '99213', units: '-1', original: { qualifier: 'HC', code: '99214', modifiers: [] } });
    const [t] = trailersOf(ev);
    expect(t).toMatchObject({ claims: 3, paidCents: 25000, providerAdjustmentCents: 2875, imbalanceCents: 0, interestCents: 125, interestPlbCents: -125 });
    expect(t?.providerAdjustments).toEqual([
      { position: expect.any(Number), providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'WO', reference: 'ICN000', amount: '30.00' },
      { position: expect.any(Number), providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'L6', reference: undefined, amount: '-1.25' },
    ]);
  });

  it('gives the same events for a file split at every byte', async () => {
    const text = write835(sampleEra());
    const whole = JSON.stringify(await events(text));
    for (let i = 1; i < text.length; i++) {
      expect(JSON.stringify(await events([text.slice(0, i), text.slice(i)]))).toBe(whole);
    }
    // And one byte at a time.
    expect(JSON.stringify(await events(Array.from({ length: text.length }, (_, i) => Buffer.from(text.charAt(i), 'latin1'))))).toBe(whole);
  });

  it('reads concatenated interchanges with different delimiters, CR LF or no separators, a BOM and indentation', async () => {
    const a = write835(sampleEra());
    const b = write835(sampleEra({ delimiters: { element: '|', component: '^', repetition: '}', segment: '\n', newline: false } }));
    const c = write835(sampleEra({ delimiters: { ...DEFAULT_DELIMITERS, newline: false } })).replace(/~/g, '~\r\n   ');
    const ev = await events([Buffer.from('\uFEFF'), a, '\r\n', b, c]);
    expect(trailersOf(ev)).toHaveLength(3);
    expect(trailersOf(ev).map((t) => t.imbalanceCents)).toEqual([0, 0, 0]);
    const pcns = claimsOf(ev).map((x) => `${x.patientControlNumber}:${x.services[0]?.code ?? ''}`);
    expect(pcns).toEqual(['HC1:99214', 'HC2:0450', 'HC3:99213', 'HC1:99214', 'HC2:0450', 'HC3:99213', 'HC1:99214', 'HC2:0450', 'HC3:99213']);
  });

  it('records each broken balance with its difference, without changing an amount', async () => {
    const text = write835(sampleEra())
      .replace('SVC*HC:99214:25*185*150', 'SVC*HC:99214:25*185*151') // line: 185 - 35 ≠ 151
      .replace('CLP*HC2*1*300*200', 'CLP*HC2*1*300*210'); // claim: 300 - 100 ≠ 210
    const ev = await events(text);
    const [paid, nu] = claimsOf(ev);
    expect(paid?.services[0]?.imbalanceCents).toBe(-100);
    expect(paid?.services[0]?.paid).toBe('151.00');
    // The claim rule reads CLP04 and the CAS amounts, not SVC03: it still holds.
    expect(paid?.imbalanceCents).toBe(0);
    expect(nu?.imbalanceCents).toBe(-1000);
    // The transaction: ΣCLP04 now 260.00, ΣPLB 28.75, BPR02 221.25 → 10.00 over.
    expect(trailersOf(ev)[0]?.imbalanceCents).toBe(1000);
  });

  it('refuses a file that is not X12, not an 835, cut short or out of order, naming the segment and element', async () => {
    const good = write835(sampleEra());
    await expect(events('hello')).rejects.toThrow(new X12ReadError('not an X12 interchange: it does not begin with an ISA segment', 'ISA'));
    await expect(events(good.replace('ST*835*', 'ST*837*'))).rejects.toThrow('segment 3 (ST01): not an 835 (ST01 is "837")');
    await expect(events(good.slice(0, good.indexOf('CLP*HC2')))).rejects.toThrow(/the file ends inside transaction set 0001: SE missing$/);
    await expect(events(good.replace(/LX\*1~\nCLP\*HC1[^~]*~\n/, 'LX*1~\n'))).rejects.toThrow(/^segment 14 \(NM1\): NM1 out of place: a header number loop \(LX\) holds TS3, TS2 and claim payments \(CLP\)$/);
    await expect(events(good.replace(/CLP\*HC1[^~]*~\n/, ''))).rejects.toThrow(/^segment 14 \(NM1\)/);
    await expect(events(good.replace(/BPR\*[^~]*~\n/, '').replace('SE*', 'SE*'))).rejects.toThrow(/out of order: TRN belongs to the header, after BPR|BPR \(financial information\) missing/);
    await expect(events(good.replace('N1*PE*', 'N1*PX*'))).rejects.toThrow('segment 11 (N101): N101 "PX" is neither PR (payer) nor PE (payee)');
    await expect(events(good.replace('DTM*472*20240105~\nCAS*CO*97', 'DTM*472*20240105~\nHI*ABK:E119~\nCAS*CO*97'))).rejects.toThrow(/\(HI\): HI is not a segment of a service payment \(loop 2110\)$/);
    await expect(events(good + 'garbage after the end')).rejects.toThrow(/^segment 44: "garbage afte…" after the IEA is not the ISA of another interchange$/);
  });

  it('keeps a claim payment whose values cannot be read aside and reads on', async () => {
    const text = write835(sampleEra()).replace('CLP*HC2*1*300*200', 'CLP*HC2*1*300*2OO').replace('SE*', 'SE*');
    const ev = await events(text);
    expect(ev.map((e) => e.kind)).toEqual(['transaction', 'claim', 'unreadable', 'claim', 'end']);
    const bad = ev[2] as Extract<Remit835Event, { kind: 'unreadable' }>;
    expect(bad.claim).toMatchObject({ patientControlNumber: 'HC2', payerClaimControlNumber: 'ICN002', location: expect.stringMatching(/\(CLP04\)$/), error: expect.stringMatching(/"2OO" is not an amount$/) });
    expect(trailersOf(ev)[0]).toMatchObject({ claims: 2, unreadable: 1 });
    // An amount with fractions of a cent is not whole cents: never rounded.
    const cents = await events(write835(sampleEra()).replace('CAS*CO*45*15', 'CAS*CO*45*15.005'));
    expect(cents.find((e) => e.kind === 'unreadable')).toMatchObject({ claim: { error: expect.stringMatching(/"15.005" has more than 2 decimal places: amounts are whole cents$/) } });
  });
});

describe('835 reader on third-party samples', () => {
  it('reads every published 835 sample, keeping what it cannot read aside', async () => {
    const results: Record<string, string> = {};
    for (const f of ['e835p__united_healthcare_legacy_sample.txt', 'lfh__cob-contractural-adjustment.835', 'lfh__managed-care.835', 'lfh__secondary-payment.835', 'lfh__tertiary-payment.835',
      'oopf__Example1.txt', 'pyx12__835_mult_loops.txt', 'tasty__multi-line-not-delimited.edi', 'tasty__profee-multiple.edi', 'tasty__profee.edi',
      'legacy-4010/oopf__835_DeIdent_01.dat', 'legacy-4010/oopf__Example1_GripElements.txt', 'legacy-4010/pyx12__835_simple.txt']) {
      const ev = await events(fixture(f));
      const t = trailersOf(ev);
      results[f] = `${t.length} tx, ${claimsOf(ev).length} claims, ${ev.filter((e) => e.kind === 'unreadable').length} unreadable`;
    }
    expect(results).toEqual({
      'e835p__united_healthcare_legacy_sample.txt': '1 tx, 2 claims, 0 unreadable',
      'lfh__cob-contractural-adjustment.835': '1 tx, 1 claims, 0 unreadable',
      'lfh__managed-care.835': '1 tx, 2 claims, 0 unreadable',
      'lfh__secondary-payment.835': '1 tx, 2 claims, 0 unreadable',
      // SVC01 "HC" without a procedure code.
      'lfh__tertiary-payment.835': '1 tx, 0 claims, 1 unreadable',
      // The last CLP ("CLP*090909*22") has no amounts.
      'oopf__Example1.txt': '1 tx, 9 claims, 1 unreadable',
      'pyx12__835_mult_loops.txt': '1 tx, 1 claims, 0 unreadable',
      'tasty__multi-line-not-delimited.edi': '1 tx, 3 claims, 0 unreadable',
      'tasty__profee-multiple.edi': '156 tx, 468 claims, 0 unreadable',
      'tasty__profee.edi': '1 tx, 3 claims, 0 unreadable',
      'legacy-4010/oopf__835_DeIdent_01.dat': '1 tx, 96 claims, 0 unreadable',
      'legacy-4010/oopf__Example1_GripElements.txt': '1 tx, 9 claims, 0 unreadable',
      'legacy-4010/pyx12__835_simple.txt': '1 tx, 3 claims, 0 unreadable',
    });
  });

  it('reads the managed-care sample exactly (CAS at claim and line level)', async () => {
    const ev = await events(fixture('lfh__managed-care.835'));
    const [a, b] = claimsOf(ev);
    expect(a).toMatchObject({ patientControlNumber: '5554555444', status: '1', charge: '800.00', paid: '450.00', patientResponsibility: '300.00', payerClaimControlNumber: '94060555410000', imbalanceCents: 0 });
    expect(a?.adjustments).toEqual([{ group: 'CO', reason: 'A2', amount: '50.00', quantity: undefined }]);
    expect(a?.services[0]).toMatchObject({ code: '99211', charge: '800.00', paid: '500.00', serviceDate: '2002-03-01', serviceEndDate: '2002-03-04', adjustments: [{ group: 'PR', reason: '1', amount: '300.00' }], imbalanceCents: 0 });
    expect(b?.services[0]?.adjustments).toEqual([{ group: 'PR', reason: '1', amount: '600.00', quantity: undefined }, { group: 'CO', reason: '45', amount: '50.00', quantity: undefined }]);
    expect(trailersOf(ev)[0]).toMatchObject({ paidCents: 94500, imbalanceCents: 0 });
  });

  it('reads a composite written with the wrong component separator, with a warning (LinuxForHealth secondary sample)', async () => {
    const ev = await events(fixture('lfh__secondary-payment.835'));
    const [, second] = claimsOf(ev);
    expect(second?.services.map((s) => [s.qualifier, s.code, s.modifiers])).toEqual([['HC', '12345', ['26']], ['HC', '66543', ['26']]]);
    expect(trailersOf(ev)[0]?.header.warnings).toContainEqual(expect.stringMatching(/composite written with ">" although ISA16 declares another component separator/));
  });

  it('reads a BPR H (no money moves) with LQ remarks and a CLP02 4 denial (pyx12 sample)', async () => {
    const ev = await events(fixture('pyx12__835_mult_loops.txt'));
    const [t] = trailersOf(ev);
    expect(t?.header.payment).toMatchObject({ handling: 'H', amount: '0.00', method: 'NON' });
    const [c] = claimsOf(ev);
    expect(c).toMatchObject({ status: '4', paid: '0.00', imbalanceCents: 0 });
    expect(c?.services.map((s) => s.remarks)).toEqual([['N14'], ['N14'], ['N14']]);
  });
});
