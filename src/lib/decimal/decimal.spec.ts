import {
  addDecimal, compareDecimal, isDecimal, multiplyDecimal, negateDecimal, normalizeDecimal, roundDecimal, subtractDecimal,
} from './decimal';

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
