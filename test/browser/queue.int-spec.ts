import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { StaffService } from '../../src/modules/staff/staff.service';
import { apiOf } from '../support/api';
import { axeSerious, describeBrowser, launch } from '../support/browser';
import { checkPdf } from '../support/pdf';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { visitDft } from '../support/hl7';
import { MllpClient } from '../support/mllp-client';
import { practiceWith } from '../support/practice';
import { claimPayment, era, payment, postEra, sendClaims, write835, type SentClaim } from '../support/remit';
import { startTestService } from '../support/service';

const CLI = { userId: null, name: 'cli', ip: null };
const PASSWORD = 'correct horse battery staple';

describeBrowser('a biller\'s morning in a real Chromium: filter the queue, open an item, work it, bulk-assign', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let base: string;
  let browser: Browser;
  let page: Page;
  const api = apiOf(() => svc.httpPort);
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-bq-'));
  const errors: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url, { PRACTICE_FILE: practiceWith({ type: 'directory', outbox: join(dir, 'outbox'), responses: join(dir, 'responses') }, dir) });
    base = `http://127.0.0.1:${svc.httpPort}`;
    await svc.app.get(StaffService).addUser('biller@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI });
    await svc.app.get(StaffService).addUser('second@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI });
    // Three claims sent and answered: a bundling denial (CO-97, N19), a coding denial (CO-4), an authorization denial (CO-197).
    const client = await MllpClient.connect(svc.mllpPort);
    const claims: SentClaim[] = [];
    for (let n = 1; n <= 3; n++) {
      expect(await client.send(visitDft({ ctl: `B-${n}`, mrn: `BM${n}`, visit: `BV${n}`, charges: [{ code: 'CHG99214' }, { code: 'CHG93000' }] }))).toMatch(/MSA\|AA/);
      const [e] = await db.query<{ id: string }>(`SELECT id FROM encounter WHERE visit_number = $1`, [`BV${n}`]);
      claims.push(...(await sendClaims(api, db, [(e as { id: string }).id])));
    }
    await client.close();
    const reasons = [['97', 'N19'], ['4', null], ['197', null]] as const;
    const text = write835(era([payment('EFT-B1', claims.map((c, i) => claimPayment(c, (l) => (l.procedureCode === '93000'
      ? { paid: '0', adjustments: [{ group: 'CO', reason: reasons[i]?.[0] ?? '97', amount: '62.50' }], remarks: reasons[i]?.[1] ? [reasons[i][1]] : [] } : {}))))]));
    expect((await postEra(svc.httpPort, text)).json).toMatchObject({ matched: 3 });
    browser = await launch();
    page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${base}/signin`);
    await page.getByLabel('Email').fill('biller@example.org');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
  });

  afterAll(async () => {
    await browser.close();
    await svc.stop();
    await db.drop();
  });

  it('lists the three denials by deadline, and filtering swaps the table and puts the filter in the URL', async () => {
    expect(await page.locator('table.queue caption').textContent()).toBe('3 items');
    expect(await page.locator('.bucket.later strong').textContent()).toBe('0');
    await page.getByLabel('Category').selectOption('coding');
    await page.waitForURL(/category=coding/);
    await page.locator('table.queue caption', { hasText: '1 item' }).waitFor();
    expect(await page.locator('table.queue tbody tr').count()).toBe(1);
    // The URL is the view: loading it directly renders the same.
    const url = page.url();
    await page.goto(url);
    expect(await page.locator('table.queue caption').textContent()).toBe('1 item');
    await page.goto(`${base}/`);
  });

  it('opens an item with the keyboard, reads why and the story, takes it and adds a note', async () => {
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/items\/\d+$/);
    await page.getByRole('heading', { name: 'The story' }).waitFor();
    expect(await page.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(6);
    expect(await page.getByText('Next step').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Take it' }).click();
    await page.getByRole('status').filter({ hasText: 'You own it now.' }).waitFor();
    await page.getByLabel('Add a note').fill('Modifier 59 was missing; replacement claim tomorrow.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByText('Modifier 59 was missing; replacement claim tomorrow.').waitFor();
    const id = /\/items\/(\d+)/.exec(page.url())?.[1];
    const [row] = await db.query<{ owner: string }>(`SELECT u.email AS owner FROM work_item w JOIN staff_user u ON u.id = w.owner_id WHERE w.id = $1`, [id]);
    expect(row?.owner).toBe('biller@example.org');
    expect(await axeSerious(page)).toEqual([]);
  });

  it('bulk-assigns the selected items after a confirmation with their count', async () => {
    await page.goto(`${base}/`);
    const boxes = page.locator('table.queue tbody input[name="ids"]');
    const messages: string[] = [];
    page.once('dialog', (d) => messages.push(d.message()));
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    expect(await page.locator('#selected-count').textContent()).toBe('2');
    await page.getByLabel('Assign to').selectOption({ label: 'second@example.org' });
    await page.getByRole('button', { name: 'Apply to selected' }).click();
    await page.getByRole('status').filter({ hasText: '2 item(s): 2 assigned' }).waitFor();
    expect(messages).toEqual(['Change the 2 selected item(s)?']);
    const owners = await db.query<{ email: string; n: string }>(`SELECT u.email, count(*)::text AS n FROM work_item w JOIN staff_user u ON u.id = w.owner_id GROUP BY u.email ORDER BY u.email`);
    expect(owners.find((o) => o.email === 'second@example.org')?.n).toBe('2');
    expect(await axeSerious(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('shows the dashboard with its charts, and a chart\'s bar leads to the items behind it', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard', exact: true }).waitFor();
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(4);
    expect(await axeSerious(page)).toEqual([]);
    await page.locator('svg[aria-label="Denied amount by category"] a').first().click();
    await page.waitForURL(/kind=denial.*category=/);
    expect(await page.locator('table.queue tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
  });

  it('takes denials to their end: CSV of the whole view, an appeal with its PDF letter, a write-off, a corrected claim', async () => {
    const itemOf = async (carc: string): Promise<string> =>
      (await db.query<{ id: string }>(`SELECT id::text FROM work_item WHERE kind = 'denial' AND category_carc = $1`, [carc]))[0]?.id ?? '';
    const download = async (click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> => {
      const [d] = await Promise.all([page.waitForEvent('download'), click()]);
      return { name: d.suggestedFilename(), bytes: readFileSync((await d.path())) };
    };

    // Every open item, whoever owns it: the CSV holds the whole filtered set, one row per item.
    await page.goto(`${base}/?owner=any`);
    const csv = await download(() => page.getByRole('link', { name: /Export all 3 as CSV/ }).click());
    expect(csv.name).toBe('work-queue.csv');
    const rows = csv.bytes.toString('utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^item,kind,claim,line,procedure,patient,payer,payer_id,category,carcs,/);
    expect(rows.slice(1).map((r) => /,(CO-\d+) 62\.50,/.exec(r)?.[1]).sort()).toEqual(['CO-197', 'CO-4', 'CO-97']);

    // Appeal the authorization denial; its letter downloads as a valid PDF with the argument.
    await page.goto(`${base}/items/${await itemOf('197')}`);
    await page.getByRole('button', { name: 'Appeal (letter as PDF)' }).click();
    await page.getByRole('status').filter({ hasText: /Appeal letter \d+ made/ }).waitFor();
    const letter = await download(() => page.getByRole('link', { name: /by biller@example\.org/ }).click());
    expect(letter.name).toMatch(/^appeal-\d+\.pdf$/);
    const text = checkPdf(letter.bytes).text.replace(/\n/g, ' ');
    expect(text).toContain('Adjustment CO-197');
    expect(text).toContain('Proof of timely filing');

    // Write off part of the bundling denial, within the biller's limit.
    const bundling = await itemOf('97');
    await page.goto(`${base}/items/${bundling}`);
    await page.getByLabel('Write off').fill('62.50');
    await page.getByLabel('reason').fill('Bundled by contract; not worth appealing');
    await page.getByRole('button', { name: 'Write off' }).click();
    await page.getByRole('status').waitFor();
    const [wo] = await db.query<{ amount: string; status: string }>(`SELECT o.amount::text AS amount, w.status FROM write_off o JOIN work_item w ON w.id = o.work_item_id WHERE w.id = $1`, [bundling]);
    expect(wo).toEqual({ amount: '62.50', status: 'written_off' });

    // Correct and resubmit the coding denial: a replacement claim (frequency 7) and the item resubmitted.
    const coding = await itemOf('4');
    await page.goto(`${base}/items/${coding}`);
    await page.getByRole('button', { name: 'Correct and resubmit' }).click();
    await page.getByRole('status').filter({ hasText: /Replacement claim \d+ made/ }).waitFor();
    const [replacement] = await db.query<{ frequency: string; status: string }>(
      `SELECT c.frequency, w.status FROM work_item w JOIN claim o ON o.id = w.claim_id JOIN claim c ON c.replaces_claim_id = o.id WHERE w.id = $1`, [coding]);
    expect(replacement).toEqual({ frequency: '7', status: 'resubmitted' });
    expect(await axeSerious(page)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('refuses a viewer\'s action, a signed-out request and a form without its CSRF token, and audits what people did', async () => {
    const id = (await db.query<{ id: string }>(`SELECT id::text FROM work_item WHERE kind = 'denial' ORDER BY id LIMIT 1`))[0]?.id ?? '';
    const before = await db.query(`SELECT status, owner_id, version FROM work_item WHERE id = $1`, [id]);
    // A viewer reads the item but has no buttons, and a hand-made request with their own CSRF token is refused.
    await svc.app.get(StaffService).addUser('viewer@example.org', 'viewer', PASSWORD, { mustChange: false, actor: CLI });
    const viewerContext = await browser.newContext();
    const viewer = await viewerContext.newPage();
    await viewer.goto(`${base}/signin`);
    await viewer.getByLabel('Email').fill('viewer@example.org');
    await viewer.getByLabel('Password').fill(PASSWORD);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.getByRole('heading', { name: 'Work queue' }).waitFor();
    await viewer.goto(`${base}/items/${id}`);
    await viewer.getByRole('heading', { name: 'The story' }).waitFor();
    expect(await viewer.getByRole('button', { name: 'Take it' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Write off' }).count()).toBe(0);
    const csrf = (await viewer.locator('meta[name="csrf-token"]').getAttribute('content')) ?? '';
    const viewerPost = await viewer.evaluate(async ([itemId, token]) => {
      const r = await fetch(`/items/${itemId}/assign`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token, owner: 'me' }).toString(), redirect: 'manual' });
      return r.status;
    }, [id, csrf] as const);
    expect(viewerPost).toBe(403);
    await viewerContext.close();

    // Signed out: the page leads to the sign-in page, and a form post is not acted on.
    const anonymousContext = await browser.newContext();
    const anonymous = await anonymousContext.newPage();
    await anonymous.goto(`${base}/items/${id}`);
    expect(new URL(anonymous.url()).pathname).toBe('/signin');
    const anonymousPost = await anonymous.evaluate(async (itemId) => (await fetch(`/items/${itemId}/note`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'note=sneaky', redirect: 'manual' })).type, id);
    expect(anonymousPost).toBe('opaqueredirect');
    await anonymousContext.close();

    // The biller's own session, but a form without the CSRF token: refused.
    const noToken = await page.evaluate(async (itemId) => (await fetch(`/items/${itemId}/note`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'note=forged', redirect: 'manual' })).status, id);
    expect(noToken).toBe(403);
    expect(await db.query(`SELECT status, owner_id, version FROM work_item WHERE id = $1`, [id])).toEqual(before);
    expect((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM work_item_event WHERE work_item_id = $1 AND note IN ('sneaky', 'forged')`, [id]))[0]?.n).toBe('0');

    // What people did in this browser is in the audit trail, under their names.
    const audit = await db.query<{ actor: string; action: string }>(`SELECT DISTINCT actor, action FROM audit_event WHERE action LIKE 'work.%' OR action = 'sign_in' ORDER BY actor, action`);
    expect(audit).toEqual(expect.arrayContaining([
      { actor: 'biller@example.org', action: 'work.view' }, { actor: 'biller@example.org', action: 'work.note' }, { actor: 'biller@example.org', action: 'work.appeal' },
      { actor: 'biller@example.org', action: 'work.write_off' }, { actor: 'biller@example.org', action: 'work.resubmit' }, { actor: 'viewer@example.org', action: 'work.view' },
    ]));
    expect(audit.filter((a) => a.actor === 'viewer@example.org').map((a) => a.action)).not.toContain('work.status');
  });
});
