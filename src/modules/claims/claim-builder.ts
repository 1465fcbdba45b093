/**
 * Claim building, pure: an encounter with its patient, coverages, diagnoses, procedures and
 * unbilled charges, plus the practice setup, become claim drafts: one per responsible payer ×
 * billing provider × claim type, split where the TR3 limits apply. Every required element is
 * checked here; a draft with problems is held, and each problem names the HL7 field it comes from
 * and the 837 loop/element it would fill.
 */
import { normalizeNdc } from '../../lib/codes/ndc';
import { isValidNpi } from '../../lib/codes/npi';
import {
  LIMITS, toX12Text, type Claim837, type ClaimAdjustment, type ClaimType, type LineAdjudication, type OtherCoverage, type Patient, type Payer, type ServiceLine, type Subscriber,
  type X12Address, type X12Name, type X12Provider,
} from '../../lib/x12';
import { addDecimal, compareDecimal, isDecimal, subtractDecimal } from '../../lib/decimal';
import type { Provider } from '../encounters/encounter.entity';
import type { PostalAddress } from '../encounters/patient.entity';

export interface ClaimProblem {
  /** Where the value comes from (HL7 field, practice setup entry). */
  field: string;
  /** The 837 loop and element it fills. */
  loop: string;
  message: string;
}

/** Providers and addresses as intake stores them. */
export type ProviderValue = Provider;
export type AddressValue = PostalAddress;

export interface EncounterBundle {
  encounter: {
    id: string;
    visitNumber: string | null;
    status: string;
    patientClass: string | null;
    facility: string | null;
    admitAt: string | null;
    dischargeAt: string | null;
    admitType: string | null;
    admitSource: string | null;
    dischargeDisposition: string | null;
    attendingProvider: ProviderValue | null;
    referringProvider: ProviderValue | null;
  };
  patient: {
    id: string;
    familyName: string | null;
    givenName: string | null;
    middleName: string | null;
    nameSuffix: string | null;
    birthDate: string | null;
    sex: string | null;
    address: AddressValue | null;
  };
  /** The encounter's coverages, else the patient's, by IN1 set id. */
  coverages: {
    id: string;
    setId: number;
    payerId: string | null;
    planId: string | null;
    payerName: string | null;
    memberId: string | null;
    groupNumber: string | null;
    groupName: string | null;
    insuredName: { family?: string; given?: string; middle?: string } | null;
    insuredRelationship: string | null;
    insuredBirthDate: string | null;
    insuredAddress: AddressValue | null;
  }[];
  diagnoses: { code: string; codingSystem: string; priority: number | null; setId: number | null }[];
  procedures: { code: string; codingSystem: string; procedureAt: string | null; surgeon: ProviderValue | null }[];
  /** Posted charges not on a claim yet, and unmatched credits (which hold the claim). */
  charges: {
    id: string;
    ft1Index: number;
    transactionId: string | null;
    transactionCode: string | null;
    serviceDate: string;
    serviceEndDate: string | null;
    procedureCode: string | null;
    modifiers: string[];
    quantity: string;
    amount: string | null;
    diagnosisCodes: string[];
    ndc: string | null;
    performingProvider: ProviderValue | null;
    status: string;
  }[];
}

export interface PracticeView {
  payers: { id: string; payerId: string; name: string; claimFilingIndicator: string; hl7Ids: string[]; address: X12Address | null }[];
  facilities: {
    id: string;
    key: string;
    hl7Codes: string[];
    claimType: ClaimType;
    placeOfService: string | null;
    typeOfBill: string | null;
    inpatientTypeOfBill: string | null;
    billingProviderId: string;
    serviceFacility: { name: string; npi?: string; address: X12Address } | null;
    isDefault: boolean;
  }[];
  billingProviders: Map<string, { kind: 'person' | 'organization'; name: string; firstName: string | null; npi: string; taxId: string; taxIdType: 'EI' | 'SY'; taxonomy: string | null; address: X12Address; payToAddress: X12Address | null }>;
  /** Chargemaster: transaction code → revenue code (institutional lines). */
  revenueCodes: Map<string, string>;
}

export interface ClaimDraft {
  claimType: ClaimType;
  part: number;
  payerRowId: string | null;
  billingProviderRowId: string | null;
  facilityRowId: string | null;
  coverageId: string | null;
  /** Complete when there are no problems; held claims keep what could be built, for display. */
  claim: Claim837;
  /** Charge ids of each line, in line order. */
  lineCharges: string[][];
  problems: ClaimProblem[];
  totalCharge: string;
  serviceFrom: string;
  serviceTo: string;
}

export interface BuildOutcome {
  drafts: ClaimDraft[];
  /** Why nothing was built (cancelled encounter, no charges). */
  skipped?: string;
}

