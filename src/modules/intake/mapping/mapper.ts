import { Hl7Error, Hl7ErrorCode, type Message, type Segment } from '../../../lib/hl7v2';
import { compareDecimal, isNegativeDecimal, multiplyDecimal, normalizeDecimal } from '../../../lib/decimal';
import type { EncounterStatus, Guarantor } from '../../encounters/encounter.entity';
import type { PatientIdentifier } from '../../encounters/patient.entity';
import { address, at, date, dateTime, decimal, int, keyOf, opt, personName, phone, providers, text, type Warnings } from './fields';
import {
  emptyMapping, type ChargeRecord, type CoverageRecord, type DiagnosisRecord, type EncounterRecord, type MappedMessage,
  type MergeRecord, type PatientRecord, type ProcedureRecord,
} from './records';

/** What each supported event does to the encounter's status (undefined: leaves it as it is). */
const ADT_EVENTS: Record<string, { encounter: boolean; status?: EncounterStatus; clearDischarge?: boolean }> = {
  A01: { encounter: true, status: 'active' },
  A04: { encounter: true, status: 'active' },
  A05: { encounter: true, status: 'preadmit' },
  A14: { encounter: true, status: 'preadmit' },
  A02: { encounter: true },
  A06: { encounter: true },
  A07: { encounter: true },
  A08: { encounter: true },
  A12: { encounter: true },
  A03: { encounter: true, status: 'discharged' },
  A11: { encounter: true, status: 'cancelled' },
  A13: { encounter: true, status: 'active', clearDischarge: true },
  // Person-level events: patient (and person-level coverage) only.
  A28: { encounter: false },
  A31: { encounter: false },
};

/** Message types and events this engine applies; everything else is stored and marked ignored. */
export function isSupportedEvent(type: string, event: string): boolean {
  if (type === 'ADT') return event in ADT_EVENTS || event === 'A40';
  if (type === 'DFT') return event === 'P03' || event === 'P11';
  if (type === 'BAR') return event === 'P01' || event === 'P05';
  return false;
}

interface Identified {
  id: string;
  authority: string;
  type: string;
}

/** PID-3 (CX, repeating): the MR identifier if there is one, else PI, else the first; then PID-2, PID-4. */
function identifiersOf(seg: Segment, field: number): Identified[] {
  const out: Identified[] = [];
  for (const rep of seg.repetitions(field)) {
    const id = seg.componentOf(rep, 1).trim();
    if (id === '' || id === '""') continue;
    out.push({ id, authority: seg.componentOf(rep, 4, 1).trim(), type: seg.componentOf(rep, 5).trim().toUpperCase() });
  }
  return out;
}

function primaryIdentifier(ids: Identified[]): Identified | undefined {
  return ids.find((i) => i.type === 'MR') ?? ids.find((i) => i.type === 'PI') ?? ids[0];
}

function patientIdentity(pid: Segment): { primary: Identified; all: Identified[] } | undefined {
  let all = identifiersOf(pid, 3);
  if (all.length === 0) all = identifiersOf(pid, 2);
  if (all.length === 0) all = identifiersOf(pid, 4);
  const primary = primaryIdentifier(all);
  return primary ? { primary, all } : undefined;
}

const patientKeyOf = (i: Identified): string => keyOf('P', i.authority, i.id);

function mapPatient(pid: Segment, sequence: number, w: Warnings): PatientRecord | undefined {
  const identity = patientIdentity(pid);
  if (!identity) return undefined;
  const { primary, all } = identity;
  const identifiers: PatientIdentifier[] = all.map((i) => ({ id: i.id, authority: i.authority, type: i.type }));
  return {
    key: patientKeyOf(primary),
    mrn: primary.id,
    mrnAuthority: primary.authority,
    identifiers,
    familyName: text(pid, 5, 1),
    givenName: text(pid, 5, 2),
    middleName: text(pid, 5, 3),
    nameSuffix: text(pid, 5, 4),
    birthDate: date(pid, sequence, 7, 1, w),
    sex: text(pid, 8),
    address: address(pid, 11),
    phone: phone(pid, 13),
    accountNumber: text(pid, 18),
  };
}

