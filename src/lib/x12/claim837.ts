/**
 * 837P (005010X222A1) and 837I (005010X223A2) claims: the data a claim carries, and a transaction
 * writer that emits the TR3 loops for claims given one at a time (so that a batch of any size
 * can be streamed). Values must already be X12 text (see toX12Text); dates are 'YYYY-MM-DD',
 * amounts and quantities decimal strings.
 */
import { transactionControlNumber, ccyymmdd, hhmm, writeSe, writeSt } from './envelope';
import { x12Date, x12Decimal, X12ValueError, type X12Writer } from './writer';

export type ClaimType = 'professional' | 'institutional';

export const IMPLEMENTATION: Record<ClaimType, string> = { professional: '005010X222A1', institutional: '005010X223A2' };

export interface X12Address {
  line1: string;
  line2?: string;
  city: string;
  /** Two-letter state or province code. */
  state: string;
  /** 5 or 9 digits (the billing provider's must be 9: ZIP+4). */
  zip: string;
  /** ISO country code when not US. */
  country?: string;
}

/** A person (last name required) or an organisation (name only). */
export interface X12Name {
  last: string;
  first?: string;
  middle?: string;
  suffix?: string;
}

export interface X12Provider extends X12Name {
  kind: 'person' | 'organization';
  npi?: string;
  taxonomy?: string;
  address?: X12Address;
}

export interface BillingProvider extends X12Provider {
  npi: string;
  /** Federal tax id (REF*EI), 9 digits; or an SSN (REF*SY) for a sole practitioner. */
  taxId: string;
  taxIdType: 'EI' | 'SY';
  address: X12Address;
  /** 2010AB, when payments go to another address. */
  payToAddress?: X12Address;
}

export interface Submitter {
  name: string;
  id: string;
  contactName: string;
  phone?: string;
  email?: string;
}

export interface Receiver {
  name: string;
  id: string;
}

export interface Payer {
  name: string;
  /** NM1*PR ... PI <id>: the payer id the clearinghouse routes by. */
  id: string;
  address?: X12Address;
}

export interface Subscriber extends X12Name {
  memberId: string;
  birthDate?: string;
  sex?: 'F' | 'M' | 'U';
  address?: X12Address;
  groupNumber?: string;
  groupName?: string;
  /** SBR01: P primary, S secondary, T tertiary (and A..H for the 4th to 11th payer). */
  payerResponsibility: string;
  /** SBR09: CI commercial, MB Medicare Part B, MA Part A, MC Medicaid, BL Blue Cross/Shield, HM HMO, 12 PPO, ... */
  claimFilingIndicator: string;
}

export interface Patient extends X12Name {
  birthDate: string;
  sex: 'F' | 'M' | 'U';
  address: X12Address;
  /** PAT01 relationship to the subscriber: 01 spouse, 19 child, 20 employee, 21 unknown, 39 organ donor, 40 cadaver donor, 53 life partner, G8 other. */
  relationship: string;
}

/** An adjustment a payer made (CAS): group code (CO, OA, PI, PR), reason code (CARC), amount, quantity. */
export interface ClaimAdjustment {
  group: string;
  reason: string;
  amount: string;
  quantity?: string;
}

/** What another payer did with a line (loop 2430), from its 835: for the next payer's claim. */
export interface LineAdjudication {
  /** SVD01: the other payer's id, as in its 2330B NM109. */
  payerId: string;
  /** SVD02: what it paid for the line. */
  paid: string;
  /** SVD03: the procedure it adjudicated (HC), or the revenue code (837I, NU). */
  procedure: { qualifier: string; code: string; modifiers: string[] };
  /** SVD04 (837I): the revenue code. */
  revenueCode?: string;
  /** SVD05: units paid. */
  paidUnits: string;
  adjustments: ClaimAdjustment[];
  /** DTP*573: when it adjudicated the line (its 835's payment date). */
  date: string;
}

