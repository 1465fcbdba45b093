import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiOf } from './support/api';
import { orphans } from './support/integrity';
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
  const billed = async (charges: { code: string; cpt?: string; amount?: string; modifiers?: string[] }[], extra: { facility?: string; patientClass?: string; moreCoverage?: { payer: string; member: string }[] } = {}): Promise<SentClaim> => {
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
    expect(ca.balance).toEqual({ billed: '247.50', paid: '120.00', contractual: '97.50', patientResponsibility: '30.00', otherAdjusted: '0.00', outstanding: '0.00', otherPayersPaid: '0.00', interest: '1.10', writtenOff: '0.00' });
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
    // REF*6R, DTM*472 and AMT*B6 are columns; the claim's DTM*232/233 and AMT*I likewise: details keep only the rest.
    const rows = await db.query<{ lcn: string; date: string; allowed: string | null; details: unknown }>(
      `SELECT sp.line_control_number AS lcn, sp.service_date::text AS date, sp.allowed::text AS allowed, sp.details FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id WHERE cp.claim_id = $1 ORDER BY sp.position`, [a.id]);
    expect(rows).toEqual([{ lcn: a.lines[0]?.controlNumber, date: '2024-01-05', allowed: '150.00', details: null }, { lcn: a.lines[1]?.controlNumber, date: '2024-01-05', allowed: null, details: null }]);
    const [cpa] = await db.query<{ interest: string; details: Record<string, unknown> }>(`SELECT interest::text AS interest, details FROM claim_payment WHERE claim_id = $1`, [a.id]);
    expect(cpa?.interest).toBe('1.10');
    expect(cpa?.details).toMatchObject({ patient: expect.objectContaining({ entity: 'QC' }) });
    expect(cpa?.details).not.toHaveProperty('amounts');
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

  it('posts a file once and an ERA once: the same file again, or the same payment in another file, is a duplicate', async () => {
    const c = await billed([{ code: 'CHG36415' }]);
    const file = write835(era([payment('EFT-2001', [claimPayment(c)])]));
    const first = await postEra(svc.httpPort, file);
    expect(first.json).toMatchObject({ duplicate: false, matched: 1 });
    const count = async (): Promise<string> => (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim_payment WHERE claim_id = $1`, [c.id]))[0]?.n ?? '';
    const again = await postEra(svc.httpPort, file);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ fileId: first.json.fileId, duplicate: true, matched: 1 });
    // The same ERA (payer id, trace, amount, date) in another interchange: a duplicate transaction.
    const other = write835(era([payment('EFT-2001', [claimPayment(c)])], 9002));
    const second = await postEra(svc.httpPort, other);
    expect(second.json).toMatchObject({ duplicate: false, transactions: 1, duplicateTransactions: 1, claimPayments: 0, matched: 0 });
    expect(await count()).toBe('1');
    expect((await claim(c.id)).balance).toMatchObject({ paid: '12.00', outstanding: '0.00' });
    const files = await db.query<{ status: string; n: string }>(`SELECT status, count(*)::text AS n FROM remittance_file WHERE id IN ($1, $2) GROUP BY status`, [first.json.fileId, second.json.fileId]);
    expect(files).toEqual([{ status: 'posted', n: '2' }]);
    const dups = await db.query<{ duplicate_of_id: string | null }>(`SELECT duplicate_of_id FROM remittance_transaction WHERE file_id = $1`, [second.json.fileId]);
    expect(dups[0]?.duplicate_of_id).not.toBeNull();
  });

  it('undoes a payment with its reversal and posts the correction, in either order, in the same or a later file', async () => {
    const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    const denied = claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '16', amount: '62.50' }], remarks: ['M51'] } : {}));
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-3001', [denied])])))).json).toMatchObject({ matched: 1 });
    expect((await claim(c.id)).status).toBe('partially_paid');
    expect((await api('GET', `/api/denials?claimId=${c.id}`)).json.items).toMatchObject([{ status: 'open', kind: 'denied', amount: '62.50' }]);
    // A later file: the correction first, then the reversal of the first payment (every amount negated, original group codes).
    const correction = claimPayment(c, () => ({}), { payerClaimControlNumber: `ICN${c.id}-2` });
    const reversal = { ...denied, status: '22', charge: '-247.50', paid: '-185.00', services: denied.services.map((sv) => ({ ...sv, charge: `-${sv.charge}`, paid: sv.paid === '0' ? '0' : `-${sv.paid}`, units: '-1', adjustments: sv.adjustments?.map((a) => ({ ...a, amount: `-${a.amount}` })) })) };
    const r = await postEra(svc.httpPort, write835(era([payment('EFT-3002', [correction, reversal])], 9003)));
    expect(r.json).toMatchObject({ claimPayments: 2, matched: 2, unbalanced: 0 });
    const after = await claim(c.id);
    expect(after.status).toBe('paid');
    expect(after.balance).toMatchObject({ billed: '247.50', paid: '247.50', contractual: '0.00', outstanding: '0.00' });
    expect(after.payments.map((p: any) => [p.status, p.paid, p.reversed, p.reversal])).toEqual([['1', '185.00', true, false], ['1', '247.50', false, false], ['22', '-185.00', false, true]]);
    const [link] = await db.query<{ reverses: string }>(`SELECT reverses_payment_id AS reverses FROM claim_payment WHERE claim_id = $1 AND status_code = '22'`, [c.id]);
    expect(link?.reverses).toBe(after.payments[0].id);
    expect((await api('GET', `/api/denials?claimId=${c.id}`)).json.items).toMatchObject([{ status: 'resolved', resolution: expect.stringMatching(/^line 2 paid after 835 trace EFT-3002/) }]);
    // The payer's claim number of its latest payment is kept: a replacement (7) carries it in REF*F8.
    expect(after.payerClaimControlNumber).toBe(`ICN${c.id}-2`);
    // A reversal with no correction yet: the claim is reversed.
    const reversal2 = { ...correction, status: '22', charge: '-247.50', paid: '-247.50', services: correction.services.map((sv) => ({ ...sv, charge: `-${sv.charge}`, paid: `-${sv.paid}`, units: '-1' })) };
    await postEra(svc.httpPort, write835(era([payment('EFT-3003', [reversal2])], 9004)));
    const reversed = await claim(c.id);
    expect(reversed.status).toBe('reversed');
    expect(reversed.balance).toMatchObject({ paid: '0.00', outstanding: '247.50' });
    expect(reversed.lines.map((l: any) => l.paymentStatus)).toEqual(['reversed', 'reversed']);
    // No ledger row changed: reversals are rows of their own.
    await expect(db.query(`UPDATE claim_payment SET paid = 0 WHERE claim_id = $1`, [c.id])).rejects.toThrow(/claim_payment.paid is part of the ledger and never changes/);
    await expect(db.query(`DELETE FROM payment_adjustment WHERE claim_payment_id IN (SELECT id FROM claim_payment WHERE claim_id = $1)`, [c.id])).rejects.toThrow(/never deleted/);
    // Nor the lines they paid (line 1 has payments and no denial, whose own foreign key would answer first).
    await expect(db.query(`DELETE FROM claim_line WHERE claim_id = $1 AND line_number = 1`, [c.id])).rejects.toThrow(/has payments posted \(service_payment\): it cannot be deleted/);
  });

  it('adds up a claim split over two claim payments (and two files); a line may come back with a dropped modifier or restated code', async () => {
    const c = await billed([{ code: 'CHG99214', modifiers: ['25'] }, { code: 'CHG93000' }, { code: 'CHG80061' }]);
    const [l1, l2, l3] = c.lines as [SentClaim['lines'][number], SentClaim['lines'][number], SentClaim['lines'][number]];
    // Part 1: line 1 (no REF*6R, modifier dropped) and line 2 (restated: paid as 93010, billed 93000 in SVC06).
    const part1 = claimPayment({ ...c, lines: [l1, l2], totalCharge: '247.50' }, (l) => (l === l1 ? { modifiers: [], lineControlNumber: undefined } : { code: '93010', original: { qualifier: 'HC', code: '93000' }, lineControlNumber: undefined }), { payerClaimControlNumber: `ICN${c.id}-A` });
    await postEra(svc.httpPort, write835(era([payment('EFT-4001', [part1])], 9005)));
    const half = await claim(c.id);
    expect(half.status).toBe('partially_paid');
    expect(half.lines.map((l: any) => l.paymentStatus)).toEqual(['paid', 'paid', 'pending']);
    expect(half.balance).toMatchObject({ paid: '247.50', outstanding: '48.25' });
    const part2 = claimPayment({ ...c, lines: [l3], totalCharge: '48.25' }, () => ({}), { payerClaimControlNumber: `ICN${c.id}-B` });
    await postEra(svc.httpPort, write835(era([payment('EFT-4002', [part2])], 9006)));
    const whole = await claim(c.id);
    expect(whole.status).toBe('paid');
    expect(whole.balance).toMatchObject({ billed: '295.75', paid: '295.75', outstanding: '0.00' });
    const matched = await db.query<{ method: string }>(`SELECT sp.match_method AS method FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id WHERE cp.claim_id = $1 ORDER BY sp.id`, [c.id]);
    expect(matched.map((m) => m.method)).toEqual(['procedure', 'procedure', 'line_control_number']);
  });

  it('queues what it cannot match, with the reason, never as a new charge; a person matches it later', async () => {
    const c = await billed([{ code: 'CHG99213' }]);
    const odd = await billed([{ code: 'CHG99213' }]);
    const charges = async (): Promise<string> => (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM charge`))[0]?.n ?? '';
    const before = await charges();
    // CLP01 and CLP07 that match nothing (the payer mangled our claim number), and a line the claim never had.
    const lost = claimPayment(c, () => ({}), { patientControlNumber: 'HC-MANGLED', payerClaimControlNumber: 'ICN-UNKNOWN' });
    const extraLine = claimPayment(odd, () => ({}));
    extraLine.services.push({ code: '99999', charge: '0', paid: '0', serviceDate: '2024-01-05', lineControlNumber: 'NOPE' });
    const r = await postEra(svc.httpPort, write835(era([payment('EFT-5001', [lost, extraLine])], 9007)));
    expect(r.json).toMatchObject({ claimPayments: 2, matched: 1, unmatched: 1, unmatchedLines: 1 });
    expect(await charges()).toBe(before);
    const queue = (await api('GET', '/api/remittances/unmatched?limit=500')).json;
    const item = queue.items.find((i: any) => i.kind === 'claim' && i.patientControlNumber === 'HC-MANGLED');
    expect(item).toMatchObject({ reason: 'unmatched', note: 'no claim has patient control number HC-MANGLED or payer claim number ICN-UNKNOWN', traceNumber: 'EFT-5001', paid: '125.00' });
    const line = queue.items.find((i: any) => i.kind === 'line' && i.patientControlNumber === odd.patientControlNumber);
    expect(line).toMatchObject({ procedure: 'HC:99999', note: 'REF*6R NOPE names no line of this claim; no line of the claim was billed as HC:99999 on 2024-01-05' });
    expect((await claim(c.id)).status).toBe('submitted');
    // Matched by hand: posted to the claim, its line matched as an import would.
    const m = await api('POST', `/api/remittances/unmatched/${item.id}/match`, { claimId: c.id });
    expect(m.status).toBe(200);
    expect(m.json).toEqual({ claimPaymentId: item.id, claimId: c.id, claimStatus: 'paid', linesMatched: 1, linesUnmatched: 0 });
    expect((await api('POST', `/api/remittances/unmatched/${item.id}/match`, { claimId: c.id })).status).toBe(409);
    const after = await claim(c.id);
    expect(after.balance).toMatchObject({ paid: '125.00', outstanding: '0.00' });
    expect(after.history.at(-1).reason).toMatch(/matched to this claim by hand by api/);
    expect(after.payments[0].matchMethod).toBe('manual');
    // The unmatched line, matched by hand to the claim's line.
    const lm = await api('POST', `/api/remittances/unmatched-lines/${line.id}/match`, { claimLineId: odd.lines[0]?.id });
    expect(lm.json).toMatchObject({ servicePaymentId: line.id, claimLineId: odd.lines[0]?.id, claimId: odd.id });
    expect((await api('POST', `/api/remittances/unmatched-lines/${line.id}/match`, { claimLineId: c.lines[0]?.id })).status).toBe(409);
    const rest = (await api('GET', '/api/remittances/unmatched?limit=500')).json.items.map((i: any) => i.id);
    expect(rest).not.toContain(item.id);
    expect(rest).not.toContain(line.id);
  });

  it('flags a payment by another payer for a claim it was not sent to, and does not post it', async () => {
    const c = await billed([{ code: 'CHG99213' }]);
    const r = await postEra(svc.httpPort, write835(era([payment('EFT-6001', [claimPayment(c)], { payer: { name: 'AETNA', id: '60054' }, trace: { number: 'EFT-6001', payerId: '1060054000' } })], 9008)));
    expect(r.json).toMatchObject({ matched: 0, unmatched: 1 });
    const [cp] = await db.query<{ match_status: string; claim_id: string | null; candidate_claim_ids: string[] }>(`SELECT match_status, claim_id, candidate_claim_ids::text[] FROM claim_payment WHERE patient_control_number = $1`, [c.patientControlNumber]);
    expect(cp).toEqual({ match_status: 'payer_mismatch', claim_id: null, candidate_claim_ids: [c.id] });
    expect((await claim(c.id)).status).toBe('submitted');
  });

  it('marks a claim the payer forwarded to another payer (crossover, NM1*TT)', async () => {
    const c = await billed([{ code: 'CHG99213' }]);
    const forwarded = claimPayment(c, () => ({ paid: '80.00', adjustments: [{ group: 'CO', reason: '45', amount: '25.00' }, { group: 'PR', reason: '2', amount: '20.00' }] }), { status: '19', crossover: { name: 'MEDICAID OF ILLINOIS', id: '77001' } });
    await postEra(svc.httpPort, write835(era([payment('EFT-7001', [forwarded])], 9009)));
    const after = await claim(c.id);
    expect(after.status).toBe('forwarded');
    expect(after.payments[0].statusText).toBe('processed as primary, forwarded to another payer');
  });

  it('records every broken balance with its difference and changes no amount', async () => {
    const c = await billed([{ code: 'CHG99214' }]);
    const text = write835(era([payment('EFT-8001', [claimPayment(c, () => ({ paid: '150.00', adjustments: [{ group: 'CO', reason: '45', amount: '30.00' }] }))])], 9010))
      .replace('SVC*HC:99214*185*150', 'SVC*HC:99214*185*151') // line: 185 - 30 ≠ 151
      .replace(/CLP\*([^*]+)\*1\*185\*150/, 'CLP*$1*1*185*149') // claim: 185 - 30 ≠ 149
      .replace(/BPR\*I\*150\*/, 'BPR*I*151*'); // transaction: 149 ≠ 151
    const r = await postEra(svc.httpPort, text);
    expect(r.json).toMatchObject({ matched: 1, unbalanced: 3 });
    const t = (await api('GET', '/api/remittances?limit=500')).json.items.find((x: any) => x.traceNumber === 'EFT-8001');
    expect(t.balanced).toBe(false);
    const detail = (await api('GET', `/api/remittances/${t.id}`)).json;
    expect(detail.balancing.failures.map((f: any) => [f.kind, f.difference, f.message])).toEqual([
      ['claim_unbalanced', '6.00', 'CLP03 185.00 - adjustments 30.00 ≠ CLP04 149.00'],
      ['line_unbalanced', '4.00', 'SVC02 185.00 - adjustments 30.00 ≠ SVC03 151.00'],
      ['transaction_unbalanced', '-2.00', 'ΣCLP04 149.00 - ΣPLB 0.00 = 149.00, but BPR02 is 151.00'],
    ]);
    const [row] = await db.query<{ paid: string; imbalance: string }>(`SELECT paid::text, imbalance::text FROM claim_payment WHERE claim_id = $1`, [c.id]);
    expect(row).toEqual({ paid: '149.00', imbalance: '6.00' });
  });

  it('refuses a file that is not an 835, or cut short, naming segment and element; posts nothing of it and keeps its bytes', async () => {
    const c = await billed([{ code: 'CHG99213' }]);
    const good = write835(era([payment('EFT-9001', [claimPayment(c)])], 9011));
    const cut = good.slice(0, good.indexOf('SE*'));
    const r = await postEra(svc.httpPort, cut, 'cut.835');
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({ duplicate: false, refused: { location: expect.stringMatching(/^segment \d+ \(REF\)$/), error: expect.stringMatching(/the file ends inside transaction set 0001: SE missing$/) }, claimPayments: 0 });
    expect((await claim(c.id)).payments).toEqual([]);
    const file = (await api('GET', `/api/remittances/files/${r.json.fileId}`)).json;
    expect(file).toMatchObject({ status: 'refused', fileName: 'cut.835', error: r.json.refused.error, size: cut.length });
    const raw = await fetch(`http://127.0.0.1:${svc.httpPort}/api/remittances/files/${r.json.fileId}/raw`, { headers: { authorization: 'Bearer test-token-0123456789abcdef' } });
    expect(Buffer.from(await raw.arrayBuffer()).toString('latin1')).toBe(cut);
    // Refused again: stored once.
    expect((await postEra(svc.httpPort, cut)).json).toMatchObject({ fileId: r.json.fileId, duplicate: true, refused: expect.any(Object) });
    const notX12 = await postEra(svc.httpPort, 'this is not an 835');
    expect(notX12.status).toBe(422);
    expect(notX12.json.refused).toEqual({ location: 'ISA', error: 'ISA: not an X12 interchange: it does not begin with an ISA segment' });
    const an837 = await postEra(svc.httpPort, good.replace('ST*835*0001~', 'ST*837*0001~'));
    expect(an837.json.refused).toMatchObject({ location: 'segment 3 (ST01)' });
    expect(await db.query(`SELECT 1 FROM claim_payment WHERE claim_id = $1`, [c.id])).toEqual([]);
  });

  it('flags a line the payer allowed below its fee schedule as underpaid', async () => {
    const c = await billed([{ code: 'CHG99214' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-10001', [claimPayment(c, () => ({ paid: '130.00', allowed: '130.00', adjustments: [{ group: 'CO', reason: '45', amount: '55.00' }] }))])], 9012)));
    const after = await claim(c.id);
    expect(after.status).toBe('partially_paid');
    expect(after.payments[0].lines[0]).toMatchObject({ allowed: '130.00', underpaid: '20.00' });
    expect((await api('GET', `/api/denials?claimId=${c.id}`)).json.items).toMatchObject([{ kind: 'underpaid', amount: '20.00', carcs: [] }]);
  });

  it('keeps and shows codes it does not know or that were deactivated, never refusing the file', async () => {
    const c = await billed([{ code: 'CHG99213' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-11001', [claimPayment(c, () => ({ paid: '0', adjustments: [{ group: 'CO', reason: 'Z99', amount: '100.00' }, { group: 'OA', reason: '42', amount: '25.00' }], remarks: ['N999', 'MA01'] }))])], 9013)));
    const after = await claim(c.id);
    expect(after.status).toBe('denied');
    expect(after.payments[0].adjustments.map((a: any) => [a.reason, a.reasonText, a.reasonStatus])).toEqual([['Z99', 'unknown code', 'unknown'], ['42', expect.any(String), 'deactivated']]);
    expect(after.payments[0].remarks.map((r: any) => [r.code, r.status])).toEqual([['N999', 'unknown'], ['MA01', expect.any(String)]]);
  });

  it('bills the secondary payer from the primary\'s 835 (2320 with CAS and AMT*D, 2430 SVD/CAS/DTP*573), holds it on a reversal, and a tertiary follows the same path', async () => {
    const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }], { moreCoverage: [{ payer: 'AETNA', member: 'AET777' }, { payer: 'MEDICARE', member: '1EG4TE5MK72' }] });
    expect(c.payerId).toBe('00621');
    const primaryEra = claimPayment(c, (l) => (l.procedureCode === '99214'
      ? { paid: '120.00', adjustments: [{ group: 'CO', reason: '45', amount: '35.00' }, { group: 'PR', reason: '2', amount: '30.00' }] }
      : { paid: '0', adjustments: [{ group: 'CO', reason: '96', amount: '62.50' }] }));
    await postEra(svc.httpPort, write835(era([payment('EFT-12001', [primaryEra])], 9014)));
    const following = async (id: string): Promise<any[]> => (await db.query<{ id: string; status: string; payer_sequence: string; payload: any }>(
      `SELECT id, status, payer_sequence, payload FROM claim WHERE primary_claim_id = $1 ORDER BY id`, [id]));
    const [secondary] = await following(c.id);
    expect(secondary).toMatchObject({ status: 'ready', payer_sequence: 'S' });
    const p = secondary.payload;
    expect([p.payer.id, p.subscriber.payerResponsibility, p.subscriber.memberId, p.frequency, p.totalCharge]).toEqual(['60054', 'S', 'AET777', '1', '247.50']);
    expect(p.otherCoverage.map((o: any) => [o.payerResponsibility, o.payer.id, o.paidAmount ?? null, o.remainingPatientLiability ?? null])).toEqual([['P', '00621', '120.00', '30.00'], ['T', '00952', null, null]]);
    expect(p.lines.map((l: any) => l.adjudications)).toEqual([
      [{ payerId: '00621', paid: '120.00', procedure: { qualifier: 'HC', code: '99214', modifiers: [] }, paidUnits: '1', adjustments: [{ group: 'CO', reason: '45', amount: '35.00' }, { group: 'PR', reason: '2', amount: '30.00' }], date: '2024-02-01' }],
      [{ payerId: '00621', paid: '0.00', procedure: { qualifier: 'HC', code: '93000', modifiers: [] }, paidUnits: '1', adjustments: [{ group: 'CO', reason: '96', amount: '62.50' }], date: '2024-02-01' }],
    ]);
    const detail = await claim(secondary.id);
    expect(detail.history[0]).toMatchObject({ from: null, to: 'ready', reason: expect.stringMatching(/^secondary claim after BLUE CROSS BLUE SHIELD OF ILLINOIS adjudicated claim HC\d+: paid 120.00, patient responsibility 30.00$/) });
    // The charges stay with the primary claim; the secondary bills them again.
    expect(await db.query(`SELECT 1 FROM charge WHERE claim_id = $1`, [secondary.id])).toEqual([]);

    // The primary's payment is reversed: the unbatched secondary is held; the correction releases it, updated.
    const reversal = { ...primaryEra, status: '22', charge: '-247.50', paid: '-120.00', patientResponsibility: undefined, services: primaryEra.services.map((sv) => ({ ...sv, charge: `-${sv.charge}`, paid: sv.paid === '0' ? '0' : `-${sv.paid}`, units: '-1', adjustments: sv.adjustments?.map((a) => ({ ...a, amount: `-${a.amount}` })) })) };
    await postEra(svc.httpPort, write835(era([payment('EFT-12002', [reversal])], 9015)));
    expect((await following(c.id))[0]).toMatchObject({ id: secondary.id, status: 'held' });
    const corrected = claimPayment(c, (l) => (l.procedureCode === '99214' ? { paid: '150.00', adjustments: [{ group: 'CO', reason: '45', amount: '35.00' }] } : { paid: '50.00', adjustments: [{ group: 'PR', reason: '1', amount: '12.50' }] }), { payerClaimControlNumber: `ICN${c.id}-C` });
    await postEra(svc.httpPort, write835(era([payment('EFT-12003', [corrected])], 9016)));
    const [again] = await following(c.id);
    expect(again).toMatchObject({ id: secondary.id, status: 'ready' });
    expect(again.payload.otherCoverage[0]).toMatchObject({ paidAmount: '200.00', remainingPatientLiability: '12.50' });
    expect((await claim(secondary.id)).history.map((h: any) => h.to)).toEqual(['ready', 'held', 'ready']);

    // The secondary goes out and AETNA pays part of the rest: the tertiary (Medicare) names both.
    await api('POST', '/api/batches', {});
    const [b] = (await db.query<{ id: string }>(`SELECT batch_id AS id FROM claim WHERE id = $1`, [secondary.id]));
    await api('POST', `/api/batches/${b?.id}/deliver`, {});
    const sent = (await sendClaims(api, db, [])).length;
    expect(sent).toBe(0);
    const secLines = await db.query<{ id: string; control_number: string }>(`SELECT id, control_number FROM claim_line WHERE claim_id = $1 ORDER BY line_number`, [secondary.id]);
    const secClaim: SentClaim = { ...c, id: secondary.id, patientControlNumber: again.payload.patientControlNumber, lines: c.lines.map((l, i) => ({ ...l, id: secLines[i]?.id ?? '', controlNumber: secLines[i]?.control_number ?? '' })) };
    const aetna = claimPayment(secClaim, (l) => (l.procedureCode === '99214' ? { paid: '0', adjustments: [{ group: 'OA', reason: '23', amount: '185.00' }] } : { paid: '6.25', adjustments: [{ group: 'OA', reason: '23', amount: '50.00' }, { group: 'PR', reason: '2', amount: '6.25' }] }), { status: '2', payerClaimControlNumber: 'AET-ICN-1' });
    const r = await postEra(svc.httpPort, write835(era([payment('EFT-12004', [aetna], { payer: { name: 'AETNA', id: '60054' }, trace: { number: 'EFT-12004', payerId: '1060054000' } })], 9017)));
    expect(r.json).toMatchObject({ matched: 1, unmatched: 0 });
    expect((await claim(secondary.id)).status).toBe('paid');
    const [tertiary] = await following(secondary.id);
    expect(tertiary).toMatchObject({ status: 'ready', payer_sequence: 'T' });
    expect(tertiary.payload.subscriber.payerResponsibility).toBe('T');
    expect(tertiary.payload.otherCoverage.map((o: any) => [o.payerResponsibility, o.payer.id, o.paidAmount])).toEqual([['P', '00621', '200.00'], ['S', '60054', '6.25']]);
    expect(tertiary.payload.lines[1].adjudications.map((a: any) => [a.payerId, a.paid])).toEqual([['00621', '50.00'], ['60054', '6.25']]);
    expect(await orphans(db)).toEqual([]);
  });

  it('corrects a claim the payer adjudicated (a replacement carrying the 835\'s payer claim number); a secondary claim is not corrected on its own', async () => {
    const c = await billed([{ code: 'CHG99213' }], { moreCoverage: [{ payer: 'AETNA', member: 'AET999' }] });
    await postEra(svc.httpPort, write835(era([payment('EFT-14001', [claimPayment(c, () => ({ paid: '100.00', adjustments: [{ group: 'PR', reason: '1', amount: '25.00' }] }), { payerClaimControlNumber: 'BCBS-ICN-77' })])], 9019)));
    const paid = await claim(c.id);
    expect([paid.status, paid.payerClaimControlNumber]).toEqual(['paid', 'BCBS-ICN-77']);
    const fix = await api('POST', `/api/claims/${c.id}/corrections`, { frequency: '7' });
    expect(fix.status).toBe(200);
    const replacement = await db.query<{ frequency: string; payer_claim_control_number: string; payer_sequence: string }>(`SELECT frequency, payer_claim_control_number, payer_sequence FROM claim WHERE id = $1`, [fix.json.id]);
    expect(replacement[0]).toEqual({ frequency: '7', payer_claim_control_number: 'BCBS-ICN-77', payer_sequence: 'P' });
    const [secondary] = await db.query<{ id: string }>(`SELECT id FROM claim WHERE primary_claim_id = $1`, [c.id]);
    await db.query(`UPDATE claim SET status = 'payer_accepted', payer_claim_control_number = 'AET-ICN-9' WHERE id = $1`, [secondary?.id]);
    const refused = await api('POST', `/api/claims/${secondary?.id}/corrections`, { frequency: '7' });
    expect([refused.status, refused.json.message]).toEqual([409, expect.stringMatching(/is a secondary claim: it is rebuilt from its earlier payer's 835/)]);
  });

  it('does not bill the secondary when the primary forwarded the claim itself (crossover)', async () => {
    const c = await billed([{ code: 'CHG99213' }], { moreCoverage: [{ payer: 'AETNA', member: 'AET888' }] });
    const forwarded = claimPayment(c, () => ({ paid: '80.00', adjustments: [{ group: 'CO', reason: '45', amount: '25.00' }, { group: 'PR', reason: '2', amount: '20.00' }] }), { status: '19', crossover: { name: 'AETNA', id: '60054' } });
    await postEra(svc.httpPort, write835(era([payment('EFT-13001', [forwarded])], 9018)));
    expect((await claim(c.id)).status).toBe('forwarded');
    expect(await db.query(`SELECT 1 FROM claim WHERE primary_claim_id = $1`, [c.id])).toEqual([]);
  });

  it('imports every published 835 sample without error; what matches none of our claims waits in the queue', async () => {
    const dirs = [join(__dirname, '..', 'fixtures', 'x12', '835'), join(__dirname, '..', 'fixtures', 'x12', '835', 'legacy-4010')];
    const results: Record<string, unknown> = {};
    for (const d of dirs) {
      for (const f of readdirSync(d).filter((n) => n.includes('.')).sort()) {
        const r = await postEra(svc.httpPort, readFileSync(join(d, f)), f);
        expect([f, r.status]).toEqual([f, 200]);
        results[f] = { transactions: r.json.transactions, duplicateTransactions: r.json.duplicateTransactions, claimPayments: r.json.claimPayments, matched: r.json.matched, unmatched: r.json.unmatched };
      }
    }
    // The same eMedNY payment three times: newline-terminated, 156 concatenated interchanges, and plain: posted once.
    expect(results['tasty__multi-line-not-delimited.edi']).toEqual({ transactions: 1, duplicateTransactions: 0, claimPayments: 3, matched: 0, unmatched: 3 });
    expect(results['tasty__profee-multiple.edi']).toEqual({ transactions: 156, duplicateTransactions: 156, claimPayments: 0, matched: 0, unmatched: 0 });
    expect(results['tasty__profee.edi']).toEqual({ transactions: 1, duplicateTransactions: 1, claimPayments: 0, matched: 0, unmatched: 0 });
    expect(results['oopf__Example1.txt']).toEqual({ transactions: 1, duplicateTransactions: 0, claimPayments: 10, matched: 0, unmatched: 10 });
    expect(results['lfh__tertiary-payment.835']).toEqual({ transactions: 1, duplicateTransactions: 0, claimPayments: 1, matched: 0, unmatched: 1 });
    // What no column holds is kept: the managed-care sample's lines are dated DTM*150/151 (service_date and
    // service_end_date hold the dates, details the qualifiers as sent).
    const mc = await db.query<{ date: string; end: string; details: unknown }>(
      `SELECT sp.service_date::text AS date, sp.service_end_date::text AS end, sp.details FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id
        JOIN remittance_transaction t ON t.id = cp.transaction_id JOIN remittance_file f ON f.id = t.file_id WHERE f.file_name = 'lfh__managed-care.835' ORDER BY sp.id LIMIT 1`);
    expect(mc).toEqual([{ date: '2002-03-01', end: '2002-03-04', details: { dates: [{ qualifier: '150', date: '2002-03-01' }, { qualifier: '151', date: '2002-03-04' }] } }]);
    const unreadable = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM claim_payment WHERE match_status = 'unreadable'`);
    expect(unreadable[0]?.n).toBe('2');
  });
});
