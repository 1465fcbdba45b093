/**
 * The benchmark message: a realistic DFT^P03 of about 4.8 KB (MSH, EVN, PID, PV1, 5 FT1, 3 DG1,
 * GT1, IN1) with escape sequences and repetitions, and the values a billing reader extracts.
 */
export interface Extracted {
  controlId: string;
  mrns: string[];
  family: string;
  given: string;
  ft1Codes: string[];
  ft1Amounts: string[];
  ft1Dx: string[][];
  dg1Codes: string[];
  memberId: string;
}

const pad = (fields: string[], n: number): string[] => {
  while (fields.length <= n) fields.push('');
  return fields;
};

/** `patient` varies the MRN, account and visit number (a feed carries many patients); 0 gives the values in EXPECTED. */
export function benchDft(controlId: string, patient = 0): string {
  return build(controlId, ...patientValues(patient));
}

/** MRN, visit number and account number of the bench's patient number `patient`. */
function patientValues(patient: number): [mrn: string, visit: string, account: string] {
  return [String(48392011 + patient), `VIS${88201934 + patient}`, `ACC${8839201 + patient}`];
}

/**
 * A builder of the same texts as benchDft, from a template cut once: joining a few strings
 * instead of building every segment again, so that a load generator spends less of the machine
 * it shares with the service it measures.
 */
export function benchDftBuilder(): (controlId: string, patient?: number) => string {
  // Private-use characters, which the message does not contain, mark where the varying values go.
  const marked = build('\ue000', '\ue001', '\ue002', '\ue003').split(/([\ue000-\ue003])/);
  // Cut from a two-byte string, the pieces are copied into one-byte strings (cheaper to join and encode).
  const parts = marked.map((p) => Buffer.from(p, 'utf8').toString('utf8'));
  const slot = parts.map((p) => (p.length === 1 && p.charCodeAt(0) >= 0xe000 && p.charCodeAt(0) <= 0xe003 ? p.charCodeAt(0) - 0xe000 : -1));
  return (controlId, patient = 0) => {
    const values = [controlId, ...patientValues(patient)];
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const at = slot[i] as number;
      out += at < 0 ? (parts[i] as string) : (values[at] as string);
    }
    return out;
  };
}