/** HL7 table 0063 relationship → X12 individual relationship code (SBR02/PAT01). */
const RELATIONSHIP_0063: Record<string, string> = {
  SEL: '18', SPO: '01', CHD: '19', EME: '20', EMR: '20', DOM: '53', UNK: '21', OTH: 'G8', MTH: 'G8', FTH: 'G8', PAR: 'G8', GRD: 'G8', SIB: 'G8', FND: 'G8',
};
/**
 * Numeric IN1-17 values follow the NUBC (UB-92/UB-04) relationship codes in most feeds: 01 is
 * the patient is the insured, 02 spouse, 03-05 child, 08 employee, 09 unknown; X12's own 18, 19,
 * 20, 53 and G8 are taken as they are.
 */
const RELATIONSHIP_NUMERIC: Record<string, string> = {
  '01': '18', '02': '01', '03': '19', '04': '19', '05': '19', '08': '20', '09': '21', '10': '39', '15': 'G8', '17': 'G8', '18': '18', '19': '19', '20': '20', '21': '21',
  '39': '39', '40': '40', '53': '53', G8: 'G8',
};

function relationshipOf(c: EncounterBundle['coverages'][number], patient: EncounterBundle['patient']): string | undefined {
  const code = (c.insuredRelationship ?? '').trim().toUpperCase();
  const same = (c.insuredName?.family ?? '').toUpperCase() === (patient.familyName ?? '').toUpperCase() && (c.insuredName?.given ?? '').toUpperCase() === (patient.givenName ?? '').toUpperCase()
    && (c.insuredBirthDate === null || c.insuredBirthDate === patient.birthDate);
  if (code === '') return c.insuredName === null || same ? '18' : undefined;
  return RELATIONSHIP_0063[code] ?? RELATIONSHIP_NUMERIC[code];
}

/** HL7 table 0007 admission type → UB-04 priority of admission (CL101). */
const ADMISSION_TYPE: Record<string, string> = { E: '1', U: '2', R: '3', C: '3', N: '4', A: '5', L: '4' };

const ICD10_SYSTEMS = new Set(['I10', 'ICD10', 'ICD-10', 'ICD10CM', 'ICD-10-CM', 'I10C', '']);
const PCS_SYSTEMS = new Set(['I10P', 'ICD10PCS', 'ICD-10-PCS']);
const ICD10_CM = /^[A-Z][0-9A-Z][0-9A-Z](\.?[0-9A-Z]{1,4})?$/;

function sexOf(v: string | null | undefined): 'F' | 'M' | 'U' | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  return v === 'F' || v === 'M' ? v : 'U';
}

/** Collects problems while turning values into X12 text. */
class Checker {
  readonly problems: ClaimProblem[] = [];

  add(field: string, loop: string, message: string): void {
    this.problems.push({ field, loop, message });
  }

  /** Required text: X12 text, or a problem (missing / not representable). */
  text(v: string | null | undefined, field: string, loop: string, max?: number): string {
    if (v === null || v === undefined || v.trim() === '') {
      this.add(field, loop, 'is missing');
      return '';
    }
    return this.optText(v, field, loop, max) ?? '';
  }

  optText(v: string | null | undefined, field: string, loop: string, max?: number): string | undefined {
    if (v === null || v === undefined || v.trim() === '') return undefined;
    const t = toX12Text(v);
    if (t === undefined) {
      this.add(field, loop, 'contains characters an 837 cannot carry');
      return undefined;
    }
    if (max !== undefined && t.length > max) {
      this.add(field, loop, `is longer than ${max} characters`);
      return t.slice(0, max);
    }
    return t;
  }

  address(a: AddressValue | null | undefined, field: string, loop: string, zip9 = false): X12Address {
    if (!a) {
      this.add(field, loop, 'address is missing');
      return { line1: '', city: '', state: '', zip: '' };
    }
    const zip = (a.zip ?? '').replace(/-/g, '');
    const state = (a.state ?? '').trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(state)) this.add(`${field} state`, `${loop} N4-02`, a.state ? `"${a.state}" is not a two-letter state code` : 'state is missing');
    if (!(zip9 ? /^\d{9}$/ : /^\d{5}(\d{4})?$/).test(zip)) this.add(`${field} ZIP`, `${loop} N4-03`, zip === '' ? 'ZIP code is missing' : `"${a.zip ?? ''}" is not a ${zip9 ? '9-digit ZIP+4' : '5- or 9-digit ZIP'} code`);
    return {
      line1: this.text(a.line1, `${field} street`, `${loop} N3-01`, 55), line2: this.optText(a.line2, `${field} street line 2`, `${loop} N3-02`, 55),
      city: this.text(a.city, `${field} city`, `${loop} N4-01`, 30), state, zip, country: a.country === undefined || a.country === 'USA' ? undefined : a.country,
    };
  }

  provider(p: ProviderValue | null | undefined, field: string, loop: string, required: boolean): X12Provider | undefined {
    if (!p || (p.npi === undefined && p.family === undefined)) {
      if (required) this.add(field, loop, 'provider is missing');
      return undefined;
    }
    if (p.npi === undefined || !isValidNpi(p.npi)) {
      this.add(`${field} NPI`, `${loop} NM1-09`, p.npi === undefined ? 'NPI is missing (XCN-1 with XCN-9 or XCN-13 = NPI)' : `"${p.npi}" is not a valid NPI`);
    }
    return { kind: 'person', last: this.text(p.family, `${field} family name`, `${loop} NM1-03`, 60), first: this.optText(p.given, `${field} given name`, `${loop} NM1-04`, 35), npi: p.npi };
  }
}

