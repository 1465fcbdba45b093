/**
 * Claim factories for tests and benchmarks: realistic claims with sensible defaults, each shape
 * a clearinghouse sees (professional, institutional, dependent patient, drug line, corrections,
 * a secondary payer). NPIs pass the Luhn check; the billing provider's ZIP is 9 digits.
 */
import { DEFAULT_DELIMITERS, type Batch837Options, type BillingProvider, type Claim837, type ServiceLine } from '../../src/lib/x12';

export const BILLING_PROVIDER: BillingProvider = {
  kind: 'organization', last: 'ST MARY CARDIOLOGY GROUP', npi: '1234567893', taxonomy: '207RC0000X', taxId: '371234567', taxIdType: 'EI',
  address: { line1: '1200 N MAIN ST', line2: 'SUITE 400', city: 'SPRINGFIELD', state: 'IL', zip: '627041234' },
};

export function professionalLine(n: number, over: Partial<ServiceLine> = {}): ServiceLine {
  return {
    controlNumber: `L${n}`, procedureCode: '99214', modifiers: [], charge: '185.00', unit: 'UN', quantity: '1', diagnosisPointers: [1],
    serviceDate: '2024-01-05', ...over,
  };
}

export function professionalClaim(over: Partial<Claim837> = {}): Claim837 {
  return {
    type: 'professional',
    billingProvider: BILLING_PROVIDER,
    subscriber: {
      last: 'OBRIEN', first: 'MARGARET', middle: 'A', memberId: 'XOF883920117', birthDate: '1958-03-17', sex: 'F',
      address: { line1: '1427 WINDING CREEK RD', line2: 'APT 4B', city: 'SPRINGFIELD', state: 'IL', zip: '627043321' },
      groupNumber: 'GRP554433', payerResponsibility: 'P', claimFilingIndicator: 'BL',
    },
    payer: { name: 'BLUE CROSS BLUE SHIELD OF ILLINOIS', id: '00621' },
    patientControlNumber: 'C1000001',
    totalCharge: '247.50',
    frequency: '1',
    placeOfService: '11',
    providerSignature: true,
    assignment: 'A',
    benefitsAssigned: 'Y',
    releaseOfInformation: 'Y',
    diagnoses: ['I25.10', 'E78.5'],
    rendering: { kind: 'person', last: 'WELBY', first: 'MARCUS', npi: '1987654328', taxonomy: '207RC0000X' },
    referring: { kind: 'person', last: 'KILDARE', first: 'JAMES', npi: '1456789019' },
    otherCoverage: [],
    lines: [professionalLine(1, { modifiers: ['25'], diagnosisPointers: [1, 2] }), professionalLine(2, { procedureCode: '93000', charge: '62.50' })],
    ...over,
  };
}

export function institutionalClaim(over: Partial<Claim837> = {}): Claim837 {
  return {
    type: 'institutional',
    billingProvider: { ...BILLING_PROVIDER, last: 'ST MARY MEDICAL CENTER', npi: '1678901236', taxonomy: '282N00000X', taxId: '371234999' },
    subscriber: {
      last: 'GARCIA', first: 'LUIS', memberId: '1EG4TE5MK72', birthDate: '1949-11-02', sex: 'M',
      address: { line1: '88 ELM ST', city: 'SPRINGFIELD', state: 'IL', zip: '62702' }, payerResponsibility: 'P', claimFilingIndicator: 'MA',
    },
    payer: { name: 'MEDICARE PART A', id: '06111' },
    patientControlNumber: 'I2000001',
    totalCharge: '8450.00',
    frequency: '1',
    providerSignature: true,
    assignment: 'A',
    benefitsAssigned: 'Y',
    releaseOfInformation: 'Y',
    diagnoses: ['I21.4', 'I10', 'E11.9'],
    otherCoverage: [],
    institutional: {
      typeOfBill: '0111', statementFrom: '2024-01-03', statementTo: '2024-01-06', admission: { date: '2024-01-03', hour: '1430' }, dischargeHour: '1100',
      admissionType: '1', admissionSource: '7', dischargeStatus: '01', admittingDiagnosis: 'R07.9',
      procedures: [{ code: '4A023N7', date: '2024-01-03' }, { code: 'B2111ZZ', date: '2024-01-04' }],
      attending: { kind: 'person', last: 'WELBY', first: 'MARCUS', npi: '1987654328', taxonomy: '207RC0000X' },
      operating: { kind: 'person', last: 'CHASE', first: 'ROBERT', npi: '1765432103' },
    },
    lines: [
      { controlNumber: 'R1', revenueCode: '0120', modifiers: [], charge: '6000.00', unit: 'UN', quantity: '3', diagnosisPointers: [], serviceDate: '2024-01-03', serviceEndDate: '2024-01-05' },
      { controlNumber: 'R2', revenueCode: '0450', procedureCode: '99285', modifiers: [], charge: '1650.00', unit: 'UN', quantity: '1', diagnosisPointers: [], serviceDate: '2024-01-03' },
      { controlNumber: 'R3', revenueCode: '0636', procedureCode: 'J1885', modifiers: [], charge: '800.00', unit: 'UN', quantity: '2', diagnosisPointers: [], serviceDate: '2024-01-04',
        drug: { ndc: '00409379501', quantity: '2', unit: 'ML' } },
    ],
    ...over,
  };
}

