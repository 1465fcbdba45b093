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

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(year: number, month: number): number {
  if (month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0)) return 29;
  return DAYS[month - 1] ?? 0;
}

/** The number written by the two digits at i, or -1 when they are not two digits. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Parses a DTM/TS value, YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; undefined when it is not
 * a valid one. TS's second component (precision) is ignored. Read character by character (this
 * runs for every date of every message).
 */
export function parseHl7DateTime(value: string): Hl7DateTime | undefined {
  const v = value.trim();
  let end = v.length;
  let offsetMinutes: number | undefined;
  if (end >= 9) {
    const sign = v.charCodeAt(end - 5);
    if (sign === 43 || sign === 45) {
      const oh = two(v, end - 4);
      const om = two(v, end - 2);
      if (oh < 0 || om < 0 || oh > 14 || om > 59) return undefined;
      offsetMinutes = (sign === 45 ? -1 : 1) * (oh * 60 + om);
      end -= 5;
    }
  }
  let fraction: string | undefined;
  let main = end;
  if (end > 14) {
    if (v.charCodeAt(14) !== 46 || end < 16 || end > 19) return undefined;
    for (let i = 15; i < end; i++) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    fraction = v.slice(15, end);
    main = 14;
  }
  if (main < 4 || main % 2 !== 0) return undefined;
  const hi = two(v, 0);
  const lo = two(v, 2);
  if (hi < 0 || lo < 0) return undefined;
  const r: Hl7DateTime = { year: hi * 100 + lo, precision: 'year' };
  if (main >= 6) {
    const month = two(v, 4);
    if (month < 1 || month > 12) return undefined;
    r.month = month;
    r.precision = 'month';
  }
  if (main >= 8) {
    const day = two(v, 6);
    if (day < 1 || day > daysInMonth(r.year, r.month as number)) return undefined;
    r.day = day;
    r.precision = 'day';
  }
  if (main >= 10) {
    const hour = two(v, 8);
    if (hour < 0 || hour > 23) return undefined;
    r.hour = hour;
    r.precision = 'hour';
  }
  if (main >= 12) {
    const minute = two(v, 10);
    if (minute < 0 || minute > 59) return undefined;
    r.minute = minute;
    r.precision = 'minute';
  }
  if (main >= 14) {
    const second = two(v, 12);
    if (second < 0 || second > 59) return undefined;
    r.second = second;
    r.precision = 'second';
  }
  if (fraction !== undefined) {
    r.fraction = fraction;
    r.precision = 'fraction';
  }
  if (offsetMinutes !== undefined) r.offsetMinutes = offsetMinutes;
  return r;
}

const pad = (n: number, w = 2): string => (w === 2 && n >= 0 && n < 100 ? (n < 10 ? '0' + String(n) : String(n)) : String(n).padStart(w, '0'));

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
