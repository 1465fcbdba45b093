import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { EXAMPLE_PRACTICE_FILE } from './practice.service';
import { parsePracticeSetup, PracticeSetupError, readPracticeSetup } from './practice.setup';

const example = (): Record<string, unknown> => parse(readFileSync(EXAMPLE_PRACTICE_FILE, 'utf8')) as Record<string, unknown>;
function problemsOf(mutate: (s: Record<string, any>) => void): string[] {
  const s = example();
  mutate(s);
  try {
    parsePracticeSetup(stringify(s), 'test.yaml');
  } catch (e) {
    if (e instanceof PracticeSetupError) return e.problems;
    throw e;
  }
  return [];
}

describe('practice setup file', () => {
  it('reads the shipped example (YAML) and the same content as JSON', () => {
    const s = readPracticeSetup(EXAMPLE_PRACTICE_FILE);
    expect(s.billingProviders.map((p) => p.key)).toEqual(['stmary-cardiology', 'stmary-hospital']);
    expect(s.clearinghouses[0]?.delimiters).toMatchObject({ element: '*', component: ':', segment: '~' });
    expect(parsePracticeSetup(JSON.stringify(example())).payers).toHaveLength(3);
  });

  it('names the entry and field of every problem', () => {
    expect(problemsOf((s) => { s.billingProviders[0].npi = '1234567890'; })).toEqual(['billingProviders[0].npi: must be a valid 10-digit NPI (Luhn check digit with the 80840 prefix)']);
    expect(problemsOf((s) => { s.billingProviders[1].address.zip = '62769'; })).toEqual(["billingProviders[1].address.zip: the billing provider's ZIP must have 9 digits (ZIP+4)"]);
    expect(problemsOf((s) => { s.payers[2].clearinghouse = 'nowhere'; })).toEqual(['payers[2].clearinghouse: no clearinghouse has key "nowhere"']);
    expect(problemsOf((s) => { s.payers[1].hl7Ids.push('BCBS'); })).toEqual(['payers[1].hl7Ids: "BCBS" also maps to payers[0]']);
    expect(problemsOf((s) => { delete s.facilities[0].placeOfService; })).toEqual(['facilities[0].placeOfService: required for professional claims']);
    expect(problemsOf((s) => { s.facilities[1].billingProvider = 'x'; })).toEqual(['facilities[1].billingProvider: no billing provider has key "x"']);
    expect(problemsOf((s) => { s.clearinghouses[0].usage = 'X'; })).toEqual(['clearinghouses[0].usage: must be T (test) or P (production)']);
    expect(problemsOf((s) => { delete s.submitter.id; })).toEqual(['submitter.id: is required']);
    expect(problemsOf((s) => { s.chargemaster[0].price = '12.345'; })).toEqual(['chargemaster[0].price: must be a decimal amount like 185.00']);
    expect(problemsOf((s) => { s.payers[0].claimFilingIndicator = 'XX'; })[0]).toMatch(/^payers\[0\]\.claimFilingIndicator: must be one of 11, 12/);
    expect(problemsOf((s) => { s.payers[0].surprise = 1; })).toEqual(['payers[0].surprise: property surprise should not exist']);
  });

  it('refuses text that is not YAML or JSON, and a file that cannot be read', () => {
    expect(() => parsePracticeSetup('a: [1, 2', 'broken.yaml')).toThrow(/broken.yaml is not valid:\n {2}- not readable as YAML or JSON/);
    expect(() => readPracticeSetup('/nonexistent/practice.yaml')).toThrow(/cannot be read: ENOENT/);
  });
});