/** The coverage's payer in the practice setup: IN1-3 (company id) first, then IN1-2 (plan id). */
function payerOf(c: EncounterBundle['coverages'][number], practice: PracticeView): PracticeView['payers'][number] | undefined {
  for (const id of [c.payerId, c.planId]) {
    if (id === null) continue;
    const p = practice.payers.find((x) => x.hl7Ids.includes(id));
    if (p) return p;
  }
  return undefined;
}

function facilityOf(e: EncounterBundle['encounter'], practice: PracticeView): PracticeView['facilities'][number] | undefined {
  const code = e.facility?.trim();
  return (code ? practice.facilities.find((f) => f.hl7Codes.includes(code)) : undefined) ?? practice.facilities.find((f) => f.isDefault);
}

/** Diagnoses in billing order: the principal (DG1 priority 1, else the first) then the others; ICD-10-CM only. */
function diagnosisOrder(b: EncounterBundle, chk: Checker): string[] {
  const dx = [...b.diagnoses].sort((x, y) => (x.priority ?? 99) - (y.priority ?? 99) || (x.setId ?? 99) - (y.setId ?? 99));
  const out: string[] = [];
  for (const d of dx) {
    const system = d.codingSystem.toUpperCase();
    if (PCS_SYSTEMS.has(system)) continue;
    if (!ICD10_SYSTEMS.has(system)) {
      chk.add(`DG1-3 ${d.code}`, '2300 HI', `coding system "${d.codingSystem}" is not ICD-10-CM; 837 5010 claims carry ICD-10-CM`);
      continue;
    }
    const code = d.code.toUpperCase();
    if (!ICD10_CM.test(code)) {
      chk.add(`DG1-3 ${d.code}`, '2300 HI', 'is not an ICD-10-CM code');
      continue;
    }
    if (!out.includes(code.replace('.', ''))) out.push(code.replace('.', ''));
  }
  for (const c of b.charges) {
    for (const raw of c.diagnosisCodes) {
      const code = raw.toUpperCase().replace('.', '');
      if (ICD10_CM.test(code) && !out.includes(code)) out.push(code);
    }
  }
  return out;
}

interface LineDraft {
  line: ServiceLine;
  chargeIds: string[];
  /** Diagnosis codes the line points at (professional). */
  dx: string[];
}