/** Envelope settings with a fixed clock and control numbers (golden files compare byte for byte). */
export function batchOptions(type: Claim837['type'], over: Partial<Batch837Options> = {}): Batch837Options {
  const createdAt = new Date('2024-01-08T15:04:00Z');
  return {
    type,
    delimiters: DEFAULT_DELIMITERS,
    interchange: { senderQualifier: 'ZZ', senderId: 'HL7CLAIMS', receiverQualifier: 'ZZ', receiverId: 'CLEARHOUSE', controlNumber: 101, usage: 'T', ackRequested: false, createdAt },
    group: { senderCode: 'HL7CLAIMS', receiverCode: 'CLEARHOUSE', controlNumber: 201, createdAt },
    submitter: { name: 'HL7 CLAIMS BILLING SERVICES', id: 'HL7CLAIMS', contactName: 'EDI DESK', phone: '2175550100' },
    receiver: { name: 'EXAMPLE CLEARINGHOUSE', id: 'CLEARHOUSE' },
    transaction: (n) => ({ controlNumber: 301 + n, referenceId: `B201T${301 + n}` }),
    ...over,
  };
}

/** Every professional shape the golden file holds. */
export function professionalShapes(): Claim837[] {
  return [
    professionalClaim(),
    // Patient is the subscriber's child: loop 2000C.
    professionalClaim({
      patientControlNumber: 'C1000002', totalCharge: '95.00', diagnoses: ['J06.9'],
      subscriber: { ...professionalClaim().subscriber, last: 'NGUYEN', first: 'THANH', memberId: 'W228800331', birthDate: '1980-06-30', sex: 'M', groupNumber: undefined, groupName: 'ACME MANUFACTURING', claimFilingIndicator: 'CI' },
      patient: { last: 'NGUYEN', first: 'AN', birthDate: '2015-09-12', sex: 'F', relationship: '19', address: { line1: '77 OAK AVE', city: 'SPRINGFIELD', state: 'IL', zip: '62704' } },
      payer: { name: 'AETNA', id: '60054' },
      lines: [professionalLine(1, { procedureCode: '99213', charge: '95.00' })],
    }),
    // Drug line: J-code with NDC, quantity and unit (loop 2410).
    professionalClaim({
      patientControlNumber: 'C1000003', totalCharge: '207.40', diagnoses: ['M54.50'],
      lines: [professionalLine(1, { charge: '185.00', modifiers: ['25'] }), professionalLine(2, { procedureCode: 'J1885', modifiers: ['JW'], charge: '22.40', quantity: '2', drug: { ndc: '00409379501', quantity: '1', unit: 'ML' } })],
    }),
    // Replacement (7) and void (8) carry the payer's claim number.
    professionalClaim({ patientControlNumber: 'C1000001R1', frequency: '7', payerClaimControlNumber: '2024005123456' }),
    professionalClaim({ patientControlNumber: 'C1000001V1', frequency: '8', payerClaimControlNumber: '2024005123456' }),
    // Billed to the secondary payer after the primary's 835 (loops 2320/2330A/2330B with CAS, AMT*D
    // and AMT*EAF; 2430 SVD/CAS/DTP*573 on each line): 247.50 - 35.00 - 30.00 - 12.50 = 170.00 paid.
    professionalClaim({
      patientControlNumber: 'C1000004',
      subscriber: { ...professionalClaim().subscriber, memberId: 'MCD99887766', payerResponsibility: 'S', claimFilingIndicator: 'MC', groupNumber: undefined },
      payer: { name: 'ILLINOIS MEDICAID', id: 'IL MCD' },
      otherCoverage: [{
        payerResponsibility: 'P', relationship: '18', groupNumber: 'GRP554433', claimFilingIndicator: 'BL',
        subscriber: { last: 'OBRIEN', first: 'MARGARET', memberId: 'XOF883920117' }, payer: { name: 'BLUE CROSS BLUE SHIELD OF ILLINOIS', id: '00621' }, paidAmount: '170.00',
        remainingPatientLiability: '30.00', payerClaimControlNumber: '2024005123456',
      }],
      lines: [
        professionalLine(1, { modifiers: ['25'], diagnosisPointers: [1, 2], adjudications: [{
          payerId: '00621', paid: '120.00', procedure: { qualifier: 'HC', code: '99214', modifiers: ['25'] }, paidUnits: '1', date: '2024-02-01',
          adjustments: [{ group: 'CO', reason: '45', amount: '35.00' }, { group: 'PR', reason: '2', amount: '30.00' }],
        }] }),
        professionalLine(2, { procedureCode: '93000', charge: '62.50', adjudications: [{
          payerId: '00621', paid: '50.00', procedure: { qualifier: 'HC', code: '93000', modifiers: [] }, paidUnits: '1', date: '2024-02-01', adjustments: [{ group: 'CO', reason: '45', amount: '12.50' }],
        }] }),
      ],
    }),
  ];
}

