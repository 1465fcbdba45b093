import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiOf } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { visitDft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { practiceWith } from './support/practice';
import { claimPayment, era, payment, postEra, sendClaims, write835, type SentClaim } from './support/remit';
import { startTestService } from './support/service';

type Svc = Awaited<ReturnType<typeof startTestService>>;

describe('835 remittances: matched, posted and reconciled against the claims we sent', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  const api = apiOf(() => svc.httpPort);
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-remit-'));
  let visitNo = 0;

  /** A visit sent as HL7 and billed: its claim(s), submitted. */
  const billed = async (charges: { code: string; cpt?: string; amount?: string; modifiers?: string[] }[], extra: { facility?: string; patientClass?: string } = {}): Promise<SentClaim> => {
    const visit = `RV${++visitNo}`;
    const ack = await client.send(visitDft({ ctl: `R-${visitNo}`, mrn: `RM${visitNo}`, visit, charges, ...extra }));
    expect(ack).toMatch(/\rMSA\|AA\|/);
    const [e] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [visit]);
    const [claim] = await sendClaims(api, db, [(e as { id: string }).id]);
    expect(claim?.status).toBe('submitted');
    return claim as SentClaim;
  };
  const claim = async (id: string): Promise<any> => (await api('GET', `/api/claims/${id}`)).json;

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url, {
      PRACTICE_FILE: practiceWith({ type: 'directory', outbox: join(dir, 'outbox'), responses: join(dir, 'responses') }, dir, (setup) => {
        // BCBS pays 99214 at 150.00 by contract: a line allowed less is underpaid.
        setup.payers[0].feeSchedule = [{ code: '99214', allowed: '150.00' }];
      }),
    });
    client = await MllpClient.connect(svc.mllpPort);
  });

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
  });

  it('posts a paid claim, a denied line, contractual and patient responsibility, interest and PLB; statuses, denials and balance follow', async () => {
    const a = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    const b = await billed([{ code: 'CHG99213' }]);
    const text = write835(era([payment('EFT-1001', [
      // a: 99214 allowed 150 (CO-45 35, PR-2 coinsurance 30, paid 120); 93000 denied CO-97 with N19.
      claimPayment(a, (l) => (l.procedureCode === '99214'
        ? { paid: '120.00', allowed: '150.00', adjustments: [{ group: 'CO', reason: '45', amount: '35.00' }, { group: 'PR', reason: '2', amount: '30.00' }] }
        : { paid: '0', adjustments: [{ group: 'CO', reason: '97', amount: '62.50' }], remarks: ['N19'] }), { interest: '1.10' }),
      // b: paid in full.
      claimPayment(b),
    ], {
      providerAdjustments: [
        { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'WO', reference: `ICN${b.id}`, amount: '10.00' },
        { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'L6', amount: '-1.10' },
      ],
    })]));
    const r = await postEra(svc.httpPort, text, 'era-1001.835');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ duplicate: false, transactions: 1, duplicateTransactions: 0, claimPayments: 2, matched: 2, unmatched: 0, unmatchedLines: 0, unbalanced: 0, paid: '245.00', providerAdjustments: '8.90' });

    const ca = await claim(a.id);
    expect(ca.status).toBe('partially_paid');
    expect(ca.balance).toEqual({ billed: '247.50', paid: '120.00', contractual: '97.50', patientResponsibility: '30.00', otherAdjusted: '0.00', outstanding: '0.00', otherPayersPaid: '0.00', interest: '1.10' });
    expect(ca.payments).toHaveLength(1);
    expect(ca.payments[0]).toMatchObject({ traceNumber: 'EFT-1001', status: '1', statusText: 'processed as primary', charge: '247.50', paid: '120.00', patientResponsibility: '30.00', payerClaimControlNumber: `ICN${a.id}`, reversed: false });
    expect(ca.payments[0].adjustments).toEqual([
      { level: 'line', lineControlNumber: a.lines[0]?.controlNumber, group: 'CO', groupText: expect.stringMatching(/^contractual obligation/), reason: '45', reasonText: 'Charges exceed your contracted/legislated fee arrangement.', reasonStatus: 'current', amount: '35.00', quantity: null },
      { level: 'line', lineControlNumber: a.lines[0]?.controlNumber, group: 'PR', groupText: 'patient responsibility', reason: '2', reasonText: 'Coinsurance Amount', reasonStatus: 'current', amount: '30.00', quantity: null },
      { level: 'line', lineControlNumber: a.lines[1]?.controlNumber, group: 'CO', groupText: expect.any(String), reason: '97', reasonText: 'Payment is included in allowance for another service/procedure.', reasonStatus: 'current', amount: '62.50', quantity: null },
    ]);
    expect(ca.payments[0].remarks).toEqual([{ code: 'N19', text: expect.stringMatching(/incidental to/i), status: expect.any(String) }]);
    expect(ca.lines.map((l: any) => [l.paymentStatus, l.paid])).toEqual([['paid', '120.00'], ['denied', '0.00']]);
    expect(ca.history.at(-1)).toMatchObject({ from: 'submitted', to: 'partially_paid', reason: expect.stringMatching(/^835 trace EFT-1001 \(BLUE CROSS BLUE SHIELD OF ILLINOIS, 2024-02-01\): processed as primary; billed 247.50, paid 120.00, patient responsibility 30.00; CO-97 \(/) });
    const cb = await claim(b.id);
    expect(cb.status).toBe('paid');
    expect(cb.balance).toMatchObject({ billed: '125.00', paid: '125.00', outstanding: '0.00' });

    // The denial record: the line, its CARC with group, its RARC, what was not paid.
    const denials = (await api('GET', `/api/denials?claimId=${a.id}`)).json;
    expect(denials.total).toBe(1);
    expect(denials.items[0]).toMatchObject({
      claimId: a.id, claimLineId: a.lines[1]?.id, lineNumber: 2, procedureCode: '93000', payerId: '00621', kind: 'denied', status: 'open', billed: '62.50', paid: '0.00', amount: '62.50',
      serviceDate: '2024-01-05', deniedOn: '2024-02-01', carcs: [{ group: 'CO', reason: '97', amount: '62.50', groupText: expect.any(String), reasonText: expect.any(String), reasonStatus: 'current' }],
      rarcs: [{ code: 'N19', text: expect.any(String), status: expect.any(String) }],
    });
    expect((await api('GET', '/api/denials?carc=97&status=open')).json.items.map((d: any) => d.claimId)).toContain(a.id);
    expect((await api('GET', '/api/denials?carc=45')).json.items.map((d: any) => d.claimId)).not.toContain(a.id);

    // The remittance: balanced, PLB WO tied to claim b by its payer claim number, L6 kept as a provider item.
    const list = (await api('GET', '/api/remittances?payerId=00621')).json;
    const item = list.items.find((t: any) => t.traceNumber === 'EFT-1001');
    expect(item).toMatchObject({ payerName: 'BLUE CROSS BLUE SHIELD OF ILLINOIS', payerId: '00621', method: 'ACH', amount: '236.10', paymentDate: '2024-02-01', claimPayments: 2, unmatched: 0, balanced: true });
    const detail = (await api('GET', `/api/remittances/${item.id}`)).json;
    expect(detail.balancing).toEqual({ balanced: true, transaction: { rule: 'ΣCLP04 - ΣPLB = BPR02', difference: '0.00' }, failures: [] });
    expect(detail.providerAdjustments).toEqual([
      expect.objectContaining({ reason: 'WO', reference: `ICN${b.id}`, amount: '10.00', claimId: b.id, patientControlNumber: b.patientControlNumber }),
      expect.objectContaining({ reason: 'L6', reference: null, amount: '-1.10', claimId: null }),
    ]);
    expect(detail.exceptions).toEqual([]);
    expect(detail.claimPayments.map((c: any) => [c.patientControlNumber, c.matchStatus, c.claimStatus])).toEqual([[a.patientControlNumber, 'matched', 'partially_paid'], [b.patientControlNumber, 'matched', 'paid']]);
    // The raw file, byte for byte.
    const raw = await fetch(`http://127.0.0.1:${svc.httpPort}${detail.rawFile}`, { headers: { authorization: 'Bearer test-token-0123456789abcdef' } });
    expect(Buffer.from(await raw.arrayBuffer()).toString('latin1')).toBe(text);
  });
});

export { readdirSync, readFileSync };