/** Builds the claim drafts of one encounter. */
export function buildEncounterClaims(b: EncounterBundle, practice: PracticeView): BuildOutcome {
  const e = b.encounter;
  if (e.status === 'cancelled') return { drafts: [], skipped: 'encounter cancelled (A11)' };
  const billable = b.charges.filter((c) => c.status === 'posted');
  if (billable.length === 0) return { drafts: [], skipped: 'no unbilled charges' };

  const chk = new Checker();
  const facility = facilityOf(e, practice);
  if (!facility) chk.add(`PV1-3.4/PV1-39 facility "${e.facility ?? ''}"`, '2000A/2300', 'matches no facility in the practice setup and there is no default facility');
  const claimType: ClaimType = facility?.claimType ?? 'professional';
  const provider = facility ? practice.billingProviders.get(facility.billingProviderId) : undefined;

  const coverages = [...b.coverages].sort((x, y) => x.setId - y.setId);
  const primary = coverages[0];
  const payer = primary ? payerOf(primary, practice) : undefined;
  if (!primary) chk.add('IN1', '2000B/2010BB', 'no insurance (IN1) for the encounter or the patient: nothing to bill');
  else if (!payer) chk.add(`IN1-3 "${primary.payerId ?? ''}" / IN1-2 "${primary.planId ?? ''}"`, '2010BB NM1-09', 'matches no payer in the practice setup (payers[].hl7Ids)');
  for (const c of b.charges) if (c.status === 'unmatched_credit') chk.add(`FT1[${c.ft1Index}] ${c.transactionId ?? ''}`.trim(), '2400', 'a credit matches no charge: review it before billing the encounter');

  const patientName = {
    last: chk.text(b.patient.familyName, 'PID-5.1 family name', '2010BA/2010CA NM1-03', 60),
    first: chk.optText(b.patient.givenName, 'PID-5.2 given name', 'NM1-04', 35),
    middle: chk.optText(b.patient.middleName, 'PID-5.3 middle name', 'NM1-05', 25),
    suffix: chk.optText(b.patient.nameSuffix, 'PID-5.4 suffix', 'NM1-07', 10),
  };
  if (b.patient.birthDate === null) chk.add('PID-7 birth date', 'DMG-02', 'is missing');
  const patientSex = sexOf(b.patient.sex);
  if (patientSex === undefined) chk.add('PID-8 sex', 'DMG-03', 'is missing');
  const patientAddress = chk.address(b.patient.address, 'PID-11', '2010BA/2010CA');

  const { subscriber, patient } = partiesOf(b, primary, 1, payer, 'P', { name: patientName, sex: patientSex, address: patientAddress }, chk);

  // Other payers known for the encounter (2320/2330): required when other payers may pay on it.
  const otherCoverage: OtherCoverage[] = coverages.slice(1, 10).flatMap((c, i): OtherCoverage[] => {
    const p = payerOf(c, practice);
    if (!p) {
      chk.add(`IN1[${i + 2}]-3 "${c.payerId ?? ''}"`, '2330B NM1-09', 'matches no payer in the practice setup (payers[].hl7Ids)');
      return [];
    }
    const rel = relationshipOf(c, b.patient) ?? 'G8';
    const self = rel === '18';
    return [{
      payerResponsibility: i === 0 ? 'S' : 'T', relationship: rel, groupNumber: chk.optText(c.groupNumber, `IN1[${i + 2}]-8 group number`, '2320 SBR-03', 50),
      claimFilingIndicator: p.claimFilingIndicator,
      subscriber: {
        last: self ? patientName.last : chk.text(c.insuredName?.family, `IN1[${i + 2}]-16 insured family name`, '2330A NM1-03', 60),
        first: self ? patientName.first : chk.optText(c.insuredName?.given, `IN1[${i + 2}]-16 insured given name`, '2330A NM1-04', 35),
        memberId: chk.text(c.memberId, `IN1[${i + 2}]-36 member id`, '2330A NM1-09', 80),
      },
      payer: { name: chk.text(p.name, 'practice setup payer name', '2330B NM1-03', 60), id: p.payerId },
    }];
  });

  const dx = diagnosisOrder(b, chk);
  if (dx.length === 0) chk.add('DG1-3 / FT1-19', '2300 HI-01', 'no ICD-10-CM diagnosis for the encounter');

  // Lines: one per charge, in service-date order.
  const lines: LineDraft[] = [];
  const sorted = [...billable].sort((x, y) => (x.serviceDate < y.serviceDate ? -1 : x.serviceDate > y.serviceDate ? 1 : Number(x.id) - Number(y.id)));
  for (const c of sorted) {
    const at = `FT1[${c.ft1Index}]${c.transactionId ? ` ${c.transactionId}` : ''}`;
    if (c.amount === null || !isDecimal(c.amount)) chk.add(`${at} FT1-11 amount`, '2400 SV1-02/SV2-03', 'has no amount and the chargemaster prices none');
    else if (compareDecimal(c.amount, '0') <= 0) chk.add(`${at} FT1-11 amount`, '2400 SV1-02/SV2-03', 'must be more than zero');
    if (compareDecimal(c.quantity, '0') <= 0) chk.add(`${at} FT1-10 quantity`, '2400 SV1-04/SV2-05', 'must be more than zero');
    const procedure = c.procedureCode?.toUpperCase();
    if (procedure !== undefined && !/^[A-Z0-9]{5}$/.test(procedure)) chk.add(`${at} FT1-25 procedure code`, '2400 SV1-01-2', `"${c.procedureCode ?? ''}" is not a 5-character CPT/HCPCS code`);
    const revenueCode = c.transactionCode !== null ? practice.revenueCodes.get(c.transactionCode) : undefined;
    if (claimType === 'professional' && procedure === undefined) chk.add(`${at} FT1-25 procedure code`, '2400 SV1-01-2', `no CPT/HCPCS code, and the chargemaster maps none for transaction code "${c.transactionCode ?? ''}"`);
    if (claimType === 'institutional' && revenueCode === undefined) chk.add(`${at} FT1-7 transaction code "${c.transactionCode ?? ''}"`, '2400 SV2-01', 'the chargemaster gives no revenue code for it');
    const modifiers = c.modifiers.map((m) => m.toUpperCase()).filter((m) => m !== '');
    for (const m of modifiers) if (!/^[A-Z0-9]{2}$/.test(m)) chk.add(`${at} FT1-26 modifier`, '2400 SV1-01-3', `"${m}" is not a 2-character modifier`);
    const lineDx = c.diagnosisCodes.map((d) => d.toUpperCase().replace('.', '')).filter((d) => dx.includes(d));
    const drug = c.ndc ? ndcOf(c.ndc, c.quantity, chk, at) : undefined;
    lines.push({
      chargeIds: [c.id],
      dx: lineDx.length > 0 ? lineDx.slice(0, 4) : dx.slice(0, 4),
      line: {
        controlNumber: '', procedureCode: procedure, modifiers: modifiers.slice(0, 4), revenueCode, charge: c.amount ?? '0', unit: 'UN', quantity: c.quantity,
        diagnosisPointers: [], serviceDate: c.serviceDate, serviceEndDate: c.serviceEndDate ?? undefined, drug,
      },
    });
  }

  const billingProvider = provider
    ? {
        kind: provider.kind, last: provider.name, first: provider.firstName ?? undefined, npi: provider.npi, taxonomy: provider.taxonomy ?? undefined,
        taxId: provider.taxId, taxIdType: provider.taxIdType, address: provider.address, payToAddress: provider.payToAddress ?? undefined,
      }
    : { kind: 'organization' as const, last: '', npi: '', taxId: '', taxIdType: 'EI' as const, address: { line1: '', city: '', state: '', zip: '' } };

  const performing = billable.map((c) => c.performingProvider?.npi).filter((n): n is string => n !== undefined);
  const renderingSource = performing.length > 0 && performing.every((n) => n === performing[0]) ? billable.find((c) => c.performingProvider?.npi === performing[0])?.performingProvider : e.attendingProvider;

  const base = {
    type: claimType, billingProvider, subscriber, patient, payer: { name: payer?.name ?? primary?.payerName ?? '', id: payer?.payerId ?? '', address: payer?.address ?? undefined },
    patientControlNumber: '', frequency: '1' as const, providerSignature: true, assignment: 'A' as const, benefitsAssigned: 'Y' as const, releaseOfInformation: 'Y' as const,
    otherCoverage,
  };

  const drafts: ClaimDraft[] = [];
  const parts = claimType === 'professional' ? splitProfessional(lines, dx) : splitInstitutional(lines, dx);
  const sharedProblems = chk.problems;
  parts.forEach((part, i) => {
    const pchk = new Checker();
    let claim: Claim837;
    const total = part.lines.reduce((sum, l) => addDecimal(sum, l.line.charge), '0');
    const from = part.lines.map((l) => l.line.serviceDate).sort()[0] ?? '';
    const to = part.lines.map((l) => l.line.serviceEndDate ?? l.line.serviceDate).sort().reverse()[0] ?? '';
    if (claimType === 'professional') {
      const pointers = (codes: string[]): number[] => codes.map((c) => part.dx.indexOf(c) + 1).filter((n) => n > 0).slice(0, LIMITS.professional.pointers);
      claim = {
        ...base, placeOfService: facility?.placeOfService ?? undefined, totalCharge: total, diagnoses: part.dx,
        rendering: pchk.provider(renderingSource, 'FT1-20 performing / PV1-7 attending provider', '2310B', false),
        referring: e.referringProvider ? pchk.provider(e.referringProvider, 'PV1-8 referring provider', '2310A', false) : undefined,
        serviceFacility: facility?.serviceFacility ? { kind: 'organization', last: facility.serviceFacility.name, npi: facility.serviceFacility.npi, address: facility.serviceFacility.address } : undefined,
        lines: part.lines.map((l) => ({ ...l.line, diagnosisPointers: pointers(l.dx).length > 0 ? pointers(l.dx) : [1] })),
      };
    } else {
      const inpatient = (e.patientClass ?? '').toUpperCase() === 'I';
      const tob = (inpatient ? facility?.inpatientTypeOfBill : undefined) ?? facility?.typeOfBill ?? '';
      const admitDate = e.admitAt?.slice(0, 10);
      if (inpatient && admitDate === undefined) pchk.add('PV1-44 admit date/time', '2300 DTP*435', 'is required on inpatient claims');
      const disposition = e.dischargeDisposition?.trim();
      if (inpatient && (disposition === undefined || disposition === '')) pchk.add('PV1-36 discharge disposition', '2300 CL1-03', 'is required on inpatient claims');
      const status = disposition !== undefined && /^\d{2}$/.test(disposition) ? disposition : inpatient ? '' : '01';
      if (disposition !== undefined && disposition !== '' && !/^\d{2}$/.test(disposition)) pchk.add('PV1-36 discharge disposition', '2300 CL1-03', `"${disposition}" is not a 2-digit patient status code`);
      const admitType = e.admitType?.trim().toUpperCase();
      const attending = pchk.provider(e.attendingProvider, 'PV1-7 attending provider', '2310A', true);
      // 2310B operating physician: the surgeon (PR1-11) of the principal procedure, when an NPI is known.
      const surgeon = b.procedures.find((p) => PCS_SYSTEMS.has(p.codingSystem.toUpperCase()) && p.surgeon?.npi !== undefined)?.surgeon;
      const operating = inpatient && surgeon ? pchk.provider(surgeon, 'PR1-11 surgeon', '2310B', false) : undefined;
      const pcs = b.procedures.filter((p) => PCS_SYSTEMS.has(p.codingSystem.toUpperCase()) && p.procedureAt !== null).map((p) => ({ code: p.code.replace('.', ''), date: (p.procedureAt as string).slice(0, 10) }));
      claim = {
        ...base, totalCharge: total, diagnoses: part.dx.slice(0, 1 + LIMITS.institutional.diagnoses),
        referring: e.referringProvider ? pchk.provider(e.referringProvider, 'PV1-8 referring provider', '2310F', false) : undefined,
        serviceFacility: facility?.serviceFacility ? { kind: 'organization', last: facility.serviceFacility.name, npi: facility.serviceFacility.npi, address: facility.serviceFacility.address } : undefined,
        institutional: {
          typeOfBill: tob, statementFrom: inpatient && admitDate !== undefined ? admitDate : from, statementTo: inpatient && e.dischargeAt !== null ? e.dischargeAt.slice(0, 10) : to,
          admission: inpatient && e.admitAt !== null ? { date: e.admitAt.slice(0, 10), hour: e.admitAt.slice(11, 13) + e.admitAt.slice(14, 16) } : undefined,
          dischargeHour: inpatient && e.dischargeAt !== null && e.dischargeAt.length >= 16 ? e.dischargeAt.slice(11, 13) + e.dischargeAt.slice(14, 16) : undefined,
          admissionType: admitType === undefined || admitType === '' ? (inpatient ? '9' : undefined) : /^[1-9]$/.test(admitType) ? admitType : (ADMISSION_TYPE[admitType] ?? '9'),
          admissionSource: e.admitSource?.trim() ? e.admitSource.trim().slice(0, 1) : inpatient ? '9' : undefined,
          dischargeStatus: status, procedures: inpatient ? pcs.slice(0, 1 + LIMITS.institutional.procedures) : [], attending, operating,
        },
        lines: part.lines.map((l) => l.line),
      };
    }
    drafts.push({
      claimType, part: i + 1, payerRowId: payer?.id ?? null, billingProviderRowId: facility?.billingProviderId ?? null, facilityRowId: facility?.id ?? null,
      coverageId: primary?.id ?? null, claim, lineCharges: part.lines.map((l) => l.chargeIds), problems: [...sharedProblems, ...pchk.problems], totalCharge: total, serviceFrom: from, serviceTo: to,
    });
  });
  return { drafts };
}