/** Another payer of this claim (loops 2320/2330A/2330B): a claim billed to a secondary names its primary. */
export interface OtherCoverage {
  payerResponsibility: string;
  /** SBR02 individual relationship code of the patient to this subscriber: 18 self, 01 spouse, 19 child, 20 employee, 21 unknown, 39, 40, 53, G8. */
  relationship: string;
  groupNumber?: string;
  claimFilingIndicator: string;
  subscriber: X12Name & { memberId: string };
  payer: Payer;
  /** AMT*D: what this payer paid, when it has adjudicated the claim. */
  paidAmount?: string;
  /** 2320 CAS: its claim-level adjustments, when it has adjudicated the claim. */
  adjustments?: ClaimAdjustment[];
  /** AMT*EAF: what the patient still owes after this payer. */
  remainingPatientLiability?: string;
  /** 2330B DTP*573: when it adjudicated the claim (sent when no line carries a 2430 date). */
  adjudicationDate?: string;
  /** 2330B REF*F8: its claim control number. */
  payerClaimControlNumber?: string;
}

export interface ServiceLine {
  /** REF*6R: unique per claim, echoed on the 835 (loop 2110). */
  controlNumber: string;
  /** HCPCS/CPT (SV101-2 / SV202-2); institutional lines may have only a revenue code. */
  procedureCode?: string;
  modifiers: string[];
  /** 837I SV201: UB-04 revenue code. */
  revenueCode?: string;
  charge: string;
  /** UN units, MJ minutes (anesthesia). */
  unit: 'UN' | 'MJ';
  quantity: string;
  /** 837P SV105: only when it differs from the claim's place of service. */
  placeOfService?: string;
  /** 837P SV107: 1-based positions in the claim's diagnoses, at most 4. */
  diagnosisPointers: number[];
  serviceDate: string;
  serviceEndDate?: string;
  /** NDC in 11-digit 5-4-2 form without dashes, with the dispensed quantity and unit (F2, GR, ME, ML, UN). */
  drug?: { ndc: string; quantity: string; unit: 'F2' | 'GR' | 'ME' | 'ML' | 'UN' };
  /** Loop 2430: what earlier payers did with this line (a secondary or tertiary claim). */
  adjudications?: LineAdjudication[];
}

export interface InstitutionalData {
  /** Type of bill, 4 characters with the leading 0 ("0131"): CLM05-1 takes the facility type and classification. */
  typeOfBill: string;
  statementFrom: string;
  statementTo: string;
  /** DTP*435: admission date and, when known, hour (HHMM). */
  admission?: { date: string; hour?: string };
  /** DTP*096: discharge hour (HHMM), inpatient claims. */
  dischargeHour?: string;
  /** CL101/CL102/CL103: UB-04 admission type, point of origin, patient discharge status. */
  admissionType?: string;
  admissionSource?: string;
  dischargeStatus: string;
  admittingDiagnosis?: string;
  /** ICD-10-PCS procedures; the first is the principal one. */
  procedures: { code: string; date: string }[];
  attending?: X12Provider;
  operating?: X12Provider;
}

export interface Claim837 {
  type: ClaimType;
  billingProvider: BillingProvider;
  subscriber: Subscriber;
  /** Present when the patient is not the subscriber (loop 2000C). */
  patient?: Patient;
  payer: Payer;
  /** CLM01: at most 17 characters (payers echo it on the 835 and some truncate longer ones). */
  patientControlNumber: string;
  totalCharge: string;
  /** CLM05-3: 1 original, 7 replacement, 8 void. */
  frequency: '1' | '7' | '8';
  /** REF*F8: the payer's claim number of the claim replaced or voided (frequency 7 or 8). */
  payerClaimControlNumber?: string;
  /** 837P CLM05-1: place of service code. */
  placeOfService?: string;
  /** CLM06 (837P): provider signature on file. */
  providerSignature: boolean;
  /** CLM07: A assigned, B assignment accepted on clinical lab services only, C not assigned. */
  assignment: 'A' | 'B' | 'C';
  /** CLM08: Y benefits assigned, N not, W not applicable. */
  benefitsAssigned: 'Y' | 'N' | 'W';
  /** CLM09: Y signed statement on file, I informed consent. */
  releaseOfInformation: 'Y' | 'I';
  /** ICD-10-CM codes (with or without the dot); the first is the principal diagnosis. */
  diagnoses: string[];
  referring?: X12Provider;
  rendering?: X12Provider;
  serviceFacility?: X12Provider & { address: X12Address };
  otherCoverage: OtherCoverage[];
  institutional?: InstitutionalData;
  lines: ServiceLine[];
}

