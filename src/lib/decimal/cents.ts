/**
 * Money as integer cents for sums over many amounts (an 835 of 100,000 claims adds millions of
 * them): whole numbers of cents are exact in a JavaScript number up to 2^53, about 90 trillion
 * dollars; a sum past that throws rather than lose a cent. Amounts enter and leave as decimal
 * strings; no fraction is ever parsed as a float.
 */
const MONEY = /^([+-])?(\d*)(?:\.(\d{0,2}))?$/;

/** Cents of a decimal string with at most 2 fraction digits ("12.5" → 1250, "-.07" → -7); undefined when it is not one. */
export function toCents(value: string): number | undefined {
  const m = MONEY.exec(value);
  if (!m) return undefined;
  const [, sign, int = '', frac = ''] = m;
  if (int === '' && frac === '') return undefined;
  const cents = Number(int === '' ? '0' : int) * 100 + Number(frac.padEnd(2, '0'));
  if (!Number.isSafeInteger(cents)) return undefined;
  return sign === '-' ? -cents : cents;
}

/** "1234.50" from 123450; "-0.07" from -7. */
export function fromCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`${cents} is not a whole number of cents`);
  const neg = cents < 0;
  const abs = String(neg ? -cents : cents).padStart(3, '0');
  return `${neg ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`;
}

/** a + b, refusing to leave the exact range. */
export function addCents(a: number, b: number): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new RangeError('a sum of cents left the exact range of a number');
  return s;
}
