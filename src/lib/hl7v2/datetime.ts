/**
 * HL7 DT / DTM / TS values: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
 * Parsed with their precision and offset; nothing is invented (a date-only value has no time).
 */
export type Hl7Precision = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'fraction';

export interface Hl7DateTime {
  year: number;
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  second?: number;
  /** Fraction of a second as written, e.g. "2" for .2 (kept as text: no float rounding). */
  fraction?: string;
  /** Offset from UTC in minutes, when the value carries one. */
  offsetMinutes?: number;
  precision: Hl7Precision;
}

const DTM_RE = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(year: number, month: number): number {
  if (month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0)) return 29;
  return DAYS[month - 1] ?? 0;
}

/** Parses a DTM/TS value; undefined when it is not a valid one. TS's second component (precision) is ignored. */
export function parseHl7DateTime(value: string): Hl7DateTime | undefined {
  const m = DTM_RE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, off] = m;
  const r: Hl7DateTime = { year: Number(y), precision: 'year' };
  if (mo !== undefined) {
    r.month = Number(mo);
    if (r.month < 1 || r.month > 12) return undefined;
    r.precision = 'month';
  }
  if (d !== undefined) {
    r.day = Number(d);
    if (r.day < 1 || r.day > daysInMonth(r.year, r.month as number)) return undefined;
    r.precision = 'day';
  }
  if (h !== undefined) {
    r.hour = Number(h);
    if (r.hour > 23) return undefined;
    r.precision = 'hour';
  }
  if (mi !== undefined) {
    r.minute = Number(mi);
    if (r.minute > 59) return undefined;
    r.precision = 'minute';
  }
  if (s !== undefined) {
    r.second = Number(s);
    if (r.second > 59) return undefined;
    r.precision = 'second';
  }
  if (frac !== undefined) {
    r.fraction = frac;
    r.precision = 'fraction';
  }
  if (off !== undefined) {
    const sign = off.charAt(0) === '-' ? -1 : 1;
    const oh = Number(off.slice(1, 3));
    const om = Number(off.slice(3, 5));
    if (oh > 14 || om > 59) return undefined;
    r.offsetMinutes = sign * (oh * 60 + om);
  }
  return r;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** 'YYYY-MM-DD' when the value has at least day precision, else undefined. */
export function hl7DateToIso(dt: Hl7DateTime): string | undefined {
  if (dt.day === undefined) return undefined;
  return `${pad(dt.year, 4)}-${pad(dt.month as number)}-${pad(dt.day)}`;
}

/**
 * ISO-8601 local date-time as sent ('YYYY-MM-DDTHH:MM:SS[.fff]'), missing time parts as zero;
 * the offset is appended when the value had one. Undefined below day precision.
 */
export function hl7DateTimeToIso(dt: Hl7DateTime, withOffset = true): string | undefined {
  const date = hl7DateToIso(dt);
  if (date === undefined) return undefined;
  let s = `${date}T${pad(dt.hour ?? 0)}:${pad(dt.minute ?? 0)}:${pad(dt.second ?? 0)}`;
  if (dt.fraction !== undefined) s += '.' + dt.fraction;
  if (withOffset && dt.offsetMinutes !== undefined) {
    const o = Math.abs(dt.offsetMinutes);
    s += (dt.offsetMinutes < 0 ? '-' : '+') + pad(Math.floor(o / 60)) + ':' + pad(o % 60);
  }
  return s;
}

/** The instant, when the value carries an offset (otherwise the instant is unknown: undefined). */
export function hl7DateTimeToInstant(dt: Hl7DateTime): Date | undefined {
  if (dt.offsetMinutes === undefined) return undefined;
  const iso = hl7DateTimeToIso(dt, true);
  return iso === undefined ? undefined : new Date(iso);
}

/** Formats a JS date as an HL7 DTM in UTC with an explicit +0000 offset (used in our own ACKs). */
export function formatHl7DateTime(d: Date): string {
  return (
    pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) +
    pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds()) + '+0000'
  );
}
