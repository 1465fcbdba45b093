import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkItemsService } from '../src/modules/denials/work-items.service';
import { StaffService } from '../src/modules/staff/staff.service';
import { apiOf } from './support/api';
import { createTestDatabase, type TestDatabase } from './support/db';
import { orphans } from './support/integrity';
import { checkPdf } from './support/pdf';
import { visitDft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { practiceWith } from './support/practice';
import { claimPayment, era, payment, postEra, sendClaims, write835, type SentClaim } from './support/remit';
import { startTestService } from './support/service';
import { WebClient } from './support/web';

type Svc = Awaited<ReturnType<typeof startTestService>>;
const CLI = { userId: null, name: 'cli', ip: null };
const PASSWORD = 'correct horse battery staple';

interface Item {
  id: string;
  kind: string;
  status: string;
  category: string;
  amount: string;
  deadline: string;
  opened_on: string;
  closed_reason: string | null;
  owner_id: string | null;
  claim_id: string | null;
  follow_up_on: string | null;
  version: number;
}

describe('the denials work queue: items made live from their causes, worked in the web app', () => {
  let db: TestDatabase;
  let svc: Svc;
  let client: MllpClient;
  const api = apiOf(() => svc.httpPort);
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-work-'));
  let visitNo = 0;
  let base: string;
  let billerId: string;

  const billed = async (charges: { code: string }[]): Promise<SentClaim> => {
    const visit = `WV${++visitNo}`;
    expect(await client.send(visitDft({ ctl: `W-${visitNo}`, mrn: `WM${visitNo}`, visit, charges }))).toMatch(/\rMSA\|AA\|/);
    const [e] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [visit]);
    const [claim] = await sendClaims(api, db, [(e as { id: string }).id]);
    return claim as SentClaim;
  };
  const items = async (where = 'true', params: unknown[] = []): Promise<Item[]> =>
    db.query<Item>(
      `SELECT id::text, kind, status, category, amount::text, to_char(deadline, 'YYYY-MM-DD') AS deadline, to_char(opened_on, 'YYYY-MM-DD') AS opened_on, closed_reason,
              owner_id::text, claim_id::text, to_char(follow_up_on, 'YYYY-MM-DD') AS follow_up_on, version
         FROM work_item WHERE ${where} ORDER BY id`,
      params,
    );
  const events = async (itemId: string): Promise<{ action: string; from_status: string | null; to_status: string | null; actor: string }[]> =>
    db.query(`SELECT action, from_status, to_status, actor FROM work_item_event WHERE work_item_id = $1 ORDER BY id`, [itemId]);

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url, { PRACTICE_FILE: practiceWith({ type: 'directory', outbox: join(dir, 'outbox'), responses: join(dir, 'responses') }, dir) });
    base = `http://127.0.0.1:${svc.httpPort}`;
    client = await MllpClient.connect(svc.mllpPort);
    const staff = svc.app.get(StaffService);
    billerId = (await staff.addUser('biller@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI })).id;
    await staff.addUser('other@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI });
    await staff.addUser('viewer@example.org', 'viewer', PASSWORD, { mustChange: false, actor: CLI });
  });

  afterAll(async () => {
    await client.close();
    await svc.stop();
    await db.drop();
  });

  it('opens a line-level item in the posting transaction, categorised by its CARC and RARC, with deadlines from the denial date', async () => {
    const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    const text = write835(era([payment('EFT-W1', [
      claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '97', amount: '62.50' }], remarks: ['N19'] } : {})),
    ])]));
    expect((await postEra(svc.httpPort, text)).json).toMatchObject({ matched: 1 });
    const [item] = await items(`claim_id = $1`, [c.id]);
    // The 835's payment date is 2024-02-01: appeal within 120 days (the default).
    expect(item).toMatchObject({ kind: 'denial', status: 'new', category: 'bundling', amount: '62.50', opened_on: '2024-02-01', deadline: '2024-05-31', owner_id: null });
    expect(await events(item?.id ?? '')).toEqual([{ action: 'created', from_status: null, to_status: 'new', actor: 'system' }]);
    // A RARC makes a rule more specific: CO-16 with M51 is coding, not missing information.
    const d = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-W2', [
      claimPayment(d, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '16', amount: '62.50' }], remarks: ['M51'] } : {})),
    ])], 9102)));
    expect((await items(`claim_id = $1`, [d.id]))[0]?.category).toBe('coding');
    // A CARC no rule covers lands in the visible uncategorised bucket.
    const e = await billed([{ code: 'CHG99214' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-W3', [
      claimPayment(e, () => ({ paid: '0', adjustments: [{ group: 'OA', reason: '253', amount: '185.00' }] })),
    ])], 9103)));
    expect((await items(`claim_id = $1`, [e.id]))[0]).toMatchObject({ category: 'uncategorised', amount: '185.00' });
  });

  it('closes the item when its payment is reversed and reopens it when the payer denies again', async () => {
    const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    const denied = claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '4', amount: '62.50' }] } : {}));
    await postEra(svc.httpPort, write835(era([payment('EFT-W10', [denied])], 9110)));
    const [opened] = await items(`claim_id = $1`, [c.id]);
    expect(opened).toMatchObject({ status: 'new', category: 'coding' });
    const reversal = { ...denied, status: '22', charge: '-247.50', paid: '-185.00', services: denied.services.map((sv) => ({ ...sv, charge: `-${sv.charge}`, paid: sv.paid === '0' ? '0' : `-${sv.paid}`, units: '-1', adjustments: sv.adjustments?.map((a) => ({ ...a, amount: `-${a.amount}` })) })) };
    await postEra(svc.httpPort, write835(era([payment('EFT-W11', [reversal])], 9111)));
    const [closed] = await items(`claim_id = $1`, [c.id]);
    expect(closed).toMatchObject({ id: opened?.id, status: 'resolved' });
    expect(closed?.closed_reason).toMatch(/revers/);
    const again = claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '4', amount: '62.50' }] } : {}), { payerClaimControlNumber: `ICN${c.id}-2` });
    await postEra(svc.httpPort, write835(era([payment('EFT-W12', [again])], 9112)));
    const [reopened] = await items(`claim_id = $1`, [c.id]);
    expect(reopened).toMatchObject({ id: opened?.id, status: 'new' });
    expect((await events(opened?.id ?? '')).map((e) => e.action)).toEqual(['created', 'closed', 'reopened']);
  });

  it('opens items for held and rejected claims and closes them when the claim moves on; unmatched payments too, until matched', async () => {
    // Held: the visit's insurance matches no payer in the setup.
    expect(await client.send(visitDft({ ctl: 'W-H1', mrn: 'WMH1', visit: 'WVH1', charges: [{ code: 'CHG99213' }], in1: { payer: 'NOSUCHPAYER' } }))).toMatch(/\rMSA\|AA\|/);
    const [enc] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = 'WVH1'`);
    await api('POST', '/api/claims/build', { encounterIds: [enc?.id] });
    const [held] = await db.query<{ id: string; status: string }>(`SELECT id::text, status FROM claim WHERE encounter_id = $1`, [enc?.id]);
    expect(held?.status).toBe('held');
    expect(await items(`claim_id = $1`, [held?.id])).toMatchObject([{ kind: 'held', status: 'new', category: 'missing_information' }]);

    // A 277CA rejection, whatever path sets it: the claim's status is what opens the item.
    const r = await billed([{ code: 'CHG99213' }]);
    await db.query(`UPDATE claim SET status = 'payer_rejected' WHERE id = $1`, [r.id]);
    await db.query(`INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor) VALUES ($1, 'submitted', 'payer_rejected', 'test: 277CA A7', 'test')`, [r.id]);
    expect(await items(`claim_id = $1 AND kind = 'rejection'`, [r.id])).toMatchObject([{ status: 'new' }]);
    await db.query(`UPDATE claim SET status = 'ready' WHERE id = $1`, [r.id]);
    expect(await items(`claim_id = $1 AND kind = 'rejection'`, [r.id])).toMatchObject([{ status: 'resolved', closed_reason: 'the claim is now ready' }]);

    // An 835 claim payment for no claim of ours.
    const r2 = await billed([{ code: 'CHG99213' }]);
    const ghost = claimPayment(r2, () => ({}), { patientControlNumber: 'NOT-OURS-1' });
    expect((await postEra(svc.httpPort, write835(era([payment('EFT-W20', [ghost])], 9120)))).json).toMatchObject({ unmatched: 1 });
    const [u] = await items(`kind = 'unmatched'`);
    expect(u).toMatchObject({ status: 'new', claim_id: null });
    const [cp] = await db.query<{ id: string }>(`SELECT id::text FROM claim_payment WHERE patient_control_number = 'NOT-OURS-1'`);
    expect((await api('POST', `/api/remittances/unmatched/${cp?.id}/match`, { claimId: r2.id })).status).toBe(200);
    expect((await items(`kind = 'unmatched'`))[0]).toMatchObject({ status: 'resolved', closed_reason: `matched to claim ${r2.id}` });
  });

  it('opens a no-response item for a claim sent and not answered within the payer\'s days (the sweep), closed once it is answered', async () => {
    const c = await billed([{ code: 'CHG99213' }]);
    await db.query(`INSERT INTO claim_event (claim_id, at, from_status, to_status, reason, actor) VALUES ($1, now() - interval '31 days', 'batched', 'submitted', 'test: sent a month ago', 'test')`, [c.id]);
    await db.query(`DELETE FROM claim_event WHERE claim_id = $1 AND to_status = 'submitted' AND at > now() - interval '1 day'`, [c.id]);
    const swept = await api('POST', '/api/work/sweep', {});
    expect(swept.json).toMatchObject({ opened: 1 });
    expect(await items(`claim_id = $1`, [c.id])).toMatchObject([{ kind: 'no_response', status: 'new' }]);
    expect((await api('POST', '/api/work/sweep', {})).json).toMatchObject({ opened: 0 });
    await postEra(svc.httpPort, write835(era([payment('EFT-W30', [claimPayment(c)])], 9130)));
    expect(await items(`claim_id = $1`, [c.id])).toMatchObject([{ kind: 'no_response', status: 'resolved' }]);
  });

  it('shows the queue to a biller: their items and the unassigned ones by deadline, filters in the URL, counts, sorting, CSV of the whole set', async () => {
    const web = new WebClient(base);
    await web.signIn('biller@example.org', PASSWORD);
    const open = await items(`closed_at IS NULL`);
    const list = await web.get('/');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`<caption>${open.length} items</caption>`);
    // Deadline order, soonest first (ties: larger amount first).
    const ids = [...list.text.matchAll(/href="\/items\/(\d+)" class="item-link"/g)].map((m) => m[1]);
    const expected = (await db.query<{ id: string }>(`SELECT id::text FROM work_item WHERE closed_at IS NULL ORDER BY deadline, amount DESC, id`)).map((r) => r.id);
    expect(ids).toEqual(expected);
    // Filters: category and CARC, each in the URL.
    const bundling = await web.get('/?category=bundling');
    expect(bundling.text).toContain('<caption>1 item</caption>');
    expect((await web.get('/?carc=16')).text).toContain('<caption>1 item</caption>');
    expect((await web.get('/?rarc=N19')).text).toContain('<caption>1 item</caption>');
    expect((await web.get('/?category=uncategorised')).text).toContain('<caption>1 item</caption>');
    expect((await web.get('/?status=closed')).text).toMatch(/<caption>\d+ items?<\/caption>/);
    const odd = await web.get('/?category=nonsense&sort=amount');
    expect(odd.status).toBe(200);
    expect(odd.text).toContain('Not understood and left out of the filter: category=nonsense');
    const byAmount = [...odd.text.matchAll(/<td class="num">([\d.]+)<\/td>\s*<td><span/g)].map((m) => Number(m[1]));
    expect(byAmount).toEqual([...byAmount].sort((a, b) => b - a));
    // The CSV is the whole filtered set, formulas defused.
    await db.query(`UPDATE practice_payer SET name = '=HYPERLINK("http://x")' WHERE id = (SELECT payer_row_id FROM work_item WHERE category = 'bundling')`);
    const csv = await web.get('/export.csv?category=bundling');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://x"")"`);
    await db.query(`UPDATE practice_payer SET name = 'BLUE CROSS BLUE SHIELD OF ILLINOIS' WHERE name LIKE '=HYPERLINK%'`);
    const all = await web.get('/export.csv?status=all&owner=any');
    expect(all.text.trim().split('\r\n')).toHaveLength((await items()).length + 1);
    const audit = await db.query<{ action: string; detail: { rows?: number } }>(`SELECT action, detail FROM audit_event WHERE action = 'work.export' ORDER BY id`);
    expect(audit.map((a) => a.detail.rows)).toEqual([1, (await items()).length]);
  });

  it('lets a biller take, note, pend and bulk-assign; refuses a stale version; a viewer reads but cannot act', async () => {
    const web = new WebClient(base);
    const csrf = await web.signIn('biller@example.org', PASSWORD);
    const [item] = await items(`category = 'bundling'`);
    const id = item?.id ?? '';
    const pageOf = await web.get(`/items/${id}`);
    expect(pageOf.status).toBe(200);
    expect(pageOf.text).toContain('CO-97');
    expect(pageOf.text).toContain('Payment is included in allowance for another service/procedure.');
    expect(pageOf.text).toContain('N19');
    expect(pageOf.text).toMatch(/62\.50 at stake × 0\.40 recoverable × \d\.\d \(/);
    // The story: the HL7 message, the claim built and sent, its batch, the 835 payment, the item.
    for (const t of ['HL7 DFT^P03', 'Claim built', 'In 837 batch', '835 payment', 'Work item opened']) expect(pageOf.text).toContain(t);
    const version = Number(WebClient.field(pageOf.text, 'version'));

    const took = await web.post(`/items/${id}/assign`, { _csrf: csrf, version: String(version), owner: 'me' });
    expect(took.status).toBe(303);
    expect(took.location).toBe(`/items/${id}?done=${encodeURIComponent('You own it now.')}`);
    expect((await web.get(took.location ?? '')).text).toContain('You own it now.');
    expect((await items(`id = $1`, [id]))[0]?.owner_id).toBe(billerId);
    // The version the page showed is now stale.
    const stale = await web.post(`/items/${id}/status`, { _csrf: csrf, version: String(version), status: 'in_progress' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('the item changed since you opened it');
    const noDate = await web.post(`/items/${id}/status`, { _csrf: csrf, status: 'pending' });
    expect(noDate.status).toBe(400);
    expect(noDate.text).toContain('pending needs a follow-up date');
    const pended = await web.post(`/items/${id}/status`, { _csrf: csrf, status: 'pending', followUpOn: '2099-01-15' });
    expect(pended.status).toBe(303);
    expect((await items(`id = $1`, [id]))[0]).toMatchObject({ status: 'pending', follow_up_on: '2099-01-15' });
    await web.post(`/items/${id}/note`, { _csrf: csrf, note: 'Called the payer; <b>appeal</b> next week.' });
    const withNote = await web.get(`/items/${id}`);
    expect(withNote.text).toContain('Called the payer; &lt;b&gt;appeal&lt;/b&gt; next week.');
    expect((await events(id)).map((e) => e.action)).toEqual(['created', 'assigned', 'status', 'note']);

    // Bulk: the two coding items to the other biller, with a count in the answer.
    const coding = await items(`category = 'coding' AND closed_at IS NULL`);
    const [other] = await db.query<{ id: string }>(`SELECT id::text FROM staff_user WHERE email = 'other@example.org'`);
    const form = new URLSearchParams({ _csrf: csrf, back: '/?category=coding', owner: other?.id ?? '', status: 'in_progress' });
    for (const c of coding) form.append('ids', c.id);
    const res = await fetch(`${base}/items/bulk`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `hl7c_session=${web.cookie('hl7c_session') ?? ''}` }, body: form.toString() });
    expect(res.status).toBe(303);
    expect(decodeURIComponent(res.headers.get('location') ?? '')).toContain(`${coding.length} item(s): ${coding.length} assigned; ${coding.length} set to In progress.`);
    expect(await items(`category = 'coding' AND closed_at IS NULL`)).toEqual(coding.map((c) => expect.objectContaining({ id: c.id, owner_id: other?.id, status: 'in_progress' })));
    // Those are someone else's now: not in "me and unassigned".
    expect((await web.get('/?category=coding')).text).toContain('<caption>0 items</caption>');
    expect((await web.get(`/?category=coding&owner=${other?.id ?? ''}`)).text).toContain(`<caption>${coding.length} item`);

    const viewer = new WebClient(base);
    const vcsrf = await viewer.signIn('viewer@example.org', PASSWORD);
    const seen = await viewer.get(`/items/${id}`);
    expect(seen.status).toBe(200);
    expect(seen.text).not.toContain('Take it');
    expect((await viewer.post(`/items/${id}/assign`, { _csrf: vcsrf, owner: 'me' })).status).toBe(403);
    expect((await viewer.get('/export.csv')).status).toBe(403);
    const views = await db.query<{ action: string; actor: string }>(`SELECT action, actor FROM audit_event WHERE action = 'work.view' AND object_id = $1 ORDER BY id`, [id]);
    // Every page that showed the item is a view: three GETs and the two refused actions' answers by the biller, one GET by the viewer.
    expect(views.map((v) => v.actor)).toEqual([...Array<string>(5).fill('biller@example.org'), 'viewer@example.org']);
    const acts = await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE object_id = $1 AND action LIKE 'work.%' AND action <> 'work.view' ORDER BY id`, [id]);
    expect(acts.map((a) => a.action)).toEqual(['work.take', 'work.status', 'work.note']);
    await expect(db.query(`UPDATE work_item_event SET note = 'changed'`)).rejects.toThrow(/append-only/);
  });

  it('shows the dashboard: rates from what was sent and answered, denials by payer, category and CARC, A/R aging, every figure a link', async () => {
    const web = new WebClient(base);
    await web.signIn('viewer@example.org', PASSWORD);
    const d = await web.get('/dashboard');
    expect(d.status).toBe(200);
    // Answered by an 835 so far: six claims, four of them denied something on the first answer
    // (CO-97, CO-16, OA-253, CO-4); sent: seven (also the one the payer rejected), clean: two.
    expect(d.text).toContain('66.7%');
    expect(d.text).toMatch(/<a href="[^"]*">4 of 6<\/a> claims answered by an 835/);
    expect(d.text).toContain('28.6%');
    expect(d.text).toContain('2 of 7 claims sent were never rejected');
    expect(d.text).toContain('aria-label="Denied amount by CARC"');
    expect(d.text).toContain(`href="/?kind=denial&amp;status=all&amp;owner=any&amp;carc=97"`);
    // A/R: the claims owed link to their list, which adds up to the same total.
    const total = /<td class="num"><a href="(\/claims\?payer=[^"]+)">([\d.]+)<\/a><\/td><\/tr>/.exec(d.text);
    expect(total).not.toBeNull();
    const owed = await web.get((total?.[1] ?? '').replace(/&amp;/g, '&'));
    const amounts = [...owed.text.matchAll(/<td class="num">([\d.-]+)<\/td><\/tr>/g)].map((m) => Math.round(Number(m[1]) * 100));
    expect(amounts.reduce((a, b) => a + b, 0)).toBe(Math.round(Number(total?.[2]) * 100));
    expect((await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action IN ('dashboard.view', 'claims.list')`)).map((r) => r.action)).toEqual(['dashboard.view', 'claims.list']);
  });

  it('writes off within the role\'s limit (the claim\'s balance counts it), and corrects and resubmits a claim whose item closes when the replacement is paid', async () => {
    const web = new WebClient(base);
    const csrf = await web.signIn('biller@example.org', PASSWORD);
    // A whole claim denied (185.00) and a denied line (62.50).
    const big = await billed([{ code: 'CHG99214' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-W40', [claimPayment(big, () => ({ paid: '0', adjustments: [{ group: 'CO', reason: '29', amount: '185.00' }] }))])], 9140)));
    const [bigItem] = await items(`claim_id = $1`, [big.id]);
    expect(bigItem).toMatchObject({ category: 'timely_filing', amount: '185.00' });
    // The default biller limit is 500.00; an amount above the item's is refused, so is a missing reason.
    expect((await web.post(`/items/${bigItem?.id ?? ''}/write-off`, { _csrf: csrf, amount: '185.01', reason: 'too late' })).text).toContain('more than the item&#39;s amount at stake (185.00)');
    expect((await web.post(`/items/${bigItem?.id ?? ''}/write-off`, { _csrf: csrf, amount: '185.00', reason: '' })).text).toContain('a write-off needs a reason');
    expect((await web.post(`/items/${bigItem?.id ?? ''}/write-off`, { _csrf: csrf, amount: '12.345', reason: 'too late' })).status).toBe(400);
    const done = await web.post(`/items/${bigItem?.id ?? ''}/write-off`, { _csrf: csrf, amount: '185.00', reason: 'Filed after the payer\'s 90 days; no proof of earlier filing' });
    expect(done.status).toBe(303);
    expect((await items(`id = $1`, [bigItem?.id]))[0]).toMatchObject({ status: 'written_off', closed_reason: 'written off 185.00 by biller@example.org' });
    // CO-29 took the 185.00 off the payer's balance already; the write-off records that the practice stops pursuing it.
    expect((await api('GET', `/api/claims/${big.id}`)).json.balance).toMatchObject({ billed: '185.00', paid: '0.00', contractual: '185.00', writtenOff: '185.00', outstanding: '0.00' });
    await expect(db.query(`UPDATE write_off SET amount = 1`)).rejects.toThrow(/append-only/);
    // Above the biller's limit (WRITE_OFF_LIMIT_BILLER, 500.00 by default): refused before anything is read.
    const work = svc.app.get(WorkItemsService);
    await expect(work.writeOff(bigItem?.id ?? '', '600.00', 'a large one', { userId: billerId, name: 'biller@example.org', role: 'biller' })).rejects.toThrow(/above the write-off limit of your role \(500\.00\)/);

    const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-W41', [
      claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '4', amount: '62.50' }] } : {})),
    ])], 9141)));
    const [lineItem] = await items(`claim_id = $1`, [c.id]);
    const resub = await web.post(`/items/${lineItem?.id ?? ''}/resubmit`, { _csrf: csrf });
    expect(resub.status).toBe(303);
    expect(decodeURIComponent(resub.location ?? '')).toMatch(/Replacement claim \d+ made/);
    const [replacement] = await db.query<{ id: string; frequency: string; status: string }>(`SELECT id::text, frequency, status FROM claim WHERE replaces_claim_id = $1`, [c.id]);
    expect(replacement).toMatchObject({ frequency: '7', status: 'ready' });
    expect((await items(`id = $1`, [lineItem?.id]))[0]?.status).toBe('resubmitted');
    // The replacement goes out and is paid in full: the original's item closes on its own.
    const batches = await api('POST', '/api/batches', {});
    for (const b of batches.json.batches as { id: string }[]) await api('POST', `/api/batches/${b.id}/deliver`, {});
    const sent = (await api('GET', `/api/claims/${replacement?.id ?? ''}`)).json;
    const lines = await db.query<{ id: string }>(`SELECT id::text FROM claim_line WHERE claim_id = $1 ORDER BY line_number`, [replacement?.id]);
    const rc: SentClaim = { ...sent, lines: sent.lines.map((l: SentClaim['lines'][number], k: number) => ({ ...l, id: lines[k]?.id })) };
    await postEra(svc.httpPort, write835(era([payment('EFT-W42', [claimPayment(rc)])], 9142)));
    const [closed] = await items(`id = $1`, [lineItem?.id]);
    expect(closed).toMatchObject({ status: 'resolved', closed_reason: `the replacement claim ${replacement?.id ?? ''} was paid` });
    const acts = await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action IN ('work.write_off', 'work.resubmit') ORDER BY id`);
    expect(acts.map((a) => a.action)).toEqual(['work.write_off', 'work.resubmit']);
  });

  it('appeals a denial with a PDF letter carrying the codes, the argument and proof of timely filing; the item is appealed', async () => {
    const web = new WebClient(base);
    const csrf = await web.signIn('biller@example.org', PASSWORD);
    const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-W50', [
      claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '50', amount: '62.50' }], remarks: ['N130'] } : {})),
    ])], 9150)));
    const [item] = await items(`claim_id = $1`, [c.id]);
    expect(item?.category).toBe('medical_necessity');
    const r = await web.post(`/items/${item?.id ?? ''}/appeal`, { _csrf: csrf });
    expect(r.status).toBe(303);
    expect((await items(`id = $1`, [item?.id]))[0]?.status).toBe('appealed');
    const pageOf = await web.get(r.location ?? '');
    const href = /href="(\/items\/\d+\/letters\/\d+\.pdf)"/.exec(pageOf.text)?.[1];
    expect(href).toBeDefined();
    const res = await fetch(base + (href ?? ''), { headers: { cookie: `hl7c_session=${web.cookie('hl7c_session') ?? ''}` } });
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const pdf = Buffer.from(await res.arrayBuffer());
    const text = checkPdf(pdf).text.replace(/\n/g, ' ');
    const [batch] = await db.query<{ isa13: string; file: string }>(`SELECT b.interchange_control_number::text AS isa13, b.file_name AS file FROM claim_batch b JOIN claim c ON c.batch_id = b.id WHERE c.id = $1`, [c.id]);
    for (const t of [`claim ${c.patientControlNumber}`, 'Amount denied: 62.50', 'Adjustment CO-50', 'Remark N130', 'medically necessary', 'Proof of timely filing', `interchange control number ${batch?.isa13 ?? ''}`, `in file ${batch?.file ?? ''}`, 'biller@example.org']) {
      expect(text).toContain(t);
    }
    // The letter is kept as generated; a viewer may read it, nobody may change it.
    await expect(db.query(`UPDATE appeal_letter SET pdf = 'x'`)).rejects.toThrow(/append-only/);
    expect((await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action IN ('work.appeal', 'work.letter') ORDER BY id`)).map((a) => a.action)).toEqual(['work.appeal', 'work.letter']);
  });

  it('lets an admin add a category rule and set a payer\'s deadlines, which new denials follow; a biller cannot', async () => {
    const staff = svc.app.get(StaffService);
    await staff.addUser('admin@example.org', 'admin', PASSWORD, { mustChange: false, actor: CLI });
    const admin = new WebClient(base);
    const csrf = await admin.signIn('admin@example.org', PASSWORD);
    const bad = await admin.post('/admin/rules', { _csrf: csrf, carc: '253', category: 'coding', recoverability: '1.5', nextStep: 'Check the sequestration' });
    expect(decodeURIComponent(bad.location ?? '')).toContain('recoverability is a number from 0 to 1');
    const saved = await admin.post('/admin/rules', { _csrf: csrf, carc: '253', group: 'OA', category: 'pricing', recoverability: '0.10', nextStep: 'Sequestration: accept the reduction.' });
    expect(saved.status).toBe(303);
    const [payer] = await db.query<{ id: string }>(`SELECT id::text FROM practice_payer WHERE payer_id = '00621'`);
    expect((await admin.post('/admin/deadlines', { _csrf: csrf, payer: payer?.id ?? '', appeal: '60', filing: '180', noResponse: '21' })).status).toBe(303);
    const pageOf = await admin.get('/admin/rules');
    expect(pageOf.text).toContain('Sequestration: accept the reduction.');
    const c = await billed([{ code: 'CHG99214' }]);
    await postEra(svc.httpPort, write835(era([payment('EFT-W60', [claimPayment(c, () => ({ paid: '0', adjustments: [{ group: 'OA', reason: '253', amount: '185.00' }] }))])], 9160)));
    // The 835 is dated 2024-02-01: the payer's 60 days.
    expect((await items(`claim_id = $1`, [c.id]))[0]).toMatchObject({ category: 'pricing', deadline: '2024-04-01' });
    const biller = new WebClient(base);
    const bcsrf = await biller.signIn('biller@example.org', PASSWORD);
    expect((await biller.get('/admin/rules')).status).toBe(403);
    expect((await biller.post('/admin/rules', { _csrf: bcsrf, carc: '1', category: 'other', recoverability: '0.5', nextStep: 'nothing at all' })).status).toBe(403);
    expect((await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action IN ('rule.save', 'deadlines.save') ORDER BY id`)).map((a) => a.action)).toEqual(['rule.save', 'deadlines.save']);
  });

  it('lets an admin write a category\'s appeal template with placeholders, which new letters use; reset brings back the shipped text', async () => {
    const admin = new WebClient(base);
    const csrf = await admin.signIn('admin@example.org', PASSWORD);
    const bad = await admin.post('/admin/letters/medical_necessity', { _csrf: csrf, body: 'Please pay {amount} to {nobody} for this visit.' });
    expect(decodeURIComponent(bad.location ?? '')).toContain('{nobody} is not a placeholder');
    expect(decodeURIComponent((await admin.post('/admin/letters/medical_necessity', { _csrf: csrf, body: 'Too short' })).location ?? '')).toContain('20 to 4,000 characters');
    const body = 'Our physician documented why {patient} needed this test on {serviceDate}.\r\n\r\nWe ask {payer} to pay the {amount} denied with {carcs}.';
    expect((await admin.post('/admin/letters/medical_necessity', { _csrf: csrf, body })).status).toBe(303);
    const listed = await admin.get('/admin/letters');
    expect(listed.text).toContain('Edited by admin@example.org');
    expect(listed.text).toContain('We ask {payer} to pay the {amount} denied with {carcs}.');
    const biller = new WebClient(base);
    const bcsrf = await biller.signIn('biller@example.org', PASSWORD);
    expect((await biller.get('/admin/letters')).status).toBe(403);
    expect((await biller.post('/admin/letters/coding', { _csrf: bcsrf, body: 'A biller may not write the templates.' })).status).toBe(403);

    const letterText = async (trace: string, control: number): Promise<string> => {
      const c = await billed([{ code: 'CHG99214' }, { code: 'CHG93000' }]);
      await postEra(svc.httpPort, write835(era([payment(trace, [claimPayment(c, (l) => (l.procedureCode === '93000' ? { paid: '0', adjustments: [{ group: 'CO', reason: '50', amount: '62.50' }] } : {}))])], control)));
      const [item] = await items(`claim_id = $1`, [c.id]);
      const r = await biller.post(`/items/${item?.id ?? ''}/appeal`, { _csrf: bcsrf });
      const href = /href="(\/items\/\d+\/letters\/\d+\.pdf)"/.exec((await biller.get(r.location ?? '')).text)?.[1];
      const res = await fetch(base + (href ?? ''), { headers: { cookie: `hl7c_session=${biller.cookie('hl7c_session') ?? ''}` } });
      return checkPdf(Buffer.from(await res.arrayBuffer())).text.replace(/\n/g, ' ');
    };
    const custom = await letterText('EFT-W70', 9170);
    expect(custom).toContain('Our physician documented why JANE Q ZÖLLNER needed this test on 2024-01-05.');
    expect(custom).toContain('We ask BLUE CROSS BLUE SHIELD OF ILLINOIS to pay the 62.50 denied with CO-50.');
    expect(custom).not.toContain('medically necessary for this patient');
    expect((await admin.post('/admin/letters/medical_necessity/reset', { _csrf: csrf })).status).toBe(303);
    expect(await letterText('EFT-W71', 9171)).toContain('The service was medically necessary for this patient.');
    expect((await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action LIKE 'letter_template.%' ORDER BY id`)).map((a) => a.action)).toEqual(['letter_template.save', 'letter_template.reset']);
  });

  it('leaves no item without its denial and no event without its item', async () => {
    expect(await orphans(db)).toEqual([]);
  });
});