function guarantorOf(gt1: Segment | undefined): Guarantor | undefined {
  if (!gt1) return undefined;
  const g: Guarantor = {};
  const name = personName(gt1, 3);
  if (name) g.name = { family: name.family, given: name.given };
  const addr = address(gt1, 5);
  if (addr) g.address = addr;
  const ph = phone(gt1, 6);
  if (ph) g.phone = ph;
  const type = opt(gt1, 10);
  if (type) g.type = type;
  const rel = opt(gt1, 11);
  if (rel) g.relationship = rel;
  return Object.keys(g).length === 0 ? undefined : g;
}

/** The encounter identity: PV1-19 visit number, else PID-18 account number. */
function encounterIdentity(pid: Segment, pv1: Segment | undefined): { key: string; source: 'visit' | 'account'; visit?: string; account?: string } | undefined {
  const account = opt(pid, 18);
  if (pv1) {
    const visit = opt(pv1, 19);
    if (visit !== undefined) return { key: keyOf('V', pv1.value(19, 1, 4, 1).trim(), visit), source: 'visit', visit, account };
  }
  if (account !== undefined) return { key: keyOf('A', pid.value(18, 1, 4, 1).trim(), account), source: 'account', account };
  return undefined;
}

function mapEncounter(
  msg: Message,
  key: string,
  source: EncounterRecord['keySource'],
  patientKey: string,
  pv1: Segment | undefined,
  ids: { visit?: string; account?: string },
  status: EncounterStatus | undefined,
  clearDischarge: boolean,
  w: Warnings,
): EncounterRecord {
  const loc: Record<string, string> = {};
  let facility: string | undefined;
  if (pv1) {
    const names = ['pointOfCare', 'room', 'bed', 'facility', 'status', 'personLocationType', 'building', 'floor'];
    names.forEach((n, i) => {
      const v = pv1.value(3, 1, i + 1, 1).trim();
      if (v !== '') loc[n] = v;
    });
    facility = loc.facility ?? opt(pv1, 39);
  }
  facility ??= msg.get('MSH-4').trim() || undefined;
  return {
    key,
    keySource: source,
    patientKey,
    visitNumber: ids.visit,
    accountNumber: ids.account,
    status,
    patientClass: pv1 && text(pv1, 2),
    admitType: pv1 && text(pv1, 4),
    admitSource: pv1 && text(pv1, 14),
    hospitalService: pv1 && text(pv1, 10),
    financialClass: pv1 && text(pv1, 20),
    facility,
    location: Object.keys(loc).length > 0 ? loc : undefined,
    attendingProvider: pv1 && providers(pv1, 7),
    referringProvider: pv1 && providers(pv1, 8),
    admittingProvider: pv1 && providers(pv1, 17),
    admitAt: pv1 && dateTime(pv1, 1, 44, 1, w),
    dischargeAt: clearDischarge ? null : pv1 && dateTime(pv1, 1, 45, 1, w),
    dischargeDisposition: pv1 && text(pv1, 36),
    guarantor: guarantorOf(msg.segment('GT1')),
  };
}

function mapCoverages(msg: Message, ownerKey: string, patientKey: string, encounterKey: string | undefined, w: Warnings): CoverageRecord[] {
  const out: CoverageRecord[] = [];
  msg.segments('IN1').forEach((in1, i) => {
    const sequence = i + 1;
    const setId = int(in1, 1) ?? sequence;
    const c: CoverageRecord = {
      ownerKey,
      patientKey,
      encounterKey,
      setId,
      planId: opt(in1, 2),
      payerId: opt(in1, 3),
      payerName: opt(in1, 4),
      groupNumber: opt(in1, 8),
      groupName: opt(in1, 9),
      effectiveDate: date(in1, sequence, 12, 1, w) ?? undefined,
      expirationDate: date(in1, sequence, 13, 1, w) ?? undefined,
      planType: opt(in1, 15),
      insuredName: personName(in1, 16),
      insuredRelationship: opt(in1, 17),
      insuredBirthDate: date(in1, sequence, 18, 1, w) ?? undefined,
      insuredAddress: address(in1, 19) ?? undefined,
      memberId: opt(in1, 36) ?? opt(in1, 49),
    };
    out.push(c);
  });
  return out;
}