/** The patient as the claims name them: name, sex, address (checked once per build). */
interface PatientParts {
  name: { last: string; first?: string; middle?: string; suffix?: string };
  sex: 'F' | 'M' | 'U' | undefined;
  address: X12Address;
}

/**
 * The subscriber (2000B/2010BA) of the claim to the payer of `coverage` (the `index`th IN1), and the
 * patient (2000C) when the patient is not that subscriber; each problem names its IN1 field.
 */
function partiesOf(
  b: EncounterBundle, coverage: EncounterBundle['coverages'][number] | undefined, index: number, payer: PracticeView['payers'][number] | undefined,
  responsibility: 'P' | 'S' | 'T', p: PatientParts, chk: Checker,
): { subscriber: Subscriber; patient: Patient | undefined } {
  const in1 = index === 1 ? 'IN1' : `IN1[${index}]`;
  const relationship = coverage ? relationshipOf(coverage, b.patient) : '18';
  if (coverage && relationship === undefined) chk.add(`${in1}-17 "${coverage.insuredRelationship ?? ''}"`, '2000C PAT-01', 'is not a known relationship code (HL7 table 0063)');
  const patientIsSubscriber = relationship === '18' || relationship === undefined;
  const memberId = chk.text(coverage?.memberId ?? null, `${in1}-36 member id`, '2010BA NM1-09', 80);
  const group = {
    groupNumber: chk.optText(coverage?.groupNumber, `${in1}-8 group number`, '2000B SBR-03', 50), groupName: chk.optText(coverage?.groupName, `${in1}-9 group name`, '2000B SBR-04', 60),
    payerResponsibility: responsibility, claimFilingIndicator: payer?.claimFilingIndicator ?? 'ZZ',
  };
  const subscriber: Subscriber = patientIsSubscriber
    ? { ...p.name, memberId, birthDate: b.patient.birthDate ?? undefined, sex: p.sex, address: p.address, ...group }
    : {
        last: chk.text(coverage?.insuredName?.family, `${in1}-16 insured family name`, '2010BA NM1-03', 60), first: chk.optText(coverage?.insuredName?.given, `${in1}-16 insured given name`, '2010BA NM1-04', 35),
        middle: chk.optText(coverage?.insuredName?.middle, `${in1}-16 insured middle name`, '2010BA NM1-05', 25), memberId, birthDate: coverage?.insuredBirthDate ?? undefined,
        address: coverage?.insuredAddress ? chk.address(coverage.insuredAddress, `${in1}-19 insured address`, '2010BA') : undefined, ...group,
      };
  const patient: Patient | undefined = patientIsSubscriber ? undefined : { ...p.name, birthDate: b.patient.birthDate ?? '', sex: p.sex ?? 'U', address: p.address, relationship };
  return { subscriber, patient };
}

