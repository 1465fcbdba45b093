import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { StaffService } from '../../src/modules/staff/staff.service';
import { apiOf } from '../support/api';
import { axeSerious, describeBrowser, launch } from '../support/browser';
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
});