function mapDiagnoses(msg: Message, encounterKey: string): DiagnosisRecord[] {
  const out: DiagnosisRecord[] = [];
  for (const dg1 of msg.segments('DG1')) {
    const code = opt(dg1, 3, 1);
    if (code === undefined) continue;
    out.push({
      encounterKey,
      setId: int(dg1, 1),
      code,
      codingSystem: opt(dg1, 3, 3) ?? opt(dg1, 2) ?? '',
      description: opt(dg1, 3, 2) ?? opt(dg1, 4),
      diagnosisType: opt(dg1, 6),
      priority: int(dg1, 15),
    });
  }
  return out;
}

function mapProcedures(msg: Message, encounterKey: string, w: Warnings): ProcedureRecord[] {
  const out: ProcedureRecord[] = [];
  msg.segments('PR1').forEach((pr1, i) => {
    const code = opt(pr1, 3, 1);
    if (code === undefined) return;
    out.push({
      encounterKey,
      setId: int(pr1, 1),
      code,
      codingSystem: opt(pr1, 3, 3) ?? opt(pr1, 2) ?? '',
      description: opt(pr1, 3, 2) ?? opt(pr1, 4),
      procedureAt: dateTime(pr1, i + 1, 5, 1, w) ?? undefined,
      surgeon: providers(pr1, 11),
    });
  });
  return out;
}

function mapCharge(ft1: Segment, sequence: number, encounterKey: string, w: Warnings): ChargeRecord {
  const serviceDate = date(ft1, sequence, 4, 1);
  if (serviceDate === undefined || serviceDate === null) {
    throw new Hl7Error('transaction date (date of service) is required', Hl7ErrorCode.RequiredFieldMissing, at(ft1, sequence, 4));
  }
  const transactionCode = opt(ft1, 7, 1);
  const procedureCode = opt(ft1, 25, 1);
  if (transactionCode === undefined && procedureCode === undefined) {
    throw new Hl7Error('neither a transaction code (FT1-7) nor a procedure code (FT1-25) is present', Hl7ErrorCode.RequiredFieldMissing, at(ft1, sequence, 7));
  }
  const type = (opt(ft1, 6) ?? 'CG').toUpperCase();
  const quantity = decimal(ft1, sequence, 10, 1, 1, 0, 3) ?? '1';
  // FT1-11 and FT1-12 are CP: the first component is MO, whose first part (a subcomponent) is the amount.
  const extended = decimal(ft1, sequence, 11, 1, 1, 2, 2);
  const unitAmount = decimal(ft1, sequence, 12, 1, 1, 2, 2);
  const { amount, priceSource } = chargeAmount(ft1, sequence, extended, unitAmount, quantity, w);
  const modifiers = ft1.repetitions(26).map((r) => ft1.componentOf(r, 1).trim()).filter((m) => m !== '');
  const diagnosisCodes = ft1.repetitions(19).map((r) => ft1.componentOf(r, 1).trim()).filter((c) => c !== '');
  const isCredit = type === 'CD' || isNegativeDecimal(quantity) || (amount !== undefined && isNegativeDecimal(amount));
  return {
    encounterKey,
    ft1Index: sequence,
    transactionId: opt(ft1, 2),
    transactionBatchId: opt(ft1, 3),
    serviceDate,
    serviceEndDate: date(ft1, sequence, 4, 2) ?? undefined,
    postingDate: date(ft1, sequence, 5, 1, w) ?? undefined,
    transactionType: type,
    transactionCode,
    transactionCodeSystem: opt(ft1, 7, 3),
    description: opt(ft1, 8) ?? opt(ft1, 7, 2),
    quantity,
    amount,
    priceSource,
    unitAmount,
    department: opt(ft1, 13, 1),
    insurancePlanId: opt(ft1, 14, 1),
    diagnosisCodes,
    performingProvider: providers(ft1, 20),
    orderingProvider: providers(ft1, 21),
    procedureCode,
    procedureCodeSystem: opt(ft1, 25, 3),
    modifiers,
    ndc: opt(ft1, 29, 1),
    isCredit,
  };
}

