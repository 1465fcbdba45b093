import type { EncounterKeySource, EncounterStatus, Guarantor, Provider } from '../../encounters/encounter.entity';
import type { PatientIdentifier, PostalAddress } from '../../encounters/patient.entity';

/**
 * Update semantics of an HL7 field: `undefined` (empty or absent) keeps what is stored, `null`
 * (the HL7 null `""`) clears it, a value replaces it.
 */
export type Update<T> = T | null | undefined;

export interface PatientRecord {
  key: string;
  mrn: string;
  mrnAuthority: string;
  identifiers: Update<PatientIdentifier[]>;
  familyName: Update<string>;
  givenName: Update<string>;
  middleName: Update<string>;
  nameSuffix: Update<string>;
  birthDate: Update<string>;
  sex: Update<string>;
  address: Update<PostalAddress>;
  phone: Update<string>;
  accountNumber: Update<string>;
}

export interface EncounterRecord {
  key: string;
  keySource: EncounterKeySource;
  patientKey: string;
  visitNumber: Update<string>;
  accountNumber: Update<string>;
  status: Update<EncounterStatus>;
  patientClass: Update<string>;
  admitType: Update<string>;
  admitSource: Update<string>;
  hospitalService: Update<string>;
  financialClass: Update<string>;
  facility: Update<string>;
  location: Update<Record<string, string>>;
  attendingProvider: Update<Provider>;
  referringProvider: Update<Provider>;
  admittingProvider: Update<Provider>;
  admitAt: Update<string>;
  dischargeAt: Update<string>;
  dischargeDisposition: Update<string>;
  guarantor: Update<Guarantor>;
}

export interface CoverageRecord {
  /** encounter key, or `patient:<patient key>` for person-level coverage. */
  ownerKey: string;
  encounterKey?: string;
  patientKey: string;
  setId: number;
  payerId?: string;
  payerName?: string;
  planId?: string;
  planType?: string;
  groupNumber?: string;
  groupName?: string;
  memberId?: string;
  insuredName?: { family?: string; given?: string; middle?: string };
  insuredRelationship?: string;
  insuredBirthDate?: string;
  insuredAddress?: PostalAddress;
  effectiveDate?: string;
  expirationDate?: string;
}

export interface DiagnosisRecord {
  encounterKey: string;
  setId?: number;
  code: string;
  codingSystem: string;
  description?: string;
  diagnosisType?: string;
  priority?: number;
}

export interface ProcedureRecord {
  encounterKey: string;
  setId?: number;
  code: string;
  codingSystem: string;
  description?: string;
  procedureAt?: string;
  surgeon?: Provider;
}

export interface ChargeRecord {
  encounterKey: string;
  ft1Index: number;
  transactionId?: string;
  transactionBatchId?: string;
  serviceDate: string;
  serviceEndDate?: string;
  postingDate?: string;
  transactionType: string;
  transactionCode?: string;
  transactionCodeSystem?: string;
  description?: string;
  /** Decimal string; 1 when FT1-10 is empty. Positive for charges, negative for credits when sent so. */
  quantity: string;
  /** The charge's amount: FT1-11 when sent, else FT1-12 x FT1-10 (see priceSource); undefined leaves it to the chargemaster. */
  amount?: string;
  /** Where `amount` came from: FT1-11 ('message') or FT1-12 x FT1-10 ('unit_price'). */
  priceSource?: 'message' | 'unit_price';
  /** FT1-12 unit amount as sent. */
  unitAmount?: string;
  department?: string;
  insurancePlanId?: string;
  diagnosisCodes: string[];
  performingProvider?: Provider;
  orderingProvider?: Provider;
  procedureCode?: string;
  procedureCodeSystem?: string;
  modifiers: string[];
  ndc?: string;
  isCredit: boolean;
}

export interface MergeRecord {
  survivorKey: string;
  priorKeys: string[];
}

/** What one message asks for, independent of the database. */
export interface MappedMessage {
  /** 'ignore': stored and acknowledged, nothing applied (with the reason). */
  action: 'apply' | 'ignore';
  reason?: string;
  patients: PatientRecord[];
  encounters: EncounterRecord[];
  coverages: CoverageRecord[];
  diagnoses: DiagnosisRecord[];
  procedures: ProcedureRecord[];
  charges: ChargeRecord[];
  merges: MergeRecord[];
  /** Problems in fields billing can do without; stored on the message. */
  warnings: string[];
}

export function emptyMapping(action: MappedMessage['action'], reason?: string): MappedMessage {
  return { action, reason, patients: [], encounters: [], coverages: [], diagnoses: [], procedures: [], charges: [], merges: [], warnings: [] };
}
