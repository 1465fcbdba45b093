/**
 * Debian's Chromium driven by playwright-core through `executablePath`: no browser is ever
 * downloaded. `.ci/run` installs the `chromium` package when missing; on a machine without it the
 * browser suites are skipped with a message, unless HL7C_REQUIRE_BROWSER=1 (as in CI), where they
 * fail instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => p !== undefined && p !== '' && existsSync(p));
if (CHROMIUM === undefined && process.env.HL7C_REQUIRE_BROWSER === '1') throw new Error('HL7C_REQUIRE_BROWSER=1 but Chromium is missing (apt-get install chromium)');
if (CHROMIUM === undefined) process.stderr.write('browser suites skipped: no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM_PATH)\n');

/** `describe` when Chromium is there, `describe.skip` otherwise (outside jest, nothing). */
export const describeBrowser: jest.Describe = typeof describe === 'undefined' ? ((() => undefined) as unknown as jest.Describe) : CHROMIUM !== undefined ? describe : describe.skip;

export async function launch(): Promise<Browser> {
  if (CHROMIUM === undefined) throw new Error('no Chromium');
  // The machine has no internet: Chromium's own background traffic is switched off.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--disable-default-apps'],
  });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core (WCAG 2.x A/AA rules) run inside the page; the serious and critical violations. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  // The page's CSP forbids inline script, so axe is evaluated through the DevTools protocol, not a <script>.
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(opts: unknown): Promise<{ violations: AxeViolation[]; passes: unknown[] }> } }).axe;
    return axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
  });
  if (result.passes.length === 0) throw new Error('axe checked nothing on the page');
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