/**
 * The charge's amount: FT1-11 (extended amount) when sent; else FT1-12 (unit amount) x FT1-10
 * (quantity), which must come to whole cents; else none (the chargemaster prices it, or it stays
 * unpriced). When both are sent and disagree, FT1-11 wins and a warning says so.
 */
function chargeAmount(ft1: Segment, sequence: number, extended: string | undefined, unit: string | undefined, quantity: string, w: Warnings): Pick<ChargeRecord, 'amount' | 'priceSource'> {
  const product = unit === undefined ? undefined : normalizeDecimal(multiplyDecimal(unit, quantity), 2);
  if (extended !== undefined) {
    if (product !== undefined && compareDecimal(product, extended) !== 0) {
      w.push(`FT1[${sequence}]: FT1-11 ${extended} differs from FT1-12 ${unit ?? ''} x FT1-10 ${quantity} = ${product}; FT1-11 is used`);
    }
    return { amount: extended, priceSource: 'message' };
  }
  if (product === undefined) return { amount: undefined, priceSource: undefined };
  if (product.length - product.indexOf('.') - 1 > 2) {
    throw new Hl7Error(`unit amount ${unit ?? ''} x quantity ${quantity} = ${product} is not whole cents: send the extended amount (FT1-11)`, Hl7ErrorCode.DataTypeError, at(ft1, sequence, 12));
  }
  return { amount: product, priceSource: 'unit_price' };
}

/** One patient per message: several PIDs are fine when they name the same patient. */
function singlePatient(msg: Message): { pid: Segment; sequence: number } | undefined {
  const pids = msg.segments('PID');
  const first = pids[0];
  if (!first) return undefined;
  const sig = (s: Segment): string => identifiersOf(s, 3).map((i) => `${i.authority}|${i.id}|${i.type}`).join(',');
  const expected = sig(first);
  pids.forEach((p, i) => {
    if (i > 0 && sig(p) !== expected) {
      throw new Hl7Error('PID repeated with different patient identifiers: which patient is meant is ambiguous', Hl7ErrorCode.SegmentSequenceError, { segment: 'PID', sequence: i + 1, field: 3 });
    }
  });
  const withId = pids.findIndex((p) => patientIdentity(p) !== undefined);
  const index = withId < 0 ? 0 : withId;
  return { pid: pids[index] as Segment, sequence: index + 1 };
}

function mapMerge(msg: Message): MappedMessage {
  const result = emptyMapping('apply');
  const segs = msg.segments();
  let pidSeq = 0;
  let mrgSeq = 0;
  let current: { record: PatientRecord } | undefined;
  for (const seg of segs) {
    if (seg.name === 'PID') {
      pidSeq++;
      const record = mapPatient(seg, pidSeq, result.warnings);
      if (!record) throw new Hl7Error('surviving patient identifier is missing', Hl7ErrorCode.RequiredFieldMissing, { segment: 'PID', sequence: pidSeq, field: 3 });
      result.patients.push(record);
      current = { record };
    } else if (seg.name === 'MRG') {
      mrgSeq++;
      if (!current) throw new Hl7Error('MRG without a PID before it', Hl7ErrorCode.SegmentSequenceError, { segment: 'MRG', sequence: mrgSeq });
      const prior = identifiersOf(seg, 1);
      const primary = primaryIdentifier(prior);
      if (!primary) throw new Hl7Error('prior patient identifier is required', Hl7ErrorCode.RequiredFieldMissing, { segment: 'MRG', sequence: mrgSeq, field: 1 });
      const merge: MergeRecord = { survivorKey: current.record.key, priorKeys: [...new Set(prior.map(patientKeyOf))].filter((k) => k !== current?.record.key) };
      result.merges.push(merge);
      current = undefined;
    }
  }
  if (mrgSeq === 0) throw new Hl7Error('A40 merge needs an MRG segment naming the prior patient', Hl7ErrorCode.SegmentSequenceError, { segment: 'MRG' });
  if (pidSeq === 0) throw new Hl7Error('A40 merge needs a PID segment naming the surviving patient', Hl7ErrorCode.SegmentSequenceError, { segment: 'PID' });
  return result;
}