/** What an earlier payer did with the claim (its 835s, net of reversals): the 2320/2330 and 2430 loops of the next payer's claim. */
export interface EarlierAdjudication {
  /** The earlier payer as its claim named it. */
  payer: Payer;
  payerResponsibility: 'P' | 'S';
  claimFilingIndicator: string;
  /** SBR02: the patient's relationship to that payer's subscriber. */
  relationship: string;
  groupNumber?: string;
  subscriber: X12Name & { memberId: string };
  paid: string;
  claimAdjustments: ClaimAdjustment[];
  remainingPatientLiability: string;
  payerClaimControlNumber?: string;
  /** Each line of the claim (by position), or undefined when the payer has not adjudicated it. */
  lines: (LineAdjudication | undefined)[];
}

/**
 * The claim to the next payer (secondary, then tertiary) after the earlier payers adjudicated
 * `previous` (the claim they were sent): the same services, diagnoses and providers, billed to the
 * payer of the encounter's next coverage, with each earlier payer in 2320/2330 (SBR, CAS, AMT*D,
 * AMT*EAF) and its line adjudications in 2430 (SVD, CAS, DTP*573). A draft whose adjudications do
 * not balance is held with the reason (TR3: CLM02 - 2320 CAS - 2430 CAS = AMT*D per payer; SV102 -
 * 2430 CAS = SVD02 per line).
 */
