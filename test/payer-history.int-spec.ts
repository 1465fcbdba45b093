import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaffService } from '../src/modules/staff/staff.service';
import { apiOf } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { visitDft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { practiceWith } from './support/practice';
import { claimPayment, era, payment, postEra, sendClaims, write835, type SentClaim } from './support/remit';
import { startTestService } from './support/service';
import { WebClient } from './support/web';

type Svc = Awaited<ReturnType<typeof startTestService>>;
const PASSWORD = 'correct horse battery staple';

/**
 * Prevention learnt from our own denials: claims sent, an 835 denying one procedure again and
 * again, then a new claim with that procedure is flagged by the payer-history rule with the CARC
 * the payer gave; the payer's settings change the thresholds; the dashboard lists the pattern.
 */
describe('payer-history: the scrubber learns from the 835s', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  const api = apiOf(() => svc.httpPort);
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-history-'));
  let visitNo = 0;

  const visit = async (codes: string[]): Promise<string> => {
    const v = `PH${++visitNo}`;
    const msg = visitDft({ ctl: `PH-${visitNo}`, mrn: `PHM${visitNo}`, visit: v, charges: codes.map((code) => ({ code, dx: ['I10'] })) });
    expect(await client.send(msg)).toMatch(/\rMSA\|AA\|/);
    const [e] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [v]);
    return (e as { id: string }).id;
  };
  const claimOfEncounter = async (encounterId: string): Promise<any> => {
    const [row] = await db.query<{ id: string }>(`SELECT id FROM claim WHERE encounter_id = $1 AND status <> 'cancelled' ORDER BY id DESC`, [encounterId]);
    return (await api('GET', `/api/claims/${row?.id ?? '0'}`)).json;
  };
  const historyFindings = (claim: any): any[] => claim.findings.filter((f: any) => f.ruleId === 'payer-history');

  beforeAll(async () => {
    db = await createTestDatabase();
    // The 835s below are paid on 2024-02-01: the scrubber's "today" a month later.
    svc = await startTestService(db.url, { SCRUB_AS_OF: '2024-03-01', PRACTICE_FILE: practiceWith({ type: 'directory', outbox: join(dir, 'outbox'), responses: join(dir, 'responses') }, dir) });
    client = await MllpClient.connect(svc.mllpPort);
  });

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
  });

  it('flags a new line the payer denied 5 of 6 times, naming the CARC, and follows the payer\'s settings', async () => {
    const encounters: string[] = [];
    for (let i = 0; i < 6; i++) encounters.push(await visit(['CHG99214', 'CHG93000']));
    const sent: SentClaim[] = await sendClaims(api, db, encounters);
    expect(sent).toHaveLength(6);
    // Five of the six ECGs denied for want of authorisation (one of them with a second, smaller CARC); the sixth paid.
    const denied = (c: SentClaim, i: number) =>
      claimPayment(c, (l) => (l.procedureCode === '93000' && i < 5
        ? { paid: '0', adjustments: i === 0 ? [{ group: 'CO', reason: '197', amount: '50.00' }, { group: 'CO', reason: '16', amount: '12.50' }] : [{ group: 'CO', reason: '197', amount: '62.50' }] }
        : {}));
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-PH1', sent.map(denied))], 9301)))).json).toMatchObject({ matched: 6 });

    // The history is in the summary table as soon as the import answers.
    const rows = await db.query<{ procedure_code: string; carc: string; lines: number; dx_category: string }>(
      `SELECT procedure_code, carc, lines, dx_category FROM denial_pattern ORDER BY procedure_code, carc`,
    );
    expect(rows).toEqual([
      { procedure_code: '93000', carc: '', lines: 1, dx_category: 'I10' },
      { procedure_code: '93000', carc: '197', lines: 5, dx_category: 'I10' },
      { procedure_code: '99214', carc: '', lines: 6, dx_category: 'I10' },
    ]);

    // A new visit with the same procedure and diagnosis category: a warning on the ECG line only; the claim is not held.
    const fresh = await visit(['CHG99214', 'CHG93000']);
    expect((await api('POST', '/api/claims/build', { encounterIds: [fresh] })).status).toBe(200);
    let claim = await claimOfEncounter(fresh);
    expect(claim.status).toBe('ready');
    const ecgLine = claim.lines.find((l: any) => l.procedureCode === '93000').lineNumber;
    const [finding] = historyFindings(claim);
    expect(historyFindings(claim)).toHaveLength(1);
    expect(finding).toMatchObject({ severity: 'warning', line: ecgLine, value: '93000', carc: '197' });
    expect(finding.message).toMatch(/denied 93000 for I10 diagnoses on 5 of 6 lines \(83%\) in the last 180 days, most often with CARC 197 \(/);

    // The payer asks for six denials before a warning: the unbatched claim is scrubbed again at once.
    const payer = claim.payerId ?? sent[0]?.payerId;
    expect((await api('PATCH', '/api/rules/payer-history', { payerId: payer, params: { minDenials: 6 } })).status).toBe(200);
    claim = await claimOfEncounter(fresh);
    expect(historyFindings(claim)).toEqual([]);
    expect((await api('PATCH', '/api/rules/payer-history', { payerId: payer, params: { minPercent: 150 } })).json.message).toMatch(/minPercent.*0 to 100/);
    expect((await api('PATCH', '/api/rules/payer-history', { payerId: payer, params: { minDenials: 5, minPercent: 90 } })).status).toBe(200);
    expect(historyFindings(await claimOfEncounter(fresh))).toEqual([]);
    expect((await api('PATCH', '/api/rules/payer-history', { payerId: payer, params: { minPercent: 80 } })).status).toBe(200);
    expect(historyFindings(await claimOfEncounter(fresh))).toHaveLength(1);

    // Another diagnosis category is another pattern.
    const other = `PH${++visitNo}`;
    expect(await client.send(visitDft({ ctl: `PH-${visitNo}`, mrn: `PHM${visitNo}`, visit: other, charges: [{ code: 'CHG93000', dx: ['R07.9'] }] }))).toMatch(/\rMSA\|AA\|/);
    const [oe] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [other]);
    await api('POST', '/api/claims/build', { encounterIds: [oe?.id] });
    expect(historyFindings(await claimOfEncounter(oe?.id ?? ''))).toEqual([]);
  });

  it('lists the pattern on the dashboard with its rate and usual CARC', async () => {
    await svc.app.get(StaffService).addUser('viewer@example.org', 'viewer', PASSWORD, { mustChange: false, actor: { userId: null, name: 'cli', ip: null } });
    const web = new WebClient(`http://127.0.0.1:${svc.httpPort}`);
    await web.signIn('viewer@example.org', PASSWORD);
    const page = await web.get('/dashboard');
    expect(page.status).toBe(200);
    const section = page.text.slice(page.text.indexOf('id="h-patterns"'));
    const row = /<tr><td>([^<]*)<\/td><td>93000<\/td><td><\/td><td>I10<\/td>\s*<td><a href="[^"]*">197<\/a><\/td><td class="num">5 \(83%\)<\/td><td class="num">6<\/td><td class="num">312.50<\/td><\/tr>/.exec(section);
    expect(row?.[1]).toBe('BLUE CROSS BLUE SHIELD OF ILLINOIS');
  });
});