export interface Transaction837 {
  /** ST02 (1..999,999,999). */
  controlNumber: number;
  /** BHT03: unique per transaction (277CA responses quote it). */
  referenceId: string;
  createdAt: Date;
  submitter: Submitter;
  receiver: Receiver;
}

/** TR3 limits the writer enforces (the claim checks hold a claim before it gets here). */
export const LIMITS = {
  professional: { lines: 50, diagnoses: 12, pointers: 4 },
  institutional: { lines: 999, diagnoses: 24, procedures: 24 },
  patientControlNumber: 17,
} as const;

const icd = (code: string): string => code.replace('.', '');

/**
 * Writes one 837 transaction (ST..SE). Claims are added one at a time; a new billing provider
 * (2000A), subscriber (2000B) or patient (2000C) level starts whenever it differs from the
 * previous claim's, so claims sorted by provider, subscriber and patient share their levels.
 */
export class Transaction837Writer {
  private hl = 0;
  private providerHl = 0;
  private subscriberHl = 0;
  private providerKey: string | undefined;
  private subscriberKey: string | undefined;
  private patientKey: string | undefined;
  private readonly st: string;
  claims = 0;

  constructor(
    private readonly w: X12Writer,
    readonly type: ClaimType,
    private readonly tx: Transaction837,
  ) {
    this.st = transactionControlNumber(tx.controlNumber);
  }

  begin(): void {
    const { w, tx } = this;
    writeSt(w, '837', this.st, IMPLEMENTATION[this.type]);
    // BHT06 CH: chargeable (a claim, not an encounter report).
    w.segment('BHT', '0019', '00', tx.referenceId, ccyymmdd(tx.createdAt), hhmm(tx.createdAt), 'CH');
    w.segment('NM1', '41', '2', tx.submitter.name, '', '', '', '', '46', tx.submitter.id);
    const contact: string[] = [];
    if (tx.submitter.phone !== undefined) contact.push('TE', tx.submitter.phone);
    if (tx.submitter.email !== undefined) contact.push('EM', tx.submitter.email);
    w.segment('PER', 'IC', tx.submitter.contactName, ...contact);
    w.segment('NM1', '40', '2', tx.receiver.name, '', '', '', '', '46', tx.receiver.id);
  }

  add(claim: Claim837): void {
    if (claim.type !== this.type) throw new X12ValueError(`a ${claim.type} claim in an ${IMPLEMENTATION[this.type]} transaction`, 'ST-03');
    const patientIsSubscriber = claim.patient === undefined;
    const providerKey = JSON.stringify(claim.billingProvider);
    if (providerKey !== this.providerKey) {
      this.providerKey = providerKey;
      this.subscriberKey = undefined;
      this.writeBillingProvider(claim.billingProvider);
    }
    const subscriberKey = JSON.stringify([claim.subscriber, claim.payer, patientIsSubscriber]);
    if (subscriberKey !== this.subscriberKey) {
      this.subscriberKey = subscriberKey;
      this.patientKey = undefined;
      this.writeSubscriber(claim);
    }
    if (claim.patient) {
      const patientKey = JSON.stringify(claim.patient);
      if (patientKey !== this.patientKey) {
        this.patientKey = patientKey;
        this.writePatient(claim.patient);
      }
    }
    this.writeClaim(claim);
    this.claims++;
  }

  end(): void {
    writeSe(this.w, this.st);
  }

