import { CodeSets, fiscalYearOf } from './codesets';
import { labelFromFileName, parseCodeSetFile } from './kinds';
import { CodeSetFileError } from './tables';

// Small files in the publishers' own layouts (made for these tests; not CMS's data).
const NCCI_TXT = [
  'CPT codes and descriptions only are copyright 2025 American Medical Association. All Rights Reserved.',
  'Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale',
  '29881\t29877\t\t20060101\t*\t1\tMisuse of column two code with column one code',
  '11042\t97597\t\t20130101\t*\t0\tStandards of medical / surgical practice',
  '20610\t99213\t\t20100101\t20151231\t1\tDeleted pair',
  '',
].join('\r\n');

const MUE_CSV = [
  '"Practitioner Services MUE Table - Effective 01/01/2026"',
  '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"',
  '"J1100","100","3 Date of Service Edit: Clinical","Prescribing Information"',
  '"71046","2","2 Date of Service Edit: Policy","Nature of Service/Procedure"',
  '"20610","2","1 Line Edit","Anatomic Consideration"',
].join('\n');

const PPRRVU_CSV = [
  'PPRRVU26_JAN,,,,',
  'HCPCS,MOD,DESCRIPTION,STATUS CODE,NOT USED FOR MEDICARE PAYMENT,WORK RVU,PCTC IND,GLOB DAYS,MULT PROC,BILAT SURG,ASST SURG,CO SURG,TEAM SURG',
  '99213,,"Office o/p est low, 20 min",A,,1.30,0,XXX,0,0,0,0,0',
  '71046,26,"X-ray exam chest 2 views",A,,0.22,1,XXX,0,0,0,0,0',
  '\x1a',
].join('\n');

// Two lines in CDC's fixed-width order-file layout.
const orderLine = (n: number, code: string, billable: string, short: string, long: string): string => `${String(n).padStart(5, '0')} ${code.padEnd(7)} ${billable} ${short.padEnd(60)} ${long}`;
const CDC_ORDER = [orderLine(1, 'A00', '0', 'Cholera', 'Cholera'), orderLine(2, 'A000', '1', 'Cholera due to Vibrio cholerae 01, biovar cholerae', 'Cholera due to Vibrio cholerae 01, biovar cholerae')].join('\n');

