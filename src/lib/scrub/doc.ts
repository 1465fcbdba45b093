/**
 * docs/SCRUBBER.md is written from the rules themselves, so that it cannot drift from them:
 * `node -r ./test/support/ts-register.js test/tools/scrubber-doc.ts > docs/SCRUBBER.md`; a unit
 * test fails when the file differs from what the rules say.
 */
import type { CodeSets } from '../codes/codesets';
import { RULES } from './rules';

const cellText = (s: string): string => s.replace(/\|/g, '\\|');

export function scrubberDoc(codes: CodeSets): string {
  const lines = [
    '# The claim scrubber',
    '',
    'Every claim is scrubbed when it is built, rebuilt (a new version) or corrected, before it can be',
    'batched. A finding of severity **error** holds the claim; a **warning** flags it. Findings are stored',
    'per claim version (`GET /api/claims/:id`), counted by rule and payer (`GET /api/scrub/summary`), and',
    'the line rules are shown on an encounter\'s charges as soon as they arrive (`GET /api/encounters/:id`).',
    '',
    '- **Per payer**: `PATCH /api/rules/:id` with `{"payerId": "...", "enabled": false}`, `{"severity": "warning"}` or',
    '  `{"params": {...}}` (without `payerId`: every payer). Unbatched claims are scrubbed again at once.',
    '- **Overrides**: `POST /api/claims/:id/overrides` with `{"ruleId", "line"?, "value"?, "reason"}` releases an',
    '  error on one claim; the reason and who made it are kept, and it still applies after the claim is rebuilt.',
    '- **Dry run**: `POST /api/scrub` with `{"claimIds": [...]}` or `{"encounterIds": [...]}`, or',
    '  `hl7-claims scrub [--claims ...] [--encounters ...] --json`, changes nothing.',
    '- **As of**: the rules compare dates with today (UTC), or with `SCRUB_AS_OF` when set.',
    '- **Code sets**: shipped in `src/lib/codes/data` (see its SOURCES.md); newer years and quarters, and the',
    '  licence-restricted NCCI and MUE files, are loaded with `hl7-claims codesets import KIND FILE`.',
    '  ICD-10-CM is chosen by the fiscal year of the date of service (1 October to 30 September).',
    '',
    '## Rules',
    '',
    '| id | severity | level | 837 location | prevents (CARC) | source |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of RULES) {
    lines.push(`| \`${r.id}\` | ${r.severity} | ${r.level} (${r.claimTypes.join(', ')}) | ${cellText(r.location)} | ${r.carc === '' ? 'the payer\'s usual one (named in each finding)' : `${r.carc}: ${cellText(codes.carc(r.carc) ?? '')}`} | ${cellText(r.source)} |`);
  }
  lines.push('');
  for (const r of RULES) {
    lines.push(`### \`${r.id}\`: ${r.title}`, '', r.description, '');
    const params = Object.entries(r.params);
    const range = (k: string): string => {
      const l = r.limits?.[k];
      return l ? ` (${l[0]} to ${l[1]})` : '';
    };
    if (params.length > 0) lines.push(`Parameters (defaults): ${params.map(([k, v]) => `\`${k}\` = \`${JSON.stringify(v)}\`${range(k)}`).join(', ')}.`, '');
  }
  return lines.join('\n');
}
