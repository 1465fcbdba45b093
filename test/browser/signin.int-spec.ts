import type { Browser, Page } from 'playwright-core';
import { StaffService } from '../../src/modules/staff/staff.service';
import { axeSerious, describeBrowser, launch } from '../support/browser';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startTestService } from '../support/service';

const CLI = { userId: null, name: 'cli', ip: null };
const PASSWORD = 'correct horse battery staple';

describeBrowser('the staff app in a real Chromium: sign-in, a forced password change, keyboard, accessibility', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let base: string;
  let browser: Browser;
  const consoleErrors: string[] = [];

  const newPage = async (): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    return page;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url);
    base = `http://127.0.0.1:${svc.httpPort}`;
    const staff = svc.app.get(StaffService);
    await staff.addUser('admin@example.org', 'admin', PASSWORD, { mustChange: false, actor: CLI });
    await staff.addUser('fresh@example.org', 'biller', 'one-time-password-123', { mustChange: true, actor: CLI });
    browser = await launch();
  });

  afterAll(async () => {
    await browser.close();
    await svc.stop();
    await db.drop();
  });

  it('signs in with the keyboard alone, lands on the queue, and signs out', async () => {
    const page = await newPage();
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/signin`);
    // The email field has focus on arrival; Tab to the password, Enter submits.
    await page.keyboard.type('admin@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/`);
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    expect(await page.getByRole('link', { name: 'Audit trail' }).isVisible()).toBe(true);
    // htmx loaded from the service itself (no CDN) and running.
    expect(await page.evaluate(() => typeof (globalThis as unknown as { htmx?: { version: string } }).htmx?.version)).toBe('string');
    expect(await page.evaluate(() => (globalThis as unknown as { htmx: { version: string } }).htmx.version)).toBe('2.0.11');
    // The first Tab stop is the skip link, and it is visible when focused.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent)).toBe('Skip to content');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/signin`);
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/signin`);
    expect(consoleErrors).toEqual([]);
  });

  it('shows the same refusal for a wrong password, and a one-time password leads to choosing a new one', async () => {
    const page = await newPage();
    await page.goto(`${base}/signin`);
    await page.getByLabel('Email').fill('fresh@example.org');
    await page.getByLabel('Password').fill('not it at all, sorry');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('The email or password is wrong');
    await page.getByLabel('Password').fill('one-time-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/account/password`);
    await page.getByLabel('Current password').fill('one-time-password-123');
    await page.getByLabel('New password', { exact: true }).fill('my own long passphrase');
    await page.getByLabel('New password again').fill('my own long passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').waitFor();
    await page.getByRole('link', { name: 'Go to the work queue' }).click();
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    const [row] = await db.query<{ must: boolean }>(`SELECT must_change_password AS must FROM staff_user WHERE email = 'fresh@example.org'`);
    expect(row?.must).toBe(false);
    // The refused sign-in answered 401, which the browser reports; nothing else went wrong.
    expect(consoleErrors.splice(0)).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  });

  it('has no serious or critical accessibility violations on the sign-in, queue, audit, rules and appeal-letter pages', async () => {
    const page = await newPage();
    await page.goto(`${base}/signin`);
    expect(await axeSerious(page)).toEqual([]);
    await page.getByLabel('Email').fill('admin@example.org');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    expect(await axeSerious(page)).toEqual([]);
    await page.goto(`${base}/admin/audit`);
    expect(await axeSerious(page)).toEqual([]);
    await page.goto(`${base}/admin/rules`);
    expect(await axeSerious(page)).toEqual([]);
    await page.goto(`${base}/admin/letters`);
    expect(await axeSerious(page)).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
