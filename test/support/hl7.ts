/** Builders for test messages: realistic HL7 text with the parts a test cares about made explicit. */
export interface DftOptions {
  controlId: string;
  mrn?: string;
  visit?: string | null;
  charges?: { txn?: string; date?: string; type?: string; code?: string; cpt?: string; qty?: string; amount?: string; unit?: string; dx?: string[]; modifiers?: string[] }[];
  sendingApp?: string;
}

const MSH = (app: string, type: string, ctl: string, version = '2.5.1'): string => `MSH|^~\\&|${app}|HOSP|BILLING|BILLCO|20240105120000||${type}|${ctl}|P|${version}`;
const PID = (mrn: string): string => `PID|1||${mrn}^^^HOSP^MR||DOE^JANE^Q||19800214|F|||12 MAIN ST^^SPRINGFIELD^IL^62701||(217)555-0100|||||ACCT${mrn}`;

export function adt(event: string, ctl: string, mrn: string, visit: string, extra: string[] = []): string {
  return [
    MSH('ADT1', `ADT^${event}^ADT_A01`, ctl),
    `EVN|${event}|20240105120000`,
    PID(mrn),
    `PV1|1|O|CLINIC^101^A^HOSP||||1234567893^SMITH^JOHN^^^^^^NPI^^^^NPI|||MED||||1|||||${visit}^^^HOSP|SP||||||||||||||||||||||||20240105090000`,
    ...extra,
  ].join('\r') + '\r';
}

export function dft(o: DftOptions): string {
  const mrn = o.mrn ?? 'MRN1';
  const segs = [MSH(o.sendingApp ?? 'CHG1', 'DFT^P03^DFT_P03', o.controlId), 'EVN|P03|20240105120000', PID(mrn)];
  if (o.visit !== null) segs.push(`PV1|1|O|CLINIC^101^A^HOSP||||1234567893^SMITH^JOHN^^^^^^NPI|||MED||||1|||||${o.visit ?? 'V100'}^^^HOSP|SP`);
  (o.charges ?? [{}]).forEach((c, i) => {
    const f: string[] = new Array<string>(30).fill('');
    f[0] = 'FT1';
    f[1] = String(i + 1);
    f[2] = c.txn ?? `T${o.controlId}-${i + 1}`;
    f[4] = c.date ?? '20240105';
    f[6] = c.type ?? 'CG';
    f[7] = c.code ?? `CODE${i + 1}^Office visit^CHGMSTR`;
    f[10] = c.qty ?? '1';
    f[11] = c.amount ?? '125.00';
    f[12] = c.unit ?? '';
    f[19] = (c.dx ?? ['E11.9^^I10']).join('~');
    f[20] = '1234567893^SMITH^JOHN^^^^^^NPI';
    f[25] = c.cpt === undefined ? '99213^^C4' : c.cpt;
    f[26] = (c.modifiers ?? []).join('~');
    segs.push(f.join('|'));
  });
  segs.push('DG1|1|I10|E11.9^Type 2 diabetes mellitus without complications^I10||20240105|F|||||||||1');
  const in1: string[] = new Array<string>(37).fill('');
  in1[0] = 'IN1';
  in1[1] = '1';
  in1[2] = 'PLAN1';
  in1[3] = 'PAYER01^^^^NAIC';
  in1[4] = 'ACME HEALTH';
  in1[5] = 'PO BOX 1^^CHICAGO^IL^60601';
  in1[8] = 'GRP123';
  in1[9] = 'ACME GROUP';
  in1[12] = '20240101';
  in1[13] = '20241231';
  in1[15] = 'HMO';
  in1[16] = 'DOE^JANE^Q';
  in1[17] = '01';
  in1[18] = '19800214';
  in1[19] = '12 MAIN ST^^SPRINGFIELD^IL^62701';
  in1[36] = 'MEM123456';
  segs.push(in1.join('|'));
  return segs.join('\r') + '\r';
}

