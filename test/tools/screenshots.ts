/**
 * Screenshots of the staff app for the README: signs in to a running service and saves the work
 * queue, an item and the dashboard as PNGs in docs/screenshots. Usage (after `hl7-claims demo
 * --keep`, `hl7-claims users add`, `npm start`):
 *   HL7C_URL=http://127.0.0.1:3000 HL7C_EMAIL=you@example.org HL7C_PASSWORD=... node -r ./test/support/ts-register.js test/tools/screenshots.ts
 */
import { join } from 'node:path';
import { launch } from '../support/browser';

async function main(): Promise<void> {
  const base = process.env.HL7C_URL ?? 'http://127.0.0.1:3000';
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${base}/signin`);
    await page.getByLabel('Email').fill(process.env.HL7C_EMAIL ?? '');
    await page.getByLabel('Password').fill(process.env.HL7C_PASSWORD ?? '');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    const out = join(__dirname, '..', '..', 'docs', 'screenshots');
    await page.screenshot({ path: join(out, 'queue.png'), fullPage: true });
    await page.locator('a.item-link').first().click();
    await page.getByRole('heading', { name: 'The story' }).waitFor();
    await page.screenshot({ path: join(out, 'item.png'), fullPage: true });
    await page.goto(`${base}/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard', exact: true }).waitFor();
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
