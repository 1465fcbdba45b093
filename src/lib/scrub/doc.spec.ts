import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodeSets } from '../codes/codesets';
import { scrubberDoc } from './doc';
import { RULES } from './rules';

describe('docs/SCRUBBER.md', () => {
  it('is what the rules say (regenerate with test/tools/scrubber-doc.ts)', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'SCRUBBER.md'), 'utf8');
    expect(doc).toBe(scrubberDoc(CodeSets.shipped()) + '\n');
    for (const r of RULES) expect(doc).toContain(`### \`${r.id}\``);
  });
});