/**
 * Maps a parsed message to the records billing needs. Pure: no I/O. Content errors throw
 * Hl7Error with the segment/field they concern (→ AE); events that carry nothing billable
 * return `action: 'ignore'` with the reason.
 */
export function mapMessage(msg: Message): MappedMessage {
  const type = msg.get('MSH-9.1').trim();
  const event = (msg.get('MSH-9.2').trim() || msg.get('EVN-1').trim()).toUpperCase();
  if (!isSupportedEvent(type, event)) {
    return emptyMapping('ignore', `${type || '(no MSH-9)'}^${event || '?'} is not a message billing uses`);
  }
  if (type === 'ADT' && event === 'A40') return mapMerge(msg);

  const found = singlePatient(msg);
  const needsPatient = type !== 'ADT';
  if (!found) {
    if (needsPatient) throw new Hl7Error(`${type}^${event} needs a PID segment`, Hl7ErrorCode.SegmentSequenceError, { segment: 'PID' });
    return emptyMapping('ignore', 'no PID segment: nothing to apply');
  }
  const result = emptyMapping('apply');
  const w = result.warnings;
  const patient = mapPatient(found.pid, found.sequence, w);
  if (!patient) {
    if (needsPatient) throw new Hl7Error('patient identifier is required', Hl7ErrorCode.RequiredFieldMissing, { segment: 'PID', sequence: found.sequence, field: 3 });
    return emptyMapping('ignore', 'no patient identifier in PID-3: nothing to apply');
  }
  result.patients.push(patient);
  const pv1 = msg.segment('PV1');
  const adt = type === 'ADT' ? ADT_EVENTS[event] : undefined;
  const wantsEncounter = type !== 'ADT' || adt?.encounter === true;
  const identity = wantsEncounter ? encounterIdentity(found.pid, pv1) : undefined;

  if (identity) {
    const enc = mapEncounter(msg, identity.key, identity.source, patient.key, pv1, identity, adt?.status, adt?.clearDischarge === true, w);
    result.encounters.push(enc);
    result.coverages.push(...mapCoverages(msg, enc.key, patient.key, enc.key, w));
    result.diagnoses.push(...mapDiagnoses(msg, enc.key));
    result.procedures.push(...mapProcedures(msg, enc.key, w));
  } else if (type !== 'DFT') {
    // Person-level message, or no visit/account number: patient and person-level coverage only.
    result.coverages.push(...mapCoverages(msg, keyOf('patient', patient.key), patient.key, undefined, w));
  }

  if (type === 'DFT') {
    const ft1s = msg.segments('FT1');
    if (ft1s.length === 0) throw new Hl7Error('DFT carries no FT1 segment', Hl7ErrorCode.SegmentSequenceError, { segment: 'FT1' });
    const byDate = new Map<string, EncounterRecord>();
    ft1s.forEach((ft1, i) => {
      let encounterKey = identity?.key;
      if (encounterKey === undefined) {
        // No visit or account number: the encounter is the patient's date of service.
        const serviceDate = date(ft1, i + 1, 4, 1);
        if (serviceDate === undefined || serviceDate === null) {
          throw new Hl7Error('transaction date (date of service) is required', Hl7ErrorCode.RequiredFieldMissing, at(ft1, i + 1, 4));
        }
        encounterKey = keyOf('D', patient.key, serviceDate);
        if (!byDate.has(encounterKey)) {
          byDate.set(encounterKey, mapEncounter(msg, encounterKey, 'service_date', patient.key, pv1, {}, undefined, false, w));
        }
      }
      result.charges.push(mapCharge(ft1, i + 1, encounterKey, w));
    });
    for (const enc of byDate.values()) {
      result.encounters.push(enc);
      result.coverages.push(...mapCoverages(msg, enc.key, patient.key, enc.key, w));
      result.diagnoses.push(...mapDiagnoses(msg, enc.key));
      result.procedures.push(...mapProcedures(msg, enc.key, w));
    }
  }
  return result;
}
