/**
 * Exact decimal arithmetic on strings, for money and quantities. Values are held as a BigInt
 * of units and a scale (number of fraction digits); no float ever touches an amount.
 */
interface Scaled {
  units: bigint;
  scale: number;
}

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?$/;

function toScaled(value: string): Scaled | undefined {
  const m = DECIMAL_RE.exec(value.trim());
  if (!m) return undefined;
  const [, sign, int = '', frac = ''] = m;
  if (int === '' && frac === '') return undefined;
  const units = BigInt((int || '0') + frac);
  return { units: sign === '-' ? -units : units, scale: frac.length };
}

function fromScaled(s: Scaled): string {
  const neg = s.units < 0n;
  let digits = (neg ? -s.units : s.units).toString();
  if (s.scale > 0) {
    digits = digits.padStart(s.scale + 1, '0');
    digits = digits.slice(0, -s.scale) + '.' + digits.slice(-s.scale);
  }
  return (neg ? '-' : '') + digits;
}

function align(a: Scaled, b: Scaled): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

function must(value: string): Scaled {
  const s = toScaled(value);
  if (!s) throw new RangeError(`not a decimal number: "${value}"`);
  return s;
}

/** True when `value` is a plain decimal number ("12", "-3.50", ".5"). */
export function isDecimal(value: string): boolean {
  return toScaled(value) !== undefined;
}

/**
 * Canonical form: no '+', no leading zeros, trailing fraction zeros kept to `minScale` digits
 * (money keeps 2: "185" → "185.00" with minScale 2). Undefined when not a number.
 */
export function normalizeDecimal(value: string, minScale = 0): string | undefined {
  // String arithmetic only (no BigInt): this runs for every amount and quantity of every message.
  const m = DECIMAL_RE.exec(value.trim());
  if (!m) return undefined;
  const [, sign, intRaw = '', fracRaw = ''] = m;
  if (intRaw === '' && fracRaw === '') return undefined;
  let int = intRaw.replace(/^0+/, '');
  if (int === '') int = '0';
  let frac = fracRaw;
  let end = frac.length;
  while (end > minScale && frac.charCodeAt(end - 1) === 0x30) end--;
  frac = frac.slice(0, end);
  if (frac.length < minScale) frac = frac.padEnd(minScale, '0');
  const zero = int === '0' && !/[1-9]/.test(frac);
  return (sign === '-' && !zero ? '-' : '') + int + (frac === '' ? '' : '.' + frac);
}

export function addDecimal(a: string, b: string): string {
  const [x, y, scale] = align(must(a), must(b));
  return fromScaled({ units: x + y, scale });
}

export function subtractDecimal(a: string, b: string): string {
  const [x, y, scale] = align(must(a), must(b));
  return fromScaled({ units: x - y, scale });
}

export function multiplyDecimal(a: string, b: string): string {
  const x = must(a);
  const y = must(b);
  return fromScaled({ units: x.units * y.units, scale: x.scale + y.scale });
}

export function negateDecimal(a: string): string {
  const x = must(a);
  return fromScaled({ units: -x.units, scale: x.scale });
}

export function absDecimal(a: string): string {
  const x = must(a);
  return fromScaled({ units: x.units < 0n ? -x.units : x.units, scale: x.scale });
}

/** -1, 0 or 1. */
export function compareDecimal(a: string, b: string): number {
  const [x, y] = align(must(a), must(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isNegativeDecimal(a: string): boolean {
  return must(a).units < 0n;
}

export function isZeroDecimal(a: string): boolean {
  return must(a).units === 0n;
}

/** Rounds half away from zero to `scale` fraction digits (money: 2). */
export function roundDecimal(a: string, scale: number): string {
  const x = must(a);
  if (x.scale <= scale) return normalizeDecimal(a, scale) as string;
  const drop = 10n ** BigInt(x.scale - scale);
  const neg = x.units < 0n;
  const abs = neg ? -x.units : x.units;
  let q = abs / drop;
  if ((abs % drop) * 2n >= drop) q += 1n;
  return normalizeDecimal(fromScaled({ units: neg ? -q : q, scale }), scale) as string;
}
