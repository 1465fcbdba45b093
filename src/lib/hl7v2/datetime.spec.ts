import { formatHl7DateTime, hl7DateTimeToInstant, hl7DateTimeToIso, hl7DateToIso, parseHl7DateTime } from './datetime';

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
});
