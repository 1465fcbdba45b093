/**
 * Interchange (ISA/IEA), functional group (GS/GE) and transaction set (ST/SE) envelopes, with the
 * fixed widths and counts X12.5/X12.6 prescribe.
 */
import { X12ValueError, type X12Delimiters, type X12Writer } from './writer';

export interface InterchangeHeader {
  /** ISA05/ISA07 qualifiers (ZZ mutually defined, 01 DUNS, 30 federal TIN, ...). */
  senderQualifier: string;
  senderId: string;
  receiverQualifier: string;
  receiverId: string;
  /** ISA13: 1..999,999,999, unique per sender. */
  controlNumber: number;
  /** ISA15: T test, P production. */
  usage: 'T' | 'P';
  /** ISA14: a TA1 is requested. */
  ackRequested: boolean;
  createdAt: Date;
}

export interface GroupHeader {
  /** GS02/GS03 application sender and receiver codes. */
  senderCode: string;
  receiverCode: string;
  /** GS06: 1..999,999,999. */
  controlNumber: number;
  /** GS08/ST03: 005010X222A1 (837P) or 005010X223A2 (837I), 005010X221A1 (835). */
  version: string;
  /** GS01: HC claims (default), HP claim payment/advice. */
  functionalId?: string;
  createdAt: Date;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** The clock is injected; times are written in UTC so that the same instant gives the same file. */
export const ccyymmdd = (d: Date): string => `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}`;
export const hhmm = (d: Date): string => `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}`;

function fixed(value: string, width: number, what: string): string {
  if (value.length > width) throw new X12ValueError(`longer than ${width} characters`, what);
  return value.padEnd(width, ' ');
}

function controlNumber(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 999_999_999) throw new X12ValueError(`control number ${n} is not between 1 and 999999999`, what);
  return n;
}

/** ISA: every element has a fixed width (spaces and zeros pad), so the segment is always 106 characters. */
export function writeIsa(w: X12Writer, h: InterchangeHeader): void {
  const d: X12Delimiters = w.d;
  const e = d.element;
  const isa = [
    'ISA', '00', ' '.repeat(10), '00', ' '.repeat(10),
    fixed(h.senderQualifier, 2, 'ISA05'), fixed(h.senderId, 15, 'ISA06'), fixed(h.receiverQualifier, 2, 'ISA07'), fixed(h.receiverId, 15, 'ISA08'),
    ccyymmdd(h.createdAt).slice(2), hhmm(h.createdAt), d.repetition, '00501', String(controlNumber(h.controlNumber, 'ISA13')).padStart(9, '0'),
    h.ackRequested ? '1' : '0', h.usage, d.component,
  ].join(e);
  w.raw(isa + d.segment + (d.newline ? '\n' : ''));
}

export function writeIea(w: X12Writer, groups: number, h: InterchangeHeader): void {
  w.segment('IEA', String(groups), String(h.controlNumber).padStart(9, '0'));
}

export function writeGs(w: X12Writer, g: GroupHeader): void {
  w.segment('GS', g.functionalId ?? 'HC', g.senderCode, g.receiverCode, ccyymmdd(g.createdAt), hhmm(g.createdAt), String(controlNumber(g.controlNumber, 'GS06')), 'X', g.version);
}

export function writeGe(w: X12Writer, transactions: number, g: GroupHeader): void {
  w.segment('GE', String(transactions), String(g.controlNumber));
}

/** ST02: 4 to 9 characters, unique within the group. */
export function transactionControlNumber(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 999_999_999) throw new X12ValueError(`control number ${n} is not between 1 and 999999999`, 'ST02');
  return String(n).padStart(4, '0');
}

/** Starts a transaction set: ST, after which the writer counts segments for SE01. */
export function writeSt(w: X12Writer, type: string, control: string, version: string): void {
  w.resetCount();
  w.segment('ST', type, control, version);
}

/** SE01 counts every segment from ST to SE, both included. */
export function writeSe(w: X12Writer, control: string): void {
  w.segment('SE', String(w.count + 1), control);
}