export function buildFollowingClaim(
  b: EncounterBundle, practice: PracticeView, previous: Claim837, earlier: EarlierAdjudication[], sequence: 'S' | 'T',
): { draft: Omit<ClaimDraft, 'lineCharges' | 'part' | 'billingProviderRowId' | 'facilityRowId' | 'claimType'>; skipped?: undefined } | { draft?: undefined; skipped: string } {
  const coverages = [...b.coverages].sort((x, y) => x.setId - y.setId);
  const index = sequence === 'S' ? 2 : 3;
  const coverage = coverages[index - 1];
  if (!coverage) return { skipped: `the encounter has no ${sequence === 'S' ? 'second' : 'third'} insurance (IN1)` };
  const payer = payerOf(coverage, practice);
  if (!payer) return { skipped: `IN1[${index}]-3 "${coverage.payerId ?? ''}" / IN1[${index}]-2 "${coverage.planId ?? ''}" matches no payer in the practice setup` };
  const chk = new Checker();
  const name = { last: chk.text(b.patient.familyName, 'PID-5.1 family name', '2010BA/2010CA NM1-03', 60), first: chk.optText(b.patient.givenName, 'PID-5.2 given name', 'NM1-04', 35),
    middle: chk.optText(b.patient.middleName, 'PID-5.3 middle name', 'NM1-05', 25), suffix: chk.optText(b.patient.nameSuffix, 'PID-5.4 suffix', 'NM1-07', 10) };
  const parts: PatientParts = { name, sex: sexOf(b.patient.sex), address: chk.address(b.patient.address, 'PID-11', '2010BA/2010CA') };
  const { subscriber, patient } = partiesOf(b, coverage, index, payer, sequence, parts, chk);
  // 2320: the earlier payers with what they did, then the payers after this one (without).
  const later = coverages.slice(index, 10).flatMap((c, i): OtherCoverage[] => {
    const p = payerOf(c, practice);
    if (!p) return [];
    const rel = relationshipOf(c, b.patient) ?? 'G8';
    return [{
      payerResponsibility: index + i + 1 === 2 ? 'S' : 'T', relationship: rel, groupNumber: chk.optText(c.groupNumber, `IN1[${index + i + 1}]-8 group number`, '2320 SBR-03', 50),
      claimFilingIndicator: p.claimFilingIndicator,
      subscriber: { last: rel === '18' ? name.last : chk.text(c.insuredName?.family, `IN1[${index + i + 1}]-16 insured family name`, '2330A NM1-03', 60),
        first: rel === '18' ? name.first : chk.optText(c.insuredName?.given, `IN1[${index + i + 1}]-16 insured given name`, '2330A NM1-04', 35),
        memberId: chk.text(c.memberId, `IN1[${index + i + 1}]-36 member id`, '2330A NM1-09', 80) },
      payer: { name: chk.text(p.name, 'practice setup payer name', '2330B NM1-03', 60), id: p.payerId },
    }];
  });
  const otherCoverage: OtherCoverage[] = [
    ...earlier.map((e): OtherCoverage => ({
      payerResponsibility: e.payerResponsibility, relationship: e.relationship, groupNumber: e.groupNumber, claimFilingIndicator: e.claimFilingIndicator, subscriber: e.subscriber, payer: e.payer,
      paidAmount: e.paid, adjustments: e.claimAdjustments, remainingPatientLiability: compareDecimal(e.remainingPatientLiability, '0') > 0 ? e.remainingPatientLiability : undefined,
      payerClaimControlNumber: e.payerClaimControlNumber,
    })),
    ...later,
  ];
  const lines: ServiceLine[] = previous.lines.map((l, i) => ({
    ...l, controlNumber: '', adjudications: earlier.flatMap((e) => (e.lines[i] ? [e.lines[i]] : [])),
  }));
  // The adjudications must balance against what this claim bills, or the next payer rejects it.
  for (const e of earlier) {
    let adjusted = e.claimAdjustments.reduce((t, a) => addDecimal(t, a.amount), '0');
    previous.lines.forEach((l, i) => {
      const a = e.lines[i];
      if (!a) {
        chk.add(`${e.payer.name} 835`, `2430 line ${i + 1}`, `${e.payer.name} has not adjudicated line ${i + 1} (${l.procedureCode ?? l.revenueCode ?? ''}) yet`);
        return;
      }
      const lineAdjusted = a.adjustments.reduce((t, x) => addDecimal(t, x.amount), '0');
      adjusted = addDecimal(adjusted, lineAdjusted);
      if (compareDecimal(subtractDecimal(l.charge, lineAdjusted), a.paid) !== 0) {
        chk.add(`${e.payer.name} 835 line ${i + 1}`, '2430 SVD02', `billed ${l.charge} - adjustments ${lineAdjusted} is not the ${a.paid} the payer paid: the 835 answered another charge than this claim bills`);
      }
    });
    if (compareDecimal(subtractDecimal(previous.totalCharge, adjusted), e.paid) !== 0) {
      chk.add(`${e.payer.name} 835`, '2320 AMT*D', `billed ${previous.totalCharge} - adjustments ${adjusted} is not the ${e.paid} the payer paid`);
    }
  }
  const claim: Claim837 = {
    ...previous, patientControlNumber: '', frequency: '1', payerClaimControlNumber: undefined, subscriber, patient, payer: { name: payer.name, id: payer.payerId, address: payer.address ?? undefined },
    otherCoverage, lines,
  };
  return {
    draft: {
      payerRowId: payer.id, coverageId: coverage.id, claim, problems: chk.problems, totalCharge: previous.totalCharge,
      serviceFrom: [...previous.lines.map((l) => l.serviceDate)].sort()[0] ?? '', serviceTo: [...previous.lines.map((l) => l.serviceEndDate ?? l.serviceDate)].sort().reverse()[0] ?? '',
    },
  };
}

