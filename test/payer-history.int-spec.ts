import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { StaffService } from '../src/modules/staff/staff.service';
import { apiOf } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { visitDft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { practiceWith } from './support/practice';
import { claimPayment, era, payment, postEra, sendClaims, write835, type SentClaim, type SentLine } from './support/remit';
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

  it('keeps the summary equal to a full rebuild through late, reversed and failed refreshes', async () => {
    // The summary as it stands, and as a rebuild from every stored payment makes it (rolled back).
    const summaryNow = async (): Promise<{ now: unknown[]; rebuilt: unknown[]; total: number; recorded: number }> => {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        const read = async (): Promise<unknown[]> => (await c.query(`SELECT payer_row_id::text, procedure_code, modifiers, dx_category, to_char(answered_on, 'YYYY-MM-DD') AS day, carc, lines, denied_amount::text FROM denial_pattern ORDER BY 1, 2, 3, 4, 5, 6`)).rows;
        const now = await read();
        const [{ total, recorded }] = (await c.query(`SELECT (SELECT coalesce(sum(lines), 0)::int FROM denial_pattern) AS total, (SELECT lines FROM denial_pattern_refresh) AS recorded`)).rows as [{ total: number; recorded: number }];
        await c.query('BEGIN');
        await c.query('SELECT hl7c_denial_pattern_refresh(NULL)');
        const rebuilt = await read();
        await c.query('ROLLBACK');
        return { now, rebuilt, total, recorded };
      } finally {
        await c.end();
      }
    };
    const expectConsistent = async (): Promise<void> => {
      const s = await summaryNow();
      expect(s.now).toEqual(s.rebuilt);
      expect(s.recorded).toBe(s.total);
    };
    const encounters: string[] = [];
    for (let i = 0; i < 5; i++) encounters.push(await visit(['CHG99214', 'CHG93000']));
    const sent = await sendClaims(api, db, encounters);
    const [a, b, c, d, e] = sent as [SentClaim, SentClaim, SentClaim, SentClaim, SentClaim];
    const deny = (l: SentLine) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '197', amount: l.charge }] } : {});
    const on = (date: string) => ({ payment: { method: 'ACH' as const, date } });

    // Denied on 2024-02-10, then an older 835 (2024-02-05) answering b again: b's lines move to the earlier day.
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-PL1', [claimPayment(a, deny), claimPayment(b, deny), claimPayment(c)], on('2024-02-10'))], 9401)))).json).toMatchObject({ matched: 3 });
    await expectConsistent();
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-PL2', [claimPayment(b)], on('2024-02-05'))], 9402)))).json).toMatchObject({ matched: 1 });
    await expectConsistent();
    expect(await db.query(`SELECT claim_id::text AS claim, to_char(answered_on, 'YYYY-MM-DD') AS day FROM denial_pattern_line WHERE claim_id = ANY($1::bigint[]) GROUP BY claim_id, answered_on ORDER BY claim_id`, [[a.id, b.id]]))
      .toEqual([{ claim: a.id, day: '2024-02-10' }, { claim: b.id, day: '2024-02-05' }]);

    // a's payment reversed and posted again.
    const denied = claimPayment(a, deny);
    const reversal = { ...denied, status: '22', charge: `-${denied.charge}`, paid: `-${denied.paid}`, services: denied.services.map((sv) => ({ ...sv, charge: `-${sv.charge}`, paid: sv.paid === '0' ? '0' : `-${sv.paid}`, units: '-1', adjustments: sv.adjustments?.map((x) => ({ ...x, amount: `-${x.amount}` })) })) };
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-PL3', [reversal, claimPayment(a)], on('2024-02-12'))], 9403)))).json).toMatchObject({ matched: 2 });
    await expectConsistent();

    // A refresh that fails after the import committed: the claims wait, and the next refresh takes them.
    await db.query(`ALTER FUNCTION hl7c_denial_pattern_refresh(bigint[]) RENAME TO hl7c_denial_pattern_refresh_away`);
    try {
      expect((await postEra(svc.httpPort, write835(era([payment('EFT-PL4', [claimPayment(d, deny)], on('2024-02-15'))], 9404)))).json).toMatchObject({ matched: 1 });
    } finally {
      await db.query(`ALTER FUNCTION hl7c_denial_pattern_refresh_away(bigint[]) RENAME TO hl7c_denial_pattern_refresh`);
    }
    expect(await db.query(`SELECT claim_id::text FROM denial_pattern_pending`)).toEqual([{ claim_id: d.id }]);
    const behind = await summaryNow();
    expect(behind.now).not.toEqual(behind.rebuilt);
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-PL5', [claimPayment(e)], on('2024-02-15'))], 9405)))).json).toMatchObject({ matched: 1 });
    await expectConsistent();
    expect(await db.query(`SELECT claim_id FROM denial_pattern_pending`)).toEqual([]);
  });
});