  private writeBillingProvider(p: BillingProvider): void {
    const { w } = this;
    this.hl++;
    this.providerHl = this.hl;
    w.segment('HL', String(this.hl), '', '20', '1');
    if (p.taxonomy !== undefined) w.segment('PRV', 'BI', 'PXC', p.taxonomy);
    this.name('85', p, 'XX', p.npi);
    this.address(p.address);
    w.segment('REF', p.taxIdType, p.taxId);
    if (p.payToAddress) {
      w.segment('NM1', '87', p.kind === 'person' ? '1' : '2');
      this.address(p.payToAddress);
    }
  }

  private writeSubscriber(c: Claim837): void {
    const { w } = this;
    const s = c.subscriber;
    this.hl++;
    this.subscriberHl = this.hl;
    // HL04: 1 when a patient level (2000C) follows.
    w.segment('HL', String(this.hl), String(this.providerHl), '22', c.patient ? '1' : '0');
    // SBR02 18 (self) only when the subscriber is the patient; SBR04 group name only without a group number.
    w.segment('SBR', s.payerResponsibility, c.patient ? '' : '18', s.groupNumber, s.groupNumber === undefined ? s.groupName : undefined, '', '', '', '', s.claimFilingIndicator);
    this.name('IL', { kind: 'person', ...s }, 'MI', s.memberId);
    // Address and demographics are required when the subscriber is the patient.
    if (s.address) this.address(s.address);
    if (s.birthDate !== undefined || s.sex !== undefined) w.segment('DMG', 'D8', s.birthDate === undefined ? undefined : x12Date(s.birthDate), s.sex ?? 'U');
    this.name('PR', { kind: 'organization', last: c.payer.name }, 'PI', c.payer.id);
    if (c.payer.address) this.address(c.payer.address);
  }

  private writePatient(p: Patient): void {
    const { w } = this;
    this.hl++;
    w.segment('HL', String(this.hl), String(this.subscriberHl), '23', '0');
    w.segment('PAT', p.relationship);
    this.name('QC', { kind: 'person', ...p });
    this.address(p.address);
    w.segment('DMG', 'D8', x12Date(p.birthDate), p.sex);
  }

