/**
 * An 835 as a payer writes it (005010X221A1): for the demo (a payment for the claims it sent),
 * the tests and the benchmark. Transactions are written one claim at a time to a sink, so a file
 * of any size can be streamed. Amounts are decimal strings; BPR02 is ΣCLP04 - ΣPLB unless given.
 */
import { addCents, fromCents, toCents } from '../decimal';
import { writeGe, writeGs, writeIea, writeIsa, writeSe, writeSt, type GroupHeader, type InterchangeHeader } from './envelope';
import { x12Date, x12Decimal, X12Writer, type X12Delimiters } from './writer';

export interface Era835Adjustment {
  group: string;
  reason: string;
  amount: string;
  quantity?: string;
}

export interface Era835Service {
  /** HC (procedure) or NU (revenue code). */
  qualifier?: 'HC' | 'NU';
  code: string;
  modifiers?: string[];
  charge: string;
  paid: string;
  revenueCode?: string;
  units?: string;
  /** SVC06: the code as billed, when the payer paid another. */
  original?: { qualifier: string; code: string; modifiers?: string[] };
  lineControlNumber?: string;
  serviceDate?: string;
  allowed?: string;
  adjustments?: Era835Adjustment[];
  remarks?: string[];
}

export interface Era835Claim {
  patientControlNumber: string;
  status: string;
  charge: string;
  paid: string;
  patientResponsibility?: string;
  filingIndicator?: string;
  payerClaimControlNumber?: string;
  facilityCode?: string;
  frequency?: string;
  patient: { last: string; first?: string; memberId?: string };
  /** NM1*74: the insured's corrected name or id. */
  correctedInsured?: { last?: string; first?: string; memberId?: string };
  /** NM1*TT: the payer the claim was forwarded to (CLP02 19/20/21). */
  crossover?: { name: string; id: string };
  adjustments?: Era835Adjustment[];
  /** MOA remark codes (outpatient) / MIA (inpatient: covered days, then remark). */
  outpatientRemarks?: string[];
  inpatient?: { coveredDays: string; remark?: string };
  statementFrom?: string;
  statementTo?: string;
  interest?: string;
  coverageAmount?: string;
  services: Era835Service[];
}

export interface Era835Transaction {
  controlNumber: number;
  payment: { handling?: string; amount?: string; creditDebit?: 'C' | 'D'; method?: 'ACH' | 'CHK' | 'NON' | 'BOP' | 'FWT'; date: string };
  trace: { number: string; payerId: string };
  productionDate?: string;
  /** N1*PR: the TR3 asks for its address (N3/N4) and a technical contact (PER*BL). */
  payer: { name: string; id?: string; address?: { line1: string; city: string; state: string; zip: string }; technicalContact?: { name: string; phone: string } };
  payee: { name: string; npi: string; taxId?: string };
  claims: Iterable<Era835Claim>;
  providerAdjustments?: { providerId: string; fiscalPeriodDate: string; reason: string; reference?: string; amount: string }[];
}

export interface Era835File {
  delimiters: X12Delimiters;
  interchange: InterchangeHeader;
  group: Omit<GroupHeader, 'version' | 'functionalId'>;
  transactions: Era835Transaction[];
}

const adjustmentsOf = (w: X12Writer, list: Era835Adjustment[] | undefined): void => {
  // One CAS per group code, up to 6 triplets each.
  const groups = new Map<string, Era835Adjustment[]>();
  for (const a of list ?? []) groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
  for (const [group, items] of groups) {
    for (let i = 0; i < items.length; i += 6) {
      w.segment('CAS', group, ...items.slice(i, i + 6).flatMap((a) => [a.reason, x12Decimal(a.amount), a.quantity === undefined ? '' : x12Decimal(a.quantity)]));
    }
  }
};

function claimLoop(w: X12Writer, c: Era835Claim): void {
  w.segment('CLP', c.patientControlNumber, c.status, x12Decimal(c.charge), x12Decimal(c.paid), c.patientResponsibility === undefined ? '' : x12Decimal(c.patientResponsibility),
    c.filingIndicator ?? '12', c.payerClaimControlNumber ?? '', c.facilityCode ?? '11', c.frequency ?? '1');
  adjustmentsOf(w, c.adjustments);
  w.segment('NM1', 'QC', '1', c.patient.last, c.patient.first ?? '', '', '', '', c.patient.memberId === undefined ? '' : 'MI', c.patient.memberId ?? '');
  if (c.correctedInsured) w.segment('NM1', '74', '1', c.correctedInsured.last ?? '', c.correctedInsured.first ?? '', '', '', '', c.correctedInsured.memberId === undefined ? '' : 'C', c.correctedInsured.memberId ?? '');
  if (c.crossover) w.segment('NM1', 'TT', '2', c.crossover.name, '', '', '', '', 'PI', c.crossover.id);
  if (c.inpatient) w.segment('MIA', c.inpatient.coveredDays, '', '', '', c.inpatient.remark ?? '');
  if (c.outpatientRemarks && c.outpatientRemarks.length > 0) w.segment('MOA', '', '', ...c.outpatientRemarks.slice(0, 5));
  if (c.statementFrom !== undefined) w.segment('DTM', '232', x12Date(c.statementFrom));
  if (c.statementTo !== undefined) w.segment('DTM', '233', x12Date(c.statementTo));
  if (c.interest !== undefined) w.segment('AMT', 'I', x12Decimal(c.interest));
  if (c.coverageAmount !== undefined) w.segment('AMT', 'AU', x12Decimal(c.coverageAmount));
  for (const s of c.services) {
    w.segment('SVC', [s.qualifier ?? 'HC', s.code, ...(s.modifiers ?? [])], x12Decimal(s.charge), x12Decimal(s.paid), s.revenueCode ?? '', s.units === undefined ? '' : x12Decimal(s.units),
      s.original ? [s.original.qualifier, s.original.code, ...(s.original.modifiers ?? [])] : '');
    if (s.serviceDate !== undefined) w.segment('DTM', '472', x12Date(s.serviceDate));
    adjustmentsOf(w, s.adjustments);
    if (s.lineControlNumber !== undefined) w.segment('REF', '6R', s.lineControlNumber);
    if (s.allowed !== undefined) w.segment('AMT', 'B6', x12Decimal(s.allowed));
    for (const r of s.remarks ?? []) w.segment('LQ', 'HE', r);
  }
}

