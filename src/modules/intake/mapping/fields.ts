import {
  Hl7Error, Hl7ErrorCode, hl7DateTimeToIso, hl7DateToIso, parseHl7DateTime, type Hl7Location, type Segment,
} from '../../../lib/hl7v2';
import { normalizeDecimal } from '../../../lib/decimal';
import type { Provider } from '../../encounters/encounter.entity';
import type { PostalAddress } from '../../encounters/patient.entity';
import type { Update } from './records';

/** Segment position helper: the location used in errors (`FT1[2]-11`). */
export function at(seg: Segment, sequence: number, field: number, component?: number): Hl7Location {
  return { segment: seg.name, sequence, field, component };
}

/** A natural key from parts, with '|' and '\' escaped so that different parts never collide. */
export function keyOf(...parts: string[]): string {
  return parts.map((p) => p.replace(/\\/g, '\\\\').replace(/\|/g, '\\|')).join('|');
}

/** Tri-state text: undefined when empty, null for the HL7 null, else trimmed text. */
export function text(seg: Segment, field: number, component = 1, repetition = 1, sub = 1): Update<string> {
  const v = seg.valueOrNull(field, repetition, component, sub);
  if (v === null || v === undefined) return v;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** A whole number field (set ids, priorities); undefined when empty or not a whole number. */
export function int(seg: Segment, field: number): number | undefined {
  const v = opt(seg, field);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Plain optional text (empty and HL7 null both → undefined), for records that are replaced whole. */
export function opt(seg: Segment, field: number, component = 1, repetition = 1, sub = 1): string | undefined {
  return text(seg, field, component, repetition, sub) ?? undefined;
}

/**
 * Problems found in fields billing can do without (an unreadable admit time, a procedure date):
 * the value is dropped and the message is still applied, with the warning stored on it.
 */
export type Warnings = string[];

function dateValue(seg: Segment, sequence: number, field: number, component: number, withTime: boolean, warnings?: Warnings): Update<string> {
  const raw = seg.valueOrNull(field, 1, component, 1);
  if (raw === null || raw === undefined) return raw;
  const t = raw.trim();
  if (t === '') return undefined;
  const dt = parseHl7DateTime(t);
  if (!dt) {
    const err = new Hl7Error('is not a valid HL7 date/time (YYYYMMDD[HHMM[SS]][+ZZZZ])', Hl7ErrorCode.DataTypeError, at(seg, sequence, field, component === 1 ? undefined : component));
    if (warnings === undefined) throw err;
    warnings.push(`${err.message}; value ignored`);
    return undefined;
  }
  // Below day precision there is no date to store: treated as not sent.
  return withTime ? hl7DateTimeToIso(dt, false) : hl7DateToIso(dt);
}

/**
 * A DT/DTM field as 'YYYY-MM-DD'. Malformed: a located error, or, when `warnings` is given
 * (a field billing can do without), a warning and undefined.
 */
export function date(seg: Segment, sequence: number, field: number, component = 1, warnings?: Warnings): Update<string> {
  return dateValue(seg, sequence, field, component, false, warnings);
}

/** A DTM field as local 'YYYY-MM-DDTHH:MM:SS' (wall time as sent; the offset is not applied). */
export function dateTime(seg: Segment, sequence: number, field: number, component = 1, warnings?: Warnings): Update<string> {
  return dateValue(seg, sequence, field, component, true, warnings);
}

/**
 * A decimal (NM/MO) as an exact decimal string; throws a located error when malformed, too large,
 * or more precise than its column (`maxScale` fraction digits): a value is never rounded silently
 * (FT1-11 75.005 is refused, not stored as 75.01).
 */
export function decimal(seg: Segment, sequence: number, field: number, component = 1, sub = 1, scale = 0, maxScale?: number): string | undefined {
  const raw = seg.valueOrNull(field, 1, component, sub);
  if (raw === null || raw === undefined) return undefined;
  const t = raw.trim();
  if (t === '') return undefined;
  const n = normalizeDecimal(t, scale);
  const fail = (why: string): Hl7Error =>
    new Hl7Error(why, Hl7ErrorCode.DataTypeError, { ...at(seg, sequence, field, component === 1 && sub === 1 ? undefined : component), subcomponent: sub === 1 ? undefined : sub });
  if (n === undefined) throw fail('is not a number');
  // NUMERIC(12,2)/(12,3) columns: at most 9 integer digits.
  const dot = n.indexOf('.');
  const intDigits = (dot < 0 ? n.length : dot) - (n.startsWith('-') ? 1 : 0);
  if (intDigits > 9) throw fail('is too large (limit 999,999,999)');
  if (maxScale !== undefined && dot >= 0 && n.length - dot - 1 > maxScale) {
    throw fail(maxScale === 2 ? `${t} has more than 2 decimal places: amounts are whole cents and are never rounded` : `${t} has more than ${maxScale} decimal places`);
  }
  return n;
}

/** XCN (extended composite id and name) of one repetition text. NPI when XCN-9 or XCN-13 says so. */
export function providers(seg: Segment, field: number): Provider | undefined {
  const reps = seg.repetitions(field);
  let result: Provider | undefined;
  for (const rep of reps) {
    const id = seg.componentOf(rep, 1).trim();
    const family = seg.componentOf(rep, 2).trim();
    const given = seg.componentOf(rep, 3).trim();
    const authority = seg.componentOf(rep, 9).trim().toUpperCase();
    const idType = seg.componentOf(rep, 13).trim().toUpperCase();
    if (id === '' && family === '') continue;
    result ??= {};
    if (id !== '' && (authority === 'NPI' || idType === 'NPI')) result.npi ??= id;
    else if (id !== '') result.id ??= id;
    if (family !== '') result.family ??= family;
    if (given !== '') result.given ??= given;
  }
  return result;
}

/** XAD: street, other designation, city, state, zip, country (first repetition). */
export function address(seg: Segment, field: number): Update<PostalAddress> {
  const raw = seg.rawField(field);
  if (raw === '""') return null;
  const rep = seg.repetitions(field)[0];
  if (rep === undefined) return undefined;
  const a: PostalAddress = {};
  const put = (k: keyof PostalAddress, c: number): void => {
    const v = seg.componentOf(rep, c).trim();
    if (v !== '') a[k] = v;
  };
  put('line1', 1);
  put('line2', 2);
  put('city', 3);
  put('state', 4);
  put('zip', 5);
  put('country', 6);
  return Object.keys(a).length === 0 ? undefined : a;
}

/** XTN: the number in XTN-1, else area code and local number (XTN-6, XTN-7). */
export function phone(seg: Segment, field: number): Update<string> {
  if (seg.rawField(field) === '""') return null;
  for (const rep of seg.repetitions(field)) {
    const n = seg.componentOf(rep, 1).trim();
    if (n !== '') return n;
    const area = seg.componentOf(rep, 6).trim();
    const local = seg.componentOf(rep, 7).trim();
    if (local !== '') return area === '' ? local : `(${area})${local}`;
  }
  return undefined;
}

/** XPN/XCN-style name in component positions family=1, given=2, middle=3. */
export function personName(seg: Segment, field: number): { family?: string; given?: string; middle?: string } | undefined {
  const rep = seg.repetitions(field)[0];
  if (rep === undefined) return undefined;
  const n: { family?: string; given?: string; middle?: string } = {};
  const family = seg.componentOf(rep, 1).trim();
  const given = seg.componentOf(rep, 2).trim();
  const middle = seg.componentOf(rep, 3).trim();
  if (family !== '') n.family = family;
  if (given !== '') n.given = given;
  if (middle !== '') n.middle = middle;
  return Object.keys(n).length === 0 ? undefined : n;
}