  private writeClaim(c: Claim837): void {
    const { w } = this;
    const professional = c.type === 'professional';
    const inst = c.institutional;
    if (c.patientControlNumber.length > LIMITS.patientControlNumber) throw new X12ValueError('patient control number longer than 17 characters', 'CLM-01');
    if (professional && c.lines.length > LIMITS.professional.lines) throw new X12ValueError('more than 50 service lines', 'LX');
    if (professional && c.diagnoses.length > LIMITS.professional.diagnoses) throw new X12ValueError('more than 12 diagnosis codes', 'HI');
    if (c.lines.length === 0) throw new X12ValueError('a claim needs at least one service line', 'LX');
    if (c.diagnoses.length === 0) throw new X12ValueError('a claim needs a principal diagnosis', 'HI-01');

    if (professional) {
      if (c.placeOfService === undefined) throw new X12ValueError('place of service missing', 'CLM-05-1');
      w.segment('CLM', c.patientControlNumber, x12Decimal(c.totalCharge), '', '', [c.placeOfService, 'B', c.frequency], c.providerSignature ? 'Y' : 'N', c.assignment, c.benefitsAssigned, c.releaseOfInformation);
    } else {
      if (!inst) throw new X12ValueError('institutional data missing', 'CLM');
      // 837I CLM05-1: the type of bill's facility type and classification (0131 → 13).
      const tob = inst.typeOfBill.replace(/^0/, '');
      w.segment('CLM', c.patientControlNumber, x12Decimal(c.totalCharge), '', '', [tob.slice(0, 2), 'A', c.frequency], '', c.assignment, c.benefitsAssigned, c.releaseOfInformation);
      if (inst.dischargeHour !== undefined) w.segment('DTP', '096', 'TM', inst.dischargeHour);
      w.segment('DTP', '434', 'RD8', `${x12Date(inst.statementFrom)}-${x12Date(inst.statementTo)}`);
      if (inst.admission) {
        w.segment('DTP', '435', inst.admission.hour === undefined ? 'D8' : 'DT', x12Date(inst.admission.date) + (inst.admission.hour ?? ''));
      }
      w.segment('CL1', inst.admissionType, inst.admissionSource, inst.dischargeStatus);
    }
    if (c.frequency !== '1') {
      if (c.payerClaimControlNumber === undefined) throw new X12ValueError(`frequency ${c.frequency} needs the payer's claim control number`, 'REF*F8');
      w.segment('REF', 'F8', c.payerClaimControlNumber);
    }
    this.diagnoses(c);
    if (professional) {
      if (c.referring) this.provider('DN', c.referring);
      if (c.rendering) {
        this.provider('82', c.rendering);
        if (c.rendering.taxonomy !== undefined) w.segment('PRV', 'PE', 'PXC', c.rendering.taxonomy);
      }
      if (c.serviceFacility) {
        this.name('77', { ...c.serviceFacility, kind: 'organization' }, c.serviceFacility.npi === undefined ? undefined : 'XX', c.serviceFacility.npi);
        this.address(c.serviceFacility.address);
      }
    } else if (inst) {
      if (inst.attending) {
        this.provider('71', inst.attending);
        if (inst.attending.taxonomy !== undefined) w.segment('PRV', 'AT', 'PXC', inst.attending.taxonomy);
      }
      if (inst.operating) this.provider('72', inst.operating);
      if (c.serviceFacility) {
        this.name('77', { ...c.serviceFacility, kind: 'organization' }, c.serviceFacility.npi === undefined ? undefined : 'XX', c.serviceFacility.npi);
        this.address(c.serviceFacility.address);
      }
      if (c.referring) this.provider('DN', c.referring);
    }
    for (const o of c.otherCoverage) {
      w.segment('SBR', o.payerResponsibility, o.relationship, o.groupNumber, '', '', '', '', '', o.claimFilingIndicator);
      // 2320 CAS: the other payer's claim-level adjustments (TR3: CLM02 - 2320 CAS - 2430 CAS = AMT*D).
      this.adjustments(o.adjustments ?? []);
      if (o.paidAmount !== undefined) w.segment('AMT', 'D', x12Decimal(o.paidAmount));
      if (o.remainingPatientLiability !== undefined) w.segment('AMT', 'EAF', x12Decimal(o.remainingPatientLiability));
      // OI03 benefits assignment, OI06 release of information (837P OI04 patient signature source not sent).
      w.segment('OI', '', '', c.benefitsAssigned, '', '', c.releaseOfInformation);
      this.name('IL', { kind: 'person', ...o.subscriber }, 'MI', o.subscriber.memberId);
      this.name('PR', { kind: 'organization', last: o.payer.name }, 'PI', o.payer.id);
      if (o.adjudicationDate !== undefined) w.segment('DTP', '573', 'D8', x12Date(o.adjudicationDate));
      if (o.payerClaimControlNumber !== undefined) w.segment('REF', 'F8', o.payerClaimControlNumber);
    }
    c.lines.forEach((line, i) => {
      this.line(c, line, i + 1);
    });
  }

  private diagnoses(c: Claim837): void {
    const { w } = this;
    const [principal, ...others] = c.diagnoses.map(icd);
    if (c.type === 'professional') {
      // 837P: one HI, principal ABK then up to 11 ABF.
      w.segment('HI', ['ABK', principal], ...others.map((d) => ['ABF', d]));
      return;
    }
    const inst = c.institutional as InstitutionalData;
    w.segment('HI', ['ABK', principal]);
    if (inst.admittingDiagnosis !== undefined) w.segment('HI', ['ABJ', icd(inst.admittingDiagnosis)]);
    // 837I: other diagnoses 12 per HI segment (the segment repeats once).
    for (let i = 0; i < others.length; i += 12) w.segment('HI', ...others.slice(i, i + 12).map((d) => ['ABF', d]));
    const [principalPcs, ...otherPcs] = inst.procedures;
    if (principalPcs) w.segment('HI', ['BBR', principalPcs.code, 'D8', x12Date(principalPcs.date)]);
    for (let i = 0; i < otherPcs.length; i += 12) w.segment('HI', ...otherPcs.slice(i, i + 12).map((p) => ['BBQ', p.code, 'D8', x12Date(p.date)]));
  }