function ndcOf(raw: string, quantity: string, chk: Checker, at: string): ServiceLine['drug'] {
  const ndc = normalizeNdc(raw);
  if (ndc === undefined) {
    chk.add(`${at} FT1-29 NDC "${raw}"`, '2410 LIN-03', 'is not an NDC in 5-4-2 form (or a 10-digit form that converts to it)');
    return undefined;
  }
  return { ndc, quantity, unit: 'UN' };
}

interface Part {
  lines: LineDraft[];
  dx: string[];
}

/**
 * 837P: at most 50 lines and 12 diagnosis codes per claim (4 pointers per line). Lines go into the
 * current part while both limits hold; each part carries the principal diagnosis, the codes its
 * lines point at, then the encounter's other codes while there is room.
 */
function splitProfessional(lines: LineDraft[], dx: string[]): Part[] {
  const principal = dx[0];
  const parts: Part[] = [];
  let current: Part | undefined;
  for (const l of lines) {
    const needed = l.dx.filter((d) => d !== principal);
    const fits = (p: Part): boolean => p.lines.length < LIMITS.professional.lines && new Set([...p.dx, ...needed]).size <= LIMITS.professional.diagnoses;
    if (!current || !fits(current)) {
      current = { lines: [], dx: principal === undefined ? [] : [principal] };
      parts.push(current);
    }
    current.lines.push(l);
    for (const d of needed) if (!current.dx.includes(d)) current.dx.push(d);
  }
  for (const p of parts) for (const d of dx) if (p.dx.length < LIMITS.professional.diagnoses && !p.dx.includes(d)) p.dx.push(d);
  return parts;
}

/** 837I: at most 999 lines per claim; every part carries all the diagnoses. */
function splitInstitutional(lines: LineDraft[], dx: string[]): Part[] {
  const parts: Part[] = [];
  for (let i = 0; i < lines.length; i += 999) parts.push({ lines: lines.slice(i, i + 999), dx });
  return parts;
}
