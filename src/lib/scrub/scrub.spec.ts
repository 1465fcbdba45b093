import { CodeSets } from '../codes/codesets';
import { parseCodeSetFile } from '../codes/kinds';
import type { Claim837, ServiceLine } from '../x12';
import { professionalClaim, professionalLine } from '../../../test/support/claims';
import { ageOn, scrubCharge, scrubClaim } from './engine';
import { RULES } from './rules';
import type { Finding, HistoryRow, Rule, RuleSetting } from './types';

// The real shipped code sets (ICD-10-CM FY2025-FY2027, HCPCS Jan 2026, PFS CY2025, MCE v43.1).
const codes = CodeSets.shipped();

const line = (over: Partial<ServiceLine> = {}): ServiceLine => professionalLine(1, { procedureCode: '99213', charge: '125.00', serviceDate: '2026-03-10', ...over });

/** A professional claim every rule passes (the shared test factory, dated in FY2026): the baseline each failing case changes one thing in. */
function claim(over: Partial<Claim837> = {}): Claim837 {
  return professionalClaim({
    diagnoses: ['E119', 'I10'],
    lines: [
      line({ controlNumber: '1', diagnosisPointers: [1, 2] }),
      line({ controlNumber: '2', procedureCode: '71046', modifiers: ['26'], charge: '60.00' }),
      line({ controlNumber: '3', procedureCode: '20610', modifiers: ['RT'], charge: '150.00', diagnosisPointers: [2] }),
      line({ controlNumber: '4', procedureCode: 'J1100', charge: '12.50', quantity: '4', drug: { ndc: '00641036721', quantity: '4', unit: 'ML' } }),
    ],
    ...over,
  });
}

const TODAY = '2026-04-01';
const scrub = (c: Claim837, settings?: (r: Rule) => RuleSetting, today = TODAY): Finding[] => scrubClaim({ claim: c, today }, codes, settings);
const of = (findings: Finding[], ruleId: string): Finding[] => findings.filter((f) => f.ruleId === ruleId);
const withLine = (n: number, over: Partial<ServiceLine>): Claim837 => {
  const c = claim();
  c.lines[n - 1] = { ...(c.lines[n - 1] as ServiceLine), ...over };
  return c;
};