  private line(c: Claim837, l: ServiceLine, n: number): void {
    const { w } = this;
    w.segment('LX', String(n));
    if (c.type === 'professional') {
      if (l.procedureCode === undefined) throw new X12ValueError('a professional line needs a procedure code', 'SV1-01-2');
      if (l.diagnosisPointers.length === 0 || l.diagnosisPointers.length > LIMITS.professional.pointers) throw new X12ValueError('1 to 4 diagnosis pointers are needed', 'SV1-07');
      w.segment(
        'SV1', ['HC', l.procedureCode, ...l.modifiers.slice(0, 4)], x12Decimal(l.charge), l.unit, x12Decimal(l.quantity), l.placeOfService ?? '', '',
        l.diagnosisPointers.map(String),
      );
    } else {
      if (l.revenueCode === undefined) throw new X12ValueError('an institutional line needs a revenue code', 'SV2-01');
      w.segment('SV2', l.revenueCode, l.procedureCode === undefined ? undefined : ['HC', l.procedureCode, ...l.modifiers.slice(0, 4)], x12Decimal(l.charge), l.unit, x12Decimal(l.quantity));
    }
    w.segment('DTP', '472', l.serviceEndDate !== undefined && l.serviceEndDate !== l.serviceDate ? 'RD8' : 'D8',
      l.serviceEndDate !== undefined && l.serviceEndDate !== l.serviceDate ? `${x12Date(l.serviceDate)}-${x12Date(l.serviceEndDate)}` : x12Date(l.serviceDate));
    w.segment('REF', '6R', l.controlNumber);
    if (l.drug) {
      w.segment('LIN', '', 'N4', l.drug.ndc);
      w.segment('CTP', '', '', '', x12Decimal(l.drug.quantity), l.drug.unit);
    }
    // Loop 2430: each earlier payer's adjudication of the line (TR3: SV102 - 2430 CAS = SVD02).
    for (const a of l.adjudications ?? []) {
      w.segment('SVD', a.payerId, x12Decimal(a.paid), [a.procedure.qualifier, a.procedure.code, ...a.procedure.modifiers.slice(0, 4)], c.type === 'institutional' ? a.revenueCode : '', x12Decimal(a.paidUnits));
      this.adjustments(a.adjustments);
      w.segment('DTP', '573', 'D8', x12Date(a.date));
    }
  }

  /** CAS segments: one per group code, up to 6 reason/amount/quantity triplets each. */
  private adjustments(list: readonly ClaimAdjustment[]): void {
    const groups = new Map<string, ClaimAdjustment[]>();
    for (const a of list) groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
    for (const [group, items] of groups) {
      for (let i = 0; i < items.length; i += 6) {
        this.w.segment('CAS', group, ...items.slice(i, i + 6).flatMap((a) => [a.reason, x12Decimal(a.amount), a.quantity === undefined ? '' : x12Decimal(a.quantity)]));
      }
    }
  }

  /** NM1 for an entity: person (1) with last/first/middle/suffix, or organisation (2) with its name. */
  private name(entity: string, n: X12Name & { kind: 'person' | 'organization' }, idQualifier?: string, id?: string): void {
    const person = n.kind === 'person';
    this.w.segment('NM1', entity, person ? '1' : '2', n.last, person ? n.first : '', person ? n.middle : '', '', person ? n.suffix : '', id === undefined ? '' : idQualifier, id);
  }

  private provider(entity: string, p: X12Provider): void {
    this.name(entity, p, p.npi === undefined ? undefined : 'XX', p.npi);
  }

  private address(a: X12Address): void {
    this.w.segment('N3', a.line1, a.line2);
    this.w.segment('N4', a.city, a.state, a.zip, a.country === undefined || a.country === 'US' ? '' : a.country);
  }
}