/** Writes one 835 transaction (ST..SE); claims are written as the iterable yields them. */
export function write835Transaction(w: X12Writer, t: Era835Transaction, claims: Iterable<Era835Claim>, paymentAmount: string): void {
  const st = String(t.controlNumber).padStart(4, '0');
  // ST03 is not used in the 835 (the version is GS08's).
  writeSt(w, '835', st, '');
  const p = t.payment;
  const method = p.method ?? 'ACH';
  // An ACH payment names the banks and accounts (BPR05-15) the provider reassociates the EFT with.
  const ach = method === 'ACH' && (p.handling ?? 'I') !== 'H'
    ? ['CCP', '01', '999999992', 'DA', '123456', `1${t.trace.payerId.replace(/^1/, '')}`, '', '01', '999988880', 'DA', '98765']
    : ['', '', '', '', '', '', '', '', '', '', ''];
  w.segment('BPR', p.handling ?? 'I', x12Decimal(paymentAmount), p.creditDebit ?? 'C', method, ...ach, x12Date(p.date));
  w.segment('TRN', '1', t.trace.number, t.trace.payerId);
  if (t.productionDate !== undefined) w.segment('DTM', '405', x12Date(t.productionDate));
  w.segment('N1', 'PR', t.payer.name, t.payer.id === undefined ? '' : 'XV', t.payer.id ?? '');
  if (t.payer.address) {
    w.segment('N3', t.payer.address.line1);
    w.segment('N4', t.payer.address.city, t.payer.address.state, t.payer.address.zip);
  }
  if (t.payer.id !== undefined) w.segment('REF', '2U', t.payer.id);
  if (t.payer.technicalContact) w.segment('PER', 'BL', t.payer.technicalContact.name, 'TE', t.payer.technicalContact.phone);
  w.segment('N1', 'PE', t.payee.name, 'XX', t.payee.npi);
  if (t.payee.taxId !== undefined) w.segment('REF', 'TJ', t.payee.taxId);
  let lx = 0;
  for (const c of claims) {
    if (lx === 0) w.segment('LX', String(++lx));
    claimLoop(w, c);
  }
  // One PLB per provider and fiscal period, up to 6 adjustments each.
  const plb = new Map<string, NonNullable<Era835Transaction['providerAdjustments']>>();
  for (const a of t.providerAdjustments ?? []) plb.set(`${a.providerId}|${a.fiscalPeriodDate}`, [...(plb.get(`${a.providerId}|${a.fiscalPeriodDate}`) ?? []), a]);
  for (const list of plb.values()) {
    for (let i = 0; i < list.length; i += 6) {
      const first = list[i] as (typeof list)[number];
      w.segment('PLB', first.providerId, x12Date(first.fiscalPeriodDate), ...list.slice(i, i + 6).flatMap((a) => [[a.reason, a.reference ?? ''], x12Decimal(a.amount)]));
    }
  }
  writeSe(w, st);
}

/** BPR02 of a transaction: ΣCLP04 - ΣPLB (as the balancing rule asks), unless the transaction gives it. */
export function paymentAmountOf(t: Era835Transaction, claims: readonly Era835Claim[]): string {
  if (t.payment.amount !== undefined) return t.payment.amount;
  let total = 0;
  for (const c of claims) total = addCents(total, toCents(c.paid) ?? 0);
  for (const a of t.providerAdjustments ?? []) total = addCents(total, -(toCents(a.amount) ?? 0));
  return fromCents(total);
}

/** A whole 835 file as text (claims held in memory: for files of a usual size). */
export function write835(f: Era835File): string {
  const chunks: string[] = [];
  const w = new X12Writer(f.delimiters, (c) => chunks.push(c));
  writeIsa(w, f.interchange);
  const group = { ...f.group, version: '005010X221A1', functionalId: 'HP' };
  writeGs(w, group);
  for (const t of f.transactions) {
    const claims = [...t.claims];
    write835Transaction(w, t, claims, paymentAmountOf(t, claims));
  }
  writeGe(w, f.transactions.length, group);
  writeIea(w, 1, f.interchange);
  w.flush();
  return chunks.join('');
}