function build(controlId: string, mrn: string, visit: string, account: string): string {
  const segs: string[] = [];
  segs.push(`MSH|^~\\&|EPIC|ST MARY MEDICAL CENTER^1.2.840.114350^ISO|BILLING|BILLING SERVICES LLC|20240105143000-0600||DFT^P03^DFT_P03|${controlId}|P|2.5.1|||AL|NE||UNICODE UTF-8`);
  segs.push('EVN|P03|20240105143000-0600|||JSMITH^SMITH^JANE^^^^^^EPIC|20240105143000-0600');
  segs.push(
    `PID|1|E1234567^^^EPI^EPI|${mrn}^^^STMARY^MR~123-45-6789^^^USSSA^SS~E1234567^^^EPI^PI||O\\S\\BRIEN\\T\\SONS^MARGARET^ANNE^JR^^^L~OBRIEN^MAGGIE^^^^^N|KELLY^^^^^^M|19580317|F|||` +
      `1427 WINDING CREEK RD^APT 4B^SPRINGFIELD^IL^62704-3321^USA^H^^SANGAMON~PO BOX 77^^SPRINGFIELD^IL^62705^USA^M||^PRN^PH^^1^217^5550147~^NET^Internet^maggie@example.org|^WPN^PH^^1^217^5550199|ENG^English^HL70296|M^Married^HL70002|CAT^Catholic^HL70006|${account}^^^STMARY^AN|123-45-6789|||N^Not Hispanic^HL70189`,
  );
  segs.push(
    `PV1|1|O|CARD^210^B^ST MARY MEDICAL CENTER^^^MAIN^2|R^Routine^HL70007|||1234567893^WELBY^MARCUS^A^^DR^MD^^NPI^L^^^NPI|1972847365^KILDARE^JAMES^^^DR^MD^^NPI^L^^^NPI||CAR||||1|||1234567893^WELBY^MARCUS^A^^DR^MD^^NPI^L^^^NPI|OP|${visit}^^^STMARY^VN|BC^Blue Cross^HL70064|||||||||||||||||||ST MARY MEDICAL CENTER||||||20240105090000-0600|20240105120000-0600`,
  );
  const lines = [
    ['99214', 'Office visit, est, moderate \\T\\ complex', '185.00', 'I25.10^Atherosclerotic heart disease^I10~E78.5^Hyperlipidemia^I10', '25'],
    ['93000', 'Electrocardiogram, complete \\F\\ interp', '62.50', 'I25.10^Atherosclerotic heart disease^I10', ''],
    ['80061', 'Lipid panel\\.br\\fasting', '48.25', 'E78.5^Hyperlipidemia^I10~Z13.6^Screening cardiovascular^I10', ''],
    ['36415', 'Routine venipuncture', '12.00', 'Z13.6^Screening cardiovascular^I10', ''],
    ['J1885', 'Ketorolac tromethamine inj, 15 mg', '22.40', 'M54.50^Low back pain^I10', 'JW'],
  ];
  lines.forEach(([cpt, desc, amt, dx, mod], i) => {
    const f = pad(['FT1', String(i + 1), `TX${controlId}-${i + 1}`, 'B20240105-01', '20240105090000-0600^20240105093000-0600', '20240105143000-0600', 'CG', `CHG${cpt}^${desc}^STMARYCDM`, desc as string, '', '1', `${amt}&USD^UP`, `${amt}&USD`, 'CARD^Cardiology^L', 'BCBSIL^Blue Cross Blue Shield of Illinois^L', '', 'CARD^210^B^ST MARY MEDICAL CENTER', 'FS01', 'O', dx as string, '1234567893^WELBY^MARCUS^A^^DR^MD^^NPI^L^^^NPI', '1972847365^KILDARE^JAMES^^^DR^MD^^NPI^L^^^NPI', `${amt}&USD`, `ORD${i + 1}88201`, 'JSMITH^SMITH^JANE', `${cpt}^${desc}^C4`, mod as string], 29);
    if (cpt === 'J1885') f[29] = '00409-3795-01^Ketorolac 15mg/mL^N4';
    segs.push(f.join('|'));
  });
  segs.push('DG1|1|I10|I25.10^Atherosclerotic heart disease of native coronary artery without angina pectoris^I10||20240105|F|||||||||1|||||');
  segs.push('DG1|2|I10|E78.5^Hyperlipidemia, unspecified^I10||20240105|F|||||||||2|||||');
  segs.push('DG1|3|I10|Z13.6^Encounter for screening for cardiovascular disorders^I10||20240105|F|||||||||3|||||');
  segs.push('GT1|1|G88201^^^STMARY^GT|O\\S\\BRIEN^MARGARET^ANNE||1427 WINDING CREEK RD^APT 4B^SPRINGFIELD^IL^62704-3321^USA|^PRN^PH^^1^217^5550147|^WPN^PH^^1^217^5550199|19580317|F|P/F|SEL^Self^HL70063|123-45-6789');
  const in1 = pad(['IN1', '1', 'BCBSPPO^Blue Cross PPO^L', 'BCBSIL01^^^^NAIC', 'BLUE CROSS BLUE SHIELD OF ILLINOIS', 'PO BOX 805107^^CHICAGO^IL^60680-4112^USA', '', '^WPN^PH^^1^800^5551212', 'GRP554433', 'ACME MANUFACTURING CO', 'EMP9921', 'ACME MANUFACTURING CO', '20230101', '20241231', '', 'PPO', 'O\\S\\BRIEN^MARGARET^ANNE', 'SEL^Self^HL70063', '19580317', '1427 WINDING CREEK RD^APT 4B^SPRINGFIELD^IL^62704-3321^USA', 'Y', '', '1'], 36);
  in1[36] = 'XOF883920117';
  in1[49] = 'XOF883920117^^^BCBSIL^MB';
  segs.push(in1.join('|'));
  return segs.join('\r') + '\r';
}

export const EXPECTED: Omit<Extracted, 'controlId'> = {
  mrns: ['48392011', '123-45-6789', 'E1234567'],
  family: "O^BRIEN&SONS",
  given: 'MARGARET',
  ft1Codes: ['CHG99214', 'CHG93000', 'CHG80061', 'CHG36415', 'CHGJ1885'],
  ft1Amounts: ['185.00', '62.50', '48.25', '12.00', '22.40'],
  ft1Dx: [['I25.10', 'E78.5'], ['I25.10'], ['E78.5', 'Z13.6'], ['Z13.6'], ['M54.50']],
  dg1Codes: ['I25.10', 'E78.5', 'Z13.6'],
  memberId: 'XOF883920117',
};