/** Every institutional shape the golden file holds. */
export function institutionalShapes(): Claim837[] {
  const inpatient = institutionalClaim();
  return [
    inpatient,
    // Outpatient (0131), patient is the subscriber's spouse, a replacement claim billed to a secondary.
    institutionalClaim({
      patientControlNumber: 'I2000002R1', frequency: '7', payerClaimControlNumber: 'ICN20240110777', totalCharge: '1650.00', diagnoses: ['R10.9'],
      subscriber: { ...inpatient.subscriber, last: 'PATEL', first: 'RAVI', memberId: 'UHC55501', payerResponsibility: 'S', claimFilingIndicator: 'CI', groupNumber: '708812' },
      patient: { last: 'PATEL', first: 'ANJALI', birthDate: '1984-02-29', sex: 'F', relationship: '01', address: { line1: '9 PINE CT', city: 'CHATHAM', state: 'IL', zip: '62629' } },
      payer: { name: 'UNITEDHEALTHCARE', id: '87726' },
      // The primary (CIGNA) adjudicated it: 1650.00 - 300.00 (claim-level CO-45) - 150.00 (PR-1 on the line) = 1200.00.
      otherCoverage: [{
        payerResponsibility: 'P', relationship: '01', claimFilingIndicator: 'CI', subscriber: { last: 'PATEL', first: 'ANJALI', memberId: 'CIG0098812' }, payer: { name: 'CIGNA', id: '62308' },
        paidAmount: '1200.00', adjustments: [{ group: 'CO', reason: '45', amount: '300.00' }], remainingPatientLiability: '150.00',
      }],
      institutional: {
        typeOfBill: '0137', statementFrom: '2024-01-09', statementTo: '2024-01-09', admissionType: '3', admissionSource: '1', dischargeStatus: '01', procedures: [],
        attending: { kind: 'person', last: 'HOUSE', first: 'GREGORY', npi: '1456789019' },
      },
      lines: [{
        controlNumber: 'R1', revenueCode: '0450', procedureCode: '99284', modifiers: ['25'], charge: '1650.00', unit: 'UN', quantity: '1', diagnosisPointers: [], serviceDate: '2024-01-09',
        adjudications: [{ payerId: '62308', paid: '1500.00', procedure: { qualifier: 'HC', code: '99284', modifiers: ['25'] }, revenueCode: '0450', paidUnits: '1', date: '2024-01-30', adjustments: [{ group: 'PR', reason: '1', amount: '150.00' }] }],
      }],
    }),
  ];
}
