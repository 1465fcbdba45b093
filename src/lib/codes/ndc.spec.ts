import { normalizeNdc } from './ndc';

describe('normalizeNdc', () => {
  it('pads the 10-digit forms to 5-4-2 and keeps 11 digits', () => {
    expect(normalizeNdc('0409-1234-01')).toBe('00409123401');
    expect(normalizeNdc('12345-678-90')).toBe('12345067890');
    expect(normalizeNdc('12345-6789-0')).toBe('12345678900');
    expect(normalizeNdc('12345-6789-01')).toBe('12345678901');
    expect(normalizeNdc(' 00641036721 ')).toBe('00641036721');
  });

  it('refuses what is not an NDC', () => {
    for (const bad of ['0641036721', '123-45-6789', 'ABCDE-1234-12', '1234567890123', '']) expect(normalizeNdc(bad)).toBeUndefined();
  });
});
