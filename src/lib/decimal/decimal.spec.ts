import {
  addDecimal, compareDecimal, isDecimal, multiplyDecimal, negateDecimal, normalizeDecimal, roundDecimal, subtractDecimal,
} from './decimal';
import { addCents, fromCents, toCents } from './cents';

describe('decimal', () => {
  it('normalizes without losing digits', () => {
    expect(normalizeDecimal('185', 2)).toBe('185.00');
    expect(normalizeDecimal('+0125.10', 2)).toBe('125.10');
    expect(normalizeDecimal('-0.00', 2)).toBe('0.00');
    expect(normalizeDecimal('.5')).toBe('0.5');
    expect(normalizeDecimal('12345678901234567890.123456789')).toBe('12345678901234567890.123456789');
    expect(normalizeDecimal('1e3')).toBeUndefined();
    expect(normalizeDecimal('')).toBeUndefined();
    expect(isDecimal('1,000.00')).toBe(false);
  });

  it('adds, subtracts and multiplies exactly where floats do not', () => {
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(subtractDecimal('100.00', '33.33')).toBe('66.67');
    expect(multiplyDecimal('19.99', '3')).toBe('59.97');
    expect(negateDecimal('125.10')).toBe('-125.10');
    expect(compareDecimal('10.0', '9.99')).toBe(1);
    expect(compareDecimal('-1', '-1.00')).toBe(0);
  });

  it('rounds half away from zero', () => {
    expect(roundDecimal('2.345', 2)).toBe('2.35');
    expect(roundDecimal('-2.345', 2)).toBe('-2.35');
    expect(roundDecimal('2.344', 2)).toBe('2.34');
    expect(roundDecimal('7', 2)).toBe('7.00');
  });
});

describe('cents', () => {
  it('reads money strings exactly and refuses what is not whole cents', () => {
    expect([toCents('12.5'), toCents('-.07'), toCents('0'), toCents('100'), toCents('+3.10'), toCents('1234567890123.45')]).toEqual([1250, -7, 0, 10000, 310, 123456789012345]);
    expect([toCents('1.005'), toCents(''), toCents('.'), toCents('1e3'), toCents('12,50'), toCents('99999999999999999')]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    // 0.1 + 0.2 in floats is 0.30000000000000004; in cents it is 30.
    expect(fromCents(addCents(toCents('0.1') as number, toCents('0.2') as number))).toBe('0.30');
    expect([fromCents(-7), fromCents(5), fromCents(123450), fromCents(0)]).toEqual(['-0.07', '0.05', '1234.50', '0.00']);
    expect(() => addCents(Number.MAX_SAFE_INTEGER, 1)).toThrow(RangeError);
  });
});