/** A DFT^P03 for one visit with the example practice's chargemaster codes (claims suites). */
export interface Visit {
  ctl: string;
  mrn: string;
  visit: string;
  facility?: string;
  patientClass?: string;
  in1?: { payer?: string; member?: string; relationship?: string; insured?: string; insuredDob?: string };
  /** Further insurances (IN1|2, IN1|3): the patient is the insured. */
  moreCoverage?: { payer: string; member: string }[];
  charges: { code: string; cpt?: string; amount?: string; dx?: string[]; modifiers?: string[]; ndc?: string; date?: string }[];
  dg1?: string[];
  pv1Extra?: { admit?: string; discharge?: string; disposition?: string; admitType?: string };
  pr1?: string[];
}

/** A DFT^P03 with the parts claim building reads. */
export function visitDft(v: Visit): string {
  const pv1 = new Array<string>(46).fill('');
  pv1[0] = 'PV1';
  pv1[1] = '1';
  pv1[2] = v.patientClass ?? 'O';
  pv1[3] = `CLINIC^101^A^${v.facility ?? 'CLINIC'}`;
  pv1[4] = v.pv1Extra?.admitType ?? '';
  pv1[7] = '1987654328^WELBY^MARCUS^^^^^^NPI';
  pv1[8] = '1456789019^KILDARE^JAMES^^^^^^NPI';
  pv1[19] = `${v.visit}^^^HOSP`;
  pv1[36] = v.pv1Extra?.disposition ?? '';
  pv1[44] = v.pv1Extra?.admit ?? '';
  pv1[45] = v.pv1Extra?.discharge ?? '';
  const segs = [
    `MSH|^~\\&|CHG1|HOSP|BILLING|BILLCO|20240105120000||DFT^P03^DFT_P03|${v.ctl}|P|2.5.1`,
    'EVN|P03|20240105120000',
    `PID|1||${v.mrn}^^^HOSP^MR||ZÖLLNER^JANE^Q||19800214|F|||12 MAIN ST^^SPRINGFIELD^IL^62701||(217)555-0100`,
    pv1.join('|'),
  ];
  v.charges.forEach((c, i) => {
    const f = new Array<string>(30).fill('');
    f[0] = 'FT1';
    f[1] = String(i + 1);
    f[2] = `${v.ctl}-${i + 1}`;
    f[4] = c.date ?? '20240105';
    f[6] = 'CG';
    f[7] = c.code;
    f[10] = '1';
    f[11] = c.amount ?? '';
    f[19] = (c.dx ?? []).map((d) => `${d}^^I10`).join('~');
    f[20] = '1987654328^WELBY^MARCUS^^^^^^NPI';
    f[25] = c.cpt === undefined ? '' : `${c.cpt}^^C4`;
    f[26] = (c.modifiers ?? []).join('~');
    f[29] = c.ndc ?? '';
    segs.push(f.join('|'));
  });
  (v.dg1 ?? ['E11.9']).forEach((d, i) => segs.push(`DG1|${i + 1}|I10|${d}^^I10||20240105|F|||||||||${i + 1}`));
  (v.pr1 ?? []).forEach((p, i) => segs.push(`PR1|${i + 1}|I10P|${p}^^I10P||20240104080000||||||1765432103^CHASE^ROBERT^^^^^^NPI`));
  const in1 = new Array<string>(37).fill('');
  in1[0] = 'IN1';
  in1[1] = '1';
  in1[2] = 'PLAN1';
  in1[3] = `${v.in1?.payer ?? 'BCBSIL01'}^^^^NAIC`;
  in1[8] = 'GRP123';
  in1[16] = v.in1?.insured ?? 'ZÖLLNER^JANE^Q';
  in1[17] = v.in1?.relationship ?? 'SEL';
  in1[18] = v.in1?.insuredDob ?? '19800214';
  in1[19] = '12 MAIN ST^^SPRINGFIELD^IL^62701';
  in1[36] = v.in1?.member ?? 'MEM123456';
  segs.push(in1.join('|'));
  (v.moreCoverage ?? []).forEach((c, i) => {
    const more = [...in1];
    more[1] = String(i + 2);
    more[2] = 'PLAN2';
    more[3] = `${c.payer}^^^^NAIC`;
    more[8] = '';
    more[16] = 'ZÖLLNER^JANE^Q';
    more[17] = 'SEL';
    more[36] = c.member;
    segs.push(more.join('|'));
  });
  return segs.join('\r') + '\r';
}