describe('scrubber rules on real code sets', () => {
  it('passes the baseline claim with no finding', () => {
    expect(scrub(claim())).toEqual([]);
  });

  it('every rule has a stable id, a CARC, a description and a source', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z0-9-]+$/);
      // Only payer-history names no CARC of its own: each finding carries the payer's usual one.
      if (r.id !== 'payer-history') expect(codes.carc(r.carc)).toBeDefined();
      expect(r.description.length).toBeGreaterThan(20);
      expect(r.source.length).toBeGreaterThan(5);
    }
  });

  describe('diagnoses', () => {
    it('dx-principal-present: a claim with no diagnosis', () => {
      const f = of(scrub(claim({ diagnoses: [] })), 'dx-principal-present');
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ severity: 'error', loop: '2300 HI01-2', carc: '16' });
    });

    it('dx-billable: the category header E11 is refused with suggestions, E11.9 passes', () => {
      const f = of(scrub(claim({ diagnoses: ['E11', 'I10'] })), 'dx-billable');
      expect(f).toHaveLength(1);
      expect(f[0]?.message).toMatch(/E11 .*category header in FY2026.*E1100/);
      expect(of(scrub(claim({ diagnoses: ['E11.9', 'I10'] })), 'dx-billable')).toEqual([]);
    });

    it('dx-code-valid: a code that does not exist', () => {
      const f = of(scrub(claim({ diagnoses: ['E119', 'Z9999'] })), 'dx-code-valid');
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ value: 'Z9999', carc: '146' });
    });

    it('dx-code-valid: T528X1A was deleted for FY2027 (DOS 2026-10-05), valid before it', () => {
      const after = claim({ diagnoses: ['T528X1A'], lines: [line({ serviceDate: '2026-10-05' })] });
      const f = of(scrub(after, undefined, '2026-10-20'), 'dx-code-valid');
      expect(f).toHaveLength(1);
      expect(f[0]?.message).toMatch(/not valid in FY2027 .* valid in FY2025, FY2026/);
      const before = claim({ diagnoses: ['T528X1A'], lines: [line({ serviceDate: '2026-09-30' })] });
      expect(of(scrub(before, undefined, '2026-10-20'), 'dx-code-valid')).toEqual([]);
    });

    it('dx-code-valid: I4981 (Brugada syndrome) is new in FY2027, not valid on a FY2026 date', () => {
      expect(of(scrub(claim({ diagnoses: ['I4981'] })), 'dx-code-valid')).toHaveLength(1);
      expect(of(scrub(claim({ diagnoses: ['I4981'], lines: [line({ serviceDate: '2026-10-01' })] }), undefined, '2026-10-02'), 'dx-code-valid')).toEqual([]);
    });

    it('dx-billable: D691 became a header in FY2027', () => {
      expect(of(scrub(claim({ diagnoses: ['D691'] })), 'dx-billable')).toEqual([]);
      expect(of(scrub(claim({ diagnoses: ['D691'], lines: [line({ serviceDate: '2026-11-02' })] }), undefined, '2026-11-03'), 'dx-billable')).toHaveLength(1);
    });

    it('dx-year-loaded: a FY2028 date is checked against FY2027 and the missing year named', () => {
      const c = claim({ lines: [line({ serviceDate: '2027-10-04', diagnosisPointers: [1, 2] })] });
      const f = scrub(c, undefined, '2027-10-10');
      expect(of(f, 'dx-year-loaded')).toEqual([expect.objectContaining({ severity: 'warning', value: 'FY2028', message: expect.stringMatching(/FY2028 is not loaded.*FY2027/) as string })]);
      expect(of(f, 'dx-code-valid')).toEqual([]);
    });

    it('dx-pointers: no pointer, a pointer past the list, a repeated pointer', () => {
      expect(of(scrub(withLine(1, { diagnosisPointers: [] })), 'dx-pointers')).toHaveLength(1);
      expect(of(scrub(withLine(1, { diagnosisPointers: [1, 3] })), 'dx-pointers')[0]).toMatchObject({ line: 1, value: '3', loop: '2400 SV107' });
      expect(of(scrub(withLine(1, { diagnosisPointers: [1, 1] })), 'dx-pointers')).toHaveLength(1);
    });

    it('dx-age: a newborn code on an adult, and on a newborn', () => {
      // Z38.00: single liveborn infant, delivered vaginally (MCE perinatal edit: age 0).
      const adult = of(scrub(claim({ diagnoses: ['Z3800', 'I10'] })), 'dx-age');
      expect(adult).toHaveLength(1);
      expect(adult[0]).toMatchObject({ carc: '9', value: 'Z3800' });
      expect(adult[0]?.message).toMatch(/newborn\/perinatal .* the patient is 67/);
      const baby = claim({ diagnoses: ['Z3800'], subscriber: { ...claim().subscriber, birthDate: '2026-03-01' } });
      expect(of(scrub(baby), 'dx-age')).toEqual([]);
    });

    it('dx-age: a maternity code on a 70-year-old', () => {
      const f = of(scrub(claim({ diagnoses: ['O99419'], subscriber: { ...claim().subscriber, sex: 'F', birthDate: '1955-01-01' } })), 'dx-age');
      expect(f.map((x) => x.message)).toEqual([expect.stringMatching(/maternity/)]);
    });

    it('ageOn counts whole years to the day', () => {
      expect(ageOn('2000-02-29', '2026-02-28')).toBe(25);
      expect(ageOn('2000-02-29', '2026-03-01')).toBe(26);
      expect(ageOn('2026-03-01', '2026-03-10')).toBe(0);
    });

    it('dx-sex: a pregnancy code on a male patient is a warning', () => {
      const f = of(scrub(claim({ diagnoses: ['Z3401'], subscriber: { ...claim().subscriber, sex: 'M' } })), 'dx-sex');
      expect(f).toEqual([expect.objectContaining({ severity: 'warning', carc: '10' })]);
    });

    it('dx-manifestation-principal: a manifestation code first', () => {
      const manifestation = 'D630'; // anemia in neoplastic disease: code first the neoplasm
      expect(codes.mce(manifestation)?.has('manifestation_not_pdx')).toBe(true);
      expect(of(scrub(claim({ diagnoses: [manifestation, 'C509'] })), 'dx-manifestation-principal')).toHaveLength(1);
      expect(of(scrub(claim({ diagnoses: ['C509', manifestation] })), 'dx-manifestation-principal')).toEqual([]);
    });
  });

  describe('procedures and modifiers', () => {
    it('proc-code-valid: a terminated HCPCS code (A9155 ended 2025-03-31)', () => {
      const f = of(scrub(withLine(4, { procedureCode: 'A9155', drug: undefined })), 'proc-code-valid');
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({ line: 4, carc: '181', loop: '2400 SV101-2' });
      expect(f[0]?.message).toMatch(/terminated on 2025-03-31/);
      expect(of(scrub(withLine(4, { procedureCode: 'A9155', drug: undefined, serviceDate: '2025-03-01' }), undefined, '2025-04-01'), 'proc-code-valid')).toEqual([]);
    });

    it('proc-code-valid: a HCPCS code used before it takes effect, and an unknown one', () => {
      expect(of(scrub(withLine(4, { procedureCode: 'Q4262', drug: undefined, serviceDate: '2022-06-01' }), undefined, '2022-07-01'), 'proc-code-valid')[0]?.message).toMatch(/takes effect on 2023-01-01/);
      expect(of(scrub(withLine(4, { procedureCode: 'J0000', drug: undefined })), 'proc-code-valid')[0]?.message).toMatch(/not a HCPCS Level II code/);
    });

    it('proc-code-valid: an unknown CPT code is an error in a loaded year, a warning past it', () => {
      const inYear = of(scrub(withLine(1, { procedureCode: '99999', serviceDate: '2025-06-01' }), undefined, '2025-07-01'), 'proc-code-valid');
      expect(inYear).toEqual([expect.objectContaining({ severity: 'error' })]);
      const past = of(scrub(withLine(1, { procedureCode: '99999' })), 'proc-code-valid');
      expect(past).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/CY2026 is not loaded/) as string })]);
    });

    it('modifier-pctc: 26 on a code whose PC/TC indicator forbids it (99213: 0; 93000: 4), TC allowed only on 1', () => {
      const f = of(scrub(withLine(1, { modifiers: ['26'] })), 'modifier-pctc');
      expect(f).toEqual([expect.objectContaining({ line: 1, value: '26', loop: '2400 SV101-3', carc: '4' })]);
      expect(of(scrub(withLine(1, { procedureCode: '93000', modifiers: ['TC'] })), 'modifier-pctc')[0]?.message).toMatch(/PC\/TC indicator 4/);
      expect(of(scrub(withLine(2, { modifiers: ['TC'] })), 'modifier-pctc')).toEqual([]);
    });

    it('modifier-bilateral: 50 on 27447 (indicator 1) passes, on 99213 (0) fails', () => {
      expect(of(scrub(withLine(3, { procedureCode: '27447', modifiers: ['50'] })), 'modifier-bilateral')).toEqual([]);
      expect(of(scrub(withLine(1, { modifiers: ['50'] })), 'modifier-bilateral')).toHaveLength(1);
    });

    it('modifier-multiple-procedure: 51 on 99213 (indicator 0) fails, on 20610 (2) passes', () => {
      expect(of(scrub(withLine(1, { modifiers: ['51'] })), 'modifier-multiple-procedure')).toHaveLength(1);
      expect(of(scrub(withLine(3, { modifiers: ['51'] })), 'modifier-multiple-procedure')).toEqual([]);
    });

    it('modifier-surgeons and modifier-assistant by their indicators', () => {
      // 27447: co-surgeon 1 (documentation), team 0, assistant 2.
      expect(of(scrub(withLine(3, { procedureCode: '27447', modifiers: ['62'] })), 'modifier-surgeons')).toEqual([expect.objectContaining({ severity: 'warning' })]);
      expect(of(scrub(withLine(3, { procedureCode: '27447', modifiers: ['66'] })), 'modifier-surgeons')).toEqual([expect.objectContaining({ severity: 'error' })]);
      expect(of(scrub(withLine(3, { procedureCode: '27447', modifiers: ['80'] })), 'modifier-assistant')).toEqual([]);
      // 20610: assistant 1 (statutory restriction).
      expect(of(scrub(withLine(3, { modifiers: ['80'] })), 'modifier-assistant')).toEqual([expect.objectContaining({ severity: 'error', carc: '54' })]);
    });

    it('modifier-valid: an unknown modifier', () => {
      expect(of(scrub(withLine(1, { modifiers: ['ZZ'] })), 'modifier-valid')).toEqual([expect.objectContaining({ value: 'ZZ' })]);
    });

    it('proc-fee-schedule-status: a status I code is an error; the statuses are parameters', () => {
      // 27215 (pelvic fracture open treatment) has status I in CY2025: another code is billed.
      expect(codes.feeSchedule('27215', '', '2025-06-01').entry?.status).toBe('I');
      const c = withLine(1, { procedureCode: '27215' });
      expect(of(scrub(c), 'proc-fee-schedule-status')).toEqual([expect.objectContaining({ severity: 'error' })]);
      const off = (r: Rule): RuleSetting => ({ enabled: true, severity: r.severity, params: r.id === 'proc-fee-schedule-status' ? { errorStatuses: [], warningStatuses: [] } : r.params });
      expect(of(scrub(c, off), 'proc-fee-schedule-status')).toEqual([]);
    });
  });

  describe('lines', () => {
    it('units-valid: zero, negative-looking and fractional units', () => {
      expect(of(scrub(withLine(1, { quantity: '0' })), 'units-valid')).toHaveLength(1);
      expect(of(scrub(withLine(1, { quantity: '1.5' })), 'units-valid')[0]?.message).toMatch(/whole number/);
      expect(of(scrub(withLine(1, { quantity: '2.0' })), 'units-valid')).toEqual([]);
      expect(of(scrub(withLine(1, { quantity: '12.5', unit: 'MJ' })), 'units-valid')).toEqual([]);
    });

    it('charge-positive', () => {
      expect(of(scrub(withLine(2, { charge: '0.00' })), 'charge-positive')).toEqual([expect.objectContaining({ line: 2, loop: '2400 SV102' })]);
    });

    it('ndc-format: a 10-digit NDC, a missing quantity', () => {
      expect(of(scrub(withLine(4, { drug: { ndc: '0641036721', quantity: '4', unit: 'ML' } })), 'ndc-format')).toEqual([expect.objectContaining({ loop: '2410 LIN03' })]);
      expect(of(scrub(withLine(4, { drug: { ndc: '00641036721', quantity: '0', unit: 'ML' } })), 'ndc-format')).toEqual([expect.objectContaining({ loop: '2410 CTP04' })]);
    });

    it('ndc-required: a J code without an NDC is a warning', () => {
      expect(of(scrub(withLine(4, { drug: undefined })), 'ndc-required')).toEqual([expect.objectContaining({ severity: 'warning', value: 'J1100' })]);
    });

    it('duplicate-lines: on the claim and on another live claim', () => {
      const c = claim();
      c.lines.push({ ...(c.lines[0] as ServiceLine), controlNumber: '5' });
      expect(of(scrub(c), 'duplicate-lines')).toEqual([expect.objectContaining({ line: 5, carc: '18' })]);
      const f = scrubClaim({ claim: claim(), today: TODAY, otherLines: [{ claimId: '77', serviceDate: '2026-03-10', procedureCode: '71046', modifiers: ['26'] }] }, codes);
      expect(of(f, 'duplicate-lines')).toEqual([expect.objectContaining({ line: 2, message: expect.stringMatching(/claim 77/) as string })]);
      const other = scrubClaim({ claim: claim(), today: TODAY, otherLines: [{ claimId: '77', serviceDate: '2026-03-10', procedureCode: '71046', modifiers: [] }] }, codes);
      expect(of(other, 'duplicate-lines')).toEqual([]);
    });

    it('pos-valid and pos-suitable', () => {
      expect(of(scrub(claim({ placeOfService: '00' })), 'pos-valid')).toHaveLength(1);
      expect(of(scrub(claim({ placeOfService: undefined })), 'pos-valid')).toHaveLength(1);
      expect(of(scrub(claim({ placeOfService: '21' })), 'pos-suitable')).toEqual([expect.objectContaining({ line: 1, severity: 'warning', value: '21' })]);
      expect(of(scrub(withLine(1, { procedureCode: '99283' })), 'pos-suitable')).toHaveLength(1);
      expect(of(scrub(claim({ placeOfService: '23', lines: [line({ procedureCode: '99283' })] })), 'pos-suitable')).toEqual([]);
    });
  });

  describe('a charge on its own (findings shown before any claim)', () => {
    const charge = { serviceDate: '2026-03-10', procedureCode: '99213', modifiers: [] as string[], quantity: '1.000', amount: '125.00', ndc: null as string | null, diagnosisCodes: ['E11.9'] };
    it('passes a clean charge; names the code, modifier, unit and diagnosis at fault', () => {
      expect(scrubCharge(charge, codes, TODAY)).toEqual([]);
      const bad = scrubCharge({ ...charge, modifiers: ['TC'], quantity: '0.000', diagnosisCodes: ['E11'] }, codes, TODAY);
      expect(bad.map((f) => f.ruleId).sort()).toEqual(['dx-billable', 'modifier-pctc', 'units-valid']);
      expect(bad.every((f) => f.line === undefined)).toBe(true);
    });
    it('takes the NDC as the claim will carry it (10-digit forms converted)', () => {
      expect(scrubCharge({ ...charge, procedureCode: 'J1100', ndc: '0641-0367-21' }, codes, TODAY)).toEqual([]);
      expect(scrubCharge({ ...charge, procedureCode: 'J1100', ndc: '12345' }, codes, TODAY).map((f) => f.ruleId)).toEqual(['ndc-format']);
      expect(scrubCharge({ ...charge, procedureCode: 'J1100' }, codes, TODAY).map((f) => f.ruleId)).toEqual(['ndc-required']);
    });
  });

  describe('NCCI pairs and MUE limits, when a customer loads them', () => {
    // Small files in the CMS layouts, made for this test (NCCI and MUE data are not shipped).
    const loaded = CodeSets.shipped();
    loaded.add(parseCodeSetFile('ncci', ['Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier', '20610\t99213\t\t20100101\t*\t1', '71046\t20610\t\t20100101\t*\t0'].join('\n'), 't', 'ncci'), 'imported');
    loaded.add(parseCodeSetFile('mue', ['HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator', '99213,1,2 Date of Service Edit: Policy', 'J1100,3,1 Line Edit'].join('\n'), 't', 'mue'), 'imported');
    const run = (c: Claim837): Finding[] => scrubClaim({ claim: c, today: TODAY }, loaded);

    it('are silent when not loaded', () => {
      expect(of(scrub(claim()), 'ncci-pair')).toEqual([]);
      expect(of(scrub(withLine(4, { quantity: '40' })), 'mue-units')).toEqual([]);
    });

    it('ncci-pair: indicator 1 bypassed by a distinct-service modifier, indicator 0 never', () => {
      // Line 1 is 99213; line 3 is 20610-RT: RT is an anatomic NCCI modifier, so the 20610/99213 pair passes.
      expect(of(run(claim()), 'ncci-pair')).toEqual([expect.objectContaining({ line: 3, carc: '97', message: expect.stringMatching(/indicator 0/) as string })]);
      const noBypass = claim();
      noBypass.lines[2] = { ...(noBypass.lines[2] as ServiceLine), modifiers: [] };
      noBypass.lines[1] = { ...(noBypass.lines[1] as ServiceLine), procedureCode: '99214', modifiers: [] };
      expect(of(run(noBypass), 'ncci-pair')).toEqual([expect.objectContaining({ line: 1, value: '99213' })]);
    });

    it('mue-units: per line (indicator 1) and per day (2, 3)', () => {
      expect(of(run(withLine(4, { quantity: '4' })), 'mue-units')).toEqual([expect.objectContaining({ line: 4, carc: '151' })]);
      const twice = withLine(4, { quantity: '3' });
      twice.lines.push({ ...(twice.lines[0] as ServiceLine), controlNumber: '5', modifiers: ['25'] });
      expect(of(run(twice), 'mue-units')).toEqual([expect.objectContaining({ line: 5, message: expect.stringMatching(/2 units of 99213 on 2026-03-10; the MUE is 1 per day/) as string })]);
    });
  });

  describe('claim data', () => {
    it('npi-valid: a valid and an invalid NPI', () => {
      const base = claim();
      expect(of(scrub(claim({ billingProvider: { ...base.billingProvider, npi: '1234567890' } })), 'npi-valid')).toEqual([expect.objectContaining({ loop: '2010AA NM1-09', value: '1234567890' })]);
      expect(of(scrub(claim({ rendering: { kind: 'person', last: 'SMITH', npi: '1234567891' } })), 'npi-valid')).toEqual([expect.objectContaining({ loop: '2310B NM1-09' })]);
      expect(of(scrub(claim({ referring: { kind: 'person', last: 'JONES', npi: '1234567893' } })), 'npi-valid')).toEqual([]);
    });

    it('taxonomy-present: missing and malformed billing taxonomy', () => {
      const base = claim();
      expect(of(scrub(claim({ billingProvider: { ...base.billingProvider, taxonomy: undefined } })), 'taxonomy-present')).toHaveLength(1);
      expect(of(scrub(claim({ billingProvider: { ...base.billingProvider, taxonomy: '207Q' } })), 'taxonomy-present')).toHaveLength(1);
    });

    it('required-fields: member id, payer id, birth date, ZIP+4, TIN', () => {
      const base = claim();
      const f = of(
        scrub(claim({
          subscriber: { ...base.subscriber, memberId: '', birthDate: undefined },
          payer: { name: 'X', id: '' },
          billingProvider: { ...base.billingProvider, taxId: '12345', address: { ...base.billingProvider.address, zip: '62701' } },
        })),
        'required-fields',
      );
      expect(f.map((x) => x.loop).sort()).toEqual(['2010AA N4-03', '2010AA REF-02', '2010BA DMG-02', '2010BA NM1-09', '2010BB NM1-09']);
      expect(f.find((x) => x.loop === '2010BA NM1-09')?.carc).toBe('31');
    });

    it('timely-filing: past the limit, near it, and a payer window as a parameter', () => {
      expect(of(scrub(claim(), undefined, '2027-03-20'), 'timely-filing')).toEqual([expect.objectContaining({ severity: 'error', carc: '29' })]);
      expect(of(scrub(claim(), undefined, '2027-02-20'), 'timely-filing')).toEqual([expect.objectContaining({ severity: 'warning' })]);
      const ninety = (r: Rule): RuleSetting => ({ enabled: true, severity: r.severity, params: r.id === 'timely-filing' ? { days: 90, warnDays: 10 } : r.params });
      expect(of(scrub(claim(), ninety, '2026-06-15'), 'timely-filing')).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/90-day/) as string })]);
    });

    it('frequency 7 without REF*F8, and frequency rules by claim type', () => {
      expect(of(scrub(claim({ frequency: '7' })), 'frequency-payer-claim-number')).toEqual([expect.objectContaining({ loop: '2300 REF*F8 REF-02' })]);
      expect(of(scrub(claim({ frequency: '7', payerClaimControlNumber: '2026123456' })), 'frequency-payer-claim-number')).toEqual([]);
      expect(of(scrub(claim({ frequency: '5' as '1' })), 'frequency-valid')).toHaveLength(1);
    });

    it('institutional: revenue codes from the UB-04 set, NUBC frequency codes', () => {
      const inst = (revenueCode: string, frequency = '1'): Claim837 =>
        claim({
          type: 'institutional', frequency: frequency as '1', placeOfService: undefined,
          institutional: { typeOfBill: '0131', statementFrom: '2026-03-10', statementTo: '2026-03-10', dischargeStatus: '01', procedures: [] },
          lines: [line({ revenueCode, procedureCode: '99213', diagnosisPointers: [] })],
        });
      expect(of(scrub(inst('0510')), 'revenue-code-valid')).toEqual([]);
      expect(of(scrub(inst('0108')), 'revenue-code-valid')).toEqual([expect.objectContaining({ line: 1, loop: '2400 SV201', value: '0108' })]);
      expect(of(scrub(inst('0510', '5')), 'frequency-valid')).toEqual([]);
      expect(of(scrub(inst('0510', 'Z')), 'frequency-valid')).toHaveLength(1);
      // Professional-only rules stay silent on an institutional claim.
      expect(of(scrub(inst('0510')), 'dx-pointers')).toEqual([]);
    });

    it('institutional: ICD-10-PCS codes by fiscal year (FY2027 partial) and UB-04 CL1 codes', () => {
      const inpatient = (procedures: { code: string; date: string }[], more: Record<string, string> = {}): Claim837 =>
        claim({
          type: 'institutional', placeOfService: undefined,
          institutional: { typeOfBill: '0111', statementFrom: '2026-03-10', statementTo: '2026-03-12', dischargeStatus: '01', admissionType: '1', admissionSource: '1', procedures, ...more },
          lines: [line({ revenueCode: '0510', diagnosisPointers: [] })],
        });
      expect(of(scrub(inpatient([{ code: '4A023N7', date: '2026-03-10' }])), 'pcs-code-valid')).toEqual([]);
      // A table header, a code that does not exist, and an FY2027 addition used on an FY2026 date.
      expect(of(scrub(inpatient([{ code: '001', date: '2026-03-10' }])), 'pcs-code-valid')).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/table/) as string })]);
      expect(of(scrub(inpatient([{ code: '0ZZZZZZ', date: '2026-03-10' }])), 'pcs-code-valid')).toEqual([expect.objectContaining({ severity: 'error', carc: '181' })]);
      expect(of(scrub(inpatient([{ code: '028F3Z0', date: '2026-03-10' }])), 'pcs-code-valid')).toHaveLength(1);
      expect(of(scrub(inpatient([{ code: '028F3Z0', date: '2026-10-05' }]), undefined, '2026-10-20'), 'pcs-code-valid')).toEqual([]);
      // FY2027 is partial: an unknown code there is a warning.
      expect(of(scrub(inpatient([{ code: '0ZZZZZZ', date: '2026-10-05' }]), undefined, '2026-10-20'), 'pcs-code-valid')).toEqual([expect.objectContaining({ severity: 'warning' })]);
      expect(of(scrub(inpatient([])), 'institutional-codes-valid')).toEqual([]);
      expect(of(scrub(inpatient([], { dischargeStatus: '99', admissionType: '7', admissionSource: '3' })), 'institutional-codes-valid').map((f) => f.loop)).toEqual(['2300 CL101', '2300 CL102', '2300 CL103']);
    });

    it('a payer setting disables a rule or changes its severity', () => {
      const c = claim({ diagnoses: ['E11', 'I10'] });
      const disabled = (r: Rule): RuleSetting => ({ enabled: r.id !== 'dx-billable', severity: r.severity, params: r.params });
      expect(of(scrub(c, disabled), 'dx-billable')).toEqual([]);
      const lowered = (r: Rule): RuleSetting => ({ enabled: true, severity: r.id === 'dx-billable' ? 'warning' : r.severity, params: r.params });
      expect(of(scrub(c, lowered), 'dx-billable')).toEqual([expect.objectContaining({ severity: 'warning' })]);
    });
  });

  describe('payer-history: learnt from our own 835s', () => {
    const row = (procedureCode: string, carc: string, lines: number, over: Partial<HistoryRow> = {}): HistoryRow => ({ procedureCode, modifiers: '', dxCategory: 'E11', answeredOn: '2026-02-01', carc, lines, ...over });
    const withHistory = (history: HistoryRow[], settings?: (r: Rule) => RuleSetting): Finding[] => of(scrubClaim({ claim: claim(), today: TODAY, history }, codes, settings), 'payer-history');
    const params = (p: Record<string, unknown>) => (r: Rule): RuleSetting => ({ enabled: true, severity: r.severity, params: r.id === 'payer-history' ? { ...r.params, ...p } : r.params });

    it('warns on a line the payer denied at least 5 times and half the time, naming its usual CARC', () => {
      const f = withHistory([row('99213', '197', 4), row('99213', '50', 2, { answeredOn: '2026-03-01' }), row('99213', '', 4)]);
      expect(f).toEqual([expect.objectContaining({ severity: 'warning', line: 1, value: '99213', carc: '197', loop: '2400 SV101-2' })]);
      expect(f[0]?.message).toMatch(/denied 99213 for E11 diagnoses on 6 of 10 lines \(60%\) in the last 180 days, most often with CARC 197 \(/);
    });

    it('stays quiet under the thresholds, outside the window, or for another diagnosis category or modifier', () => {
      expect(withHistory([row('99213', '197', 6), row('99213', '', 7)])).toEqual([]); // 46%
      expect(withHistory([row('99213', '197', 4)])).toEqual([]); // 4 denials
      expect(withHistory([row('99213', '197', 9, { answeredOn: '2025-10-02' })])).toEqual([]); // 181 days before 2026-04-01
      expect(withHistory([row('99213', '197', 9, { answeredOn: '2025-10-03' })])).toHaveLength(1); // 180 days
      expect(withHistory([row('99213', '197', 9, { dxCategory: 'I10' })])).toEqual([]);
      expect(withHistory([row('71046', '4', 9, { dxCategory: 'E11' })])).toEqual([]); // billed with 26
      expect(withHistory([row('71046', '4', 9, { modifiers: '26' })])).toEqual([expect.objectContaining({ line: 2, carc: '4' })]);
    });

    it('follows the payer\'s settings: thresholds, window, and whether modifiers and diagnoses must match', () => {
      const h = [row('99213', '197', 6), row('71046', '4', 6, { dxCategory: 'I10' })];
      expect(withHistory(h, params({ minDenials: 7 }))).toEqual([]);
      expect(withHistory([...h, row('99213', '', 5)], params({ minPercent: 60 }))).toEqual([]);
      expect(withHistory([row('99213', '197', 9, { answeredOn: '2026-01-01' })], params({ days: 30 }))).toEqual([]);
      expect(withHistory(h, params({ matchModifiers: false, matchDiagnosisCategory: false })).map((f) => f.line)).toEqual([1, 2]);
      expect(withHistory(h, (r) => ({ ...params({})(r), enabled: r.id !== 'payer-history' }))).toEqual([]);
    });
  });
});
