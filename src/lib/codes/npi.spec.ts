import { isValidNpi } from './npi';

describe('NPI check digit', () => {
  it('accepts NPIs whose check digit fits the 80840 prefix', () => {
    // 1234567893 is the CMS worked example.
    for (const npi of ['1234567893', '1987654328', '1456789019', '1678901236', '1765432103']) expect(isValidNpi(npi)).toBe(true);
  });

  it('refuses a wrong check digit, a transposition, and anything not 10 digits', () => {
    expect(isValidNpi('1234567890')).toBe(false);
    expect(isValidNpi('1234567839')).toBe(false);
    expect(isValidNpi('2134567893')).toBe(false);
    expect(isValidNpi('123456789')).toBe(false);
    expect(isValidNpi('12345678930')).toBe(false);
    expect(isValidNpi('123456789X')).toBe(false);
    expect(isValidNpi('')).toBe(false);
  });
});
