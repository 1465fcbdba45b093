import fc from 'fast-check';
import { formatHl7DateTime, hl7DateTimeToInstant, hl7DateTimeToIso, hl7DateToIso, parseHl7DateTime, type Hl7DateTime } from './datetime';

/** The DTM grammar as one regular expression: the reference the hand-written parser is held to. */
const DTM_RE = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;
function referenceParse(value: string): Hl7DateTime | undefined {
  const m = DTM_RE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, off] = m;
  const r: Hl7DateTime = { year: Number(y), precision: 'year' };
  const leap = (yr: number): boolean => (yr % 4 === 0 && yr % 100 !== 0) || yr % 400 === 0;
  const days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo !== undefined) { r.month = Number(mo); if (r.month < 1 || r.month > 12) return undefined; r.precision = 'month'; }
  if (d !== undefined) {
    r.day = Number(d);
    const max = r.month === 2 && leap(r.year) ? 29 : (days[(r.month as number) - 1] as number);
    if (r.day < 1 || r.day > max) return undefined;
    r.precision = 'day';
  }
  if (h !== undefined) { r.hour = Number(h); if (r.hour > 23) return undefined; r.precision = 'hour'; }
  if (mi !== undefined) { r.minute = Number(mi); if (r.minute > 59) return undefined; r.precision = 'minute'; }
  if (s !== undefined) { r.second = Number(s); if (r.second > 59) return undefined; r.precision = 'second'; }
  if (frac !== undefined) { r.fraction = frac; r.precision = 'fraction'; }
  if (off !== undefined) {
    const oh = Number(off.slice(1, 3));
    const om = Number(off.slice(3, 5));
    if (oh > 14 || om > 59) return undefined;
    r.offsetMinutes = (off.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  return r;
}

describe('HL7 dates', () => {
  it('keeps the precision that was sent', () => {
    expect(parseHl7DateTime('2024')?.precision).toBe('year');
    expect(parseHl7DateTime('202402')?.precision).toBe('month');
    expect(parseHl7DateTime('20240229')).toMatchObject({ year: 2024, month: 2, day: 29, precision: 'day' });
    expect(parseHl7DateTime('202402291530')?.precision).toBe('minute');
    expect(parseHl7DateTime('20120711120510.2-0500')).toMatchObject({ second: 10, fraction: '2', offsetMinutes: -300, precision: 'fraction' });
  });

  it('rejects impossible dates', () => {
    expect(parseHl7DateTime('20230229')).toBeUndefined();
    expect(parseHl7DateTime('20241301')).toBeUndefined();
    expect(parseHl7DateTime('2024010125')).toBeUndefined();
    expect(parseHl7DateTime('2024-01-01')).toBeUndefined();
    expect(parseHl7DateTime('')).toBeUndefined();
    expect(parseHl7DateTime('20240101+2500')).toBeUndefined();
  });

  it('converts to ISO forms and to an instant only when the offset is known', () => {
    const dt = parseHl7DateTime('20240105233000+0530');
    if (!dt) throw new Error('parse failed');
    expect(hl7DateToIso(dt)).toBe('2024-01-05');
    expect(hl7DateTimeToIso(dt)).toBe('2024-01-05T23:30:00+05:30');
    expect(hl7DateTimeToInstant(dt)?.toISOString()).toBe('2024-01-05T18:00:00.000Z');
    const local = parseHl7DateTime('20240105');
    if (!local) throw new Error('parse failed');
    expect(hl7DateTimeToInstant(local)).toBeUndefined();
    expect(hl7DateToIso(parseHl7DateTime('202401') ?? { year: 0, precision: 'year' })).toBeUndefined();
  });

  it('formats our own timestamps in UTC', () => {
    expect(formatHl7DateTime(new Date('2024-03-01T04:05:06Z'))).toBe('20240301040506+0000');
  });

  it('agrees with the DTM grammar written as a regular expression, on well-formed and malformed values', () => {
    const digits = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '5', '9'), minLength: min, maxLength: max });
    const wellFormedish = fc
      .tuple(digits(4, 14), fc.option(digits(0, 5)), fc.option(fc.tuple(fc.constantFrom('+', '-', '.', 'x'), digits(0, 5))), fc.constantFrom('', ' ', '\t'))
      .map(([main, frac, off, pad]) => pad + main + (frac === null ? '' : '.' + frac) + (off === null ? '' : off[0] + off[1]) + pad);
    fc.assert(
      fc.property(fc.oneof(wellFormedish, fc.string({ maxLength: 24 }), fc.string({ unit: fc.constantFrom('0', '1', '2', '9', '+', '-', '.'), maxLength: 26 })), (s) => {
        expect(parseHl7DateTime(s)).toEqual(referenceParse(s));
      }),
      { numRuns: 20000 },
    );
  });
});
