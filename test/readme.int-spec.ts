import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli';
import { createTestDatabase, type TestDatabase } from './support/db';

const ROOT = join(__dirname, '..');

interface Step {
  args: string[];
  expected: string[];
}

/** The README's walk-through block: `export` lines, `npx hl7-claims ...` commands, and the `# output` lines after each. */
function walkthrough(): { env: Record<string, string>; steps: Step[] } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- walkthrough -->\n```bash\n([\s\S]*?)```\n<!-- \/walkthrough -->/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no walk-through block');
  const env: Record<string, string> = {};
  const steps: Step[] = [];
  for (const raw of block.split('\n')) {
    const line = raw.trimEnd();
    const exported = /^export (\w+)=(\S+)/.exec(line);
    if (exported) env[exported[1] as string] = exported[2] as string;
    else if (line.startsWith('npx hl7-claims ')) steps.push({ args: line.replace(/\s+#.*$/, '').split(/\s+/).slice(2), expected: [] });
    else if (line.startsWith('# ')) steps[steps.length - 1]?.expected.push(line.slice(2));
    else if (line !== '') throw new Error(`walk-through line not understood: ${line}`);
  }
  return { env, steps };
}

/** An expected line with … standing for any text. */
const pattern = (line: string): RegExp => new RegExp(`^${line.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

describe('the README walk-through, as a newcomer runs it', () => {
  let db: TestDatabase;
  const saved = { ...process.env };
  const cwd = process.cwd();

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    process.chdir(cwd);
    process.env = saved;
    await db.drop();
  });

  it('ingests the feed, builds ready claims and writes the 837 files the README shows', async () => {
    const { env, steps } = walkthrough();
    expect(steps.length).toBeGreaterThanOrEqual(3);
    // A fresh folder holding the checkout's fixtures, as the commands are run from the checkout.
    const dir = mkdtempSync(join(tmpdir(), 'hl7c-readme-'));
    symlinkSync(join(ROOT, 'fixtures'), join(dir, 'fixtures'));
    process.chdir(dir);
    const clean: NodeJS.ProcessEnv = { ...saved };
    delete clean.SCRUB_AS_OF;
    delete clean.PRACTICE_FILE;
    delete clean.LOG_LEVEL;
    process.env = { ...clean, ...env, DATABASE_URL: db.url, DATA_DIR: join(dir, 'data') };
    for (const step of steps) {
      let out = '';
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        return true;
      });
      let code: number;
      try {
        code = await main(step.args);
      } finally {
        spy.mockRestore();
      }
      expect({ command: step.args.join(' '), code }).toEqual({ command: step.args.join(' '), code: 0 });
      const lines = out.trimEnd().split('\n');
      expect(lines).toHaveLength(step.expected.length);
      step.expected.forEach((e, i) => {
        expect(lines[i]).toMatch(pattern(e));
      });
    }
    expect(readdirSync(join(dir, 'out')).sort()).toEqual([expect.stringMatching(/^837I_/) as string, expect.stringMatching(/^837P_/) as string]);
  });
});