describe('code sets', () => {
  const shipped = CodeSets.shipped();

  it('picks the ICD-10-CM fiscal year by date of service (1 October starts the next year)', () => {
    expect(fiscalYearOf('2025-09-30')).toBe(2025);
    expect(fiscalYearOf('2025-10-01')).toBe(2026);
    expect(fiscalYearOf('2026-12-31')).toBe(2027);
    expect(shipped.icdYears).toEqual([2025, 2026, 2027]);
  });

  it('tells billable codes, headers and codes of other years apart', () => {
    expect(shipped.icd10cm('E119', '2026-03-01').status).toBe('billable');
    expect(shipped.icd10cm('E11.9', '2026-03-01').status).toBe('billable');
    expect(shipped.icd10cm('E11', '2026-03-01').status).toBe('header');
    expect(shipped.icd10cm('I4981', '2026-03-01').status).toBe('not_in_year');
    expect(shipped.icd10cm('I4981', '2026-10-01').status).toBe('billable');
    expect(shipped.icd10cm('XYZ1', '2026-03-01').status).toBe('unknown');
    const future = shipped.icd10cm('E119', '2028-01-15');
    expect([future.fiscalYear, future.checkedYear, future.status]).toEqual([2028, 2027, 'billable']);
  });

  it('reads the CDC order file layout and a new year on top of the shipped ones', () => {
    const set = parseCodeSetFile('icd10cm', CDC_ORDER, 'FY2028', 'order.txt');
    expect(set.rows).toEqual([
      ['A00', '0', 'Cholera'],
      ['A000', '1', 'Cholera due to Vibrio cholerae 01, biovar cholerae'],
    ]);
    const cs = CodeSets.shipped();
    cs.add(set, 'imported');
    expect(cs.icdYears).toEqual([2025, 2026, 2027, 2028]);
    expect(cs.icd10cm('A000', '2027-11-01').status).toBe('billable');
    // Only the two codes of the (tiny) FY2028 file exist in FY2028.
    expect(cs.icd10cm('E119', '2027-11-01').status).toBe('not_in_year');
  });

  it('ICD-10-PCS: the shipped FY2027 is partial until a complete year is imported', () => {
    const cs = CodeSets.shipped();
    expect(cs.pcs('4A023N7', '2026-03-10')).toMatchObject({ status: 'billable', checkedYear: 2026, partial: false });
    expect(cs.pcs('0ZZZZZZ', '2026-11-10')).toMatchObject({ status: 'unknown', checkedYear: 2027, partial: true });
    expect(cs.pcs('001', '2026-03-10').status).toBe('header');
    const fy2027 = parseCodeSetFile('icd10pcs', [orderLine(1, '001', '0', 'Central Nervous System, Bypass', ''), orderLine(2, '0016070', '1', 'Bypass Cereb Vent to Nasophar', '')].join('\n'), 'FY2027', 'icd10pcs_order_2027.txt');
    cs.add(fy2027, 'imported');
    expect(cs.pcs('0ZZZZZZ', '2026-11-10')).toMatchObject({ status: 'unknown', partial: false });
    expect(cs.pcs('0016070', '2026-11-10').status).toBe('billable');
    expect(cs.pcs('4A023N7', '2026-11-10').status).toBe('not_in_year');
    expect(() => parseCodeSetFile('icd10pcs', orderLine(1, '00I6070', '1', 'x', ''), 'FY2027', 'p.txt')).toThrow(/p.txt line 1: "00I6070" is not an ICD-10-PCS code/);
  });

  it('reads a PPRRVU CSV with its preamble and end-of-file character', () => {
    const set = parseCodeSetFile('pfs', PPRRVU_CSV, 'CY2026', 'PPRRVU26_JAN.csv');
    expect(set.rows).toEqual([
      ['99213', '', 'A', '0', 'XXX', '0', '0', '0', '0', '0'],
      ['71046', '26', 'A', '1', 'XXX', '0', '0', '0', '0', '0'],
    ]);
    expect(labelFromFileName('pfs', 'PPRRVU26_JAN.csv')).toBe('CY2026');
    expect(labelFromFileName('icd10cm', 'icd10cm-order-2028.txt')).toBe('FY2028');
  });

  it('reads NCCI pairs with their dates and modifier indicators', () => {
    const cs = CodeSets.shipped();
    expect(cs.hasNcci).toBe(false);
    cs.add(parseCodeSetFile('ncci', NCCI_TXT, '2026Q1', 'ccipra.txt'), 'imported');
    expect(cs.ncci('29881', '29877', '2026-01-05')).toEqual({ effective: '2006-01-01', deleted: '', modifierIndicator: '1' });
    expect(cs.ncci('20610', '99213', '2026-01-05')).toBeUndefined();
    expect(cs.ncci('20610', '99213', '2014-01-05')?.modifierIndicator).toBe('1');
  });

  it('reads MUE values from the CMS CSV', () => {
    const cs = CodeSets.shipped();
    cs.add(parseCodeSetFile('mue', MUE_CSV, '2026Q1', 'mue.csv'), 'imported');
    expect(cs.mue('J1100')).toEqual({ limit: 100, indicator: '3' });
    expect(cs.mue('20610')).toEqual({ limit: 2, indicator: '1' });
  });

  it('refuses a bad file naming the line', () => {
    expect(() => parseCodeSetFile('ncci', NCCI_TXT.replace('\t1\tMisuse', '\t7\tMisuse'), 'x', 'ccipra.txt')).toThrow(/ccipra.txt line 3: modifier indicator "7"/);
    expect(() => parseCodeSetFile('mue', MUE_CSV.replace('"100"', '"lots"'), 'x', 'mue.csv')).toThrow(/mue.csv line 3: MUE value "lots"/);
    expect(() => parseCodeSetFile('icd10cm', CDC_ORDER, 'FY28', 'order.txt')).toThrow(CodeSetFileError);
    expect(() => parseCodeSetFile('hcpcs', 'nothing,here\n1,2', '2026-04', 'h.csv')).toThrow(/no header row/);
  });
});
