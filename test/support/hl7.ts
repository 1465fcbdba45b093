/** Builders for test messages: realistic HL7 text with the parts a test cares about made explicit. */
export interface DftOptions {
  controlId: string;
  mrn?: string;
  visit?: string | null;
  charges?: { txn?: string; date?: string; type?: string; code?: string; cpt?: string; qty?: string; amount?: string; dx?: string[]; modifiers?: string[] }[];
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
