import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchOptions, institutionalClaim, institutionalShapes, professionalClaim, professionalLine, professionalShapes } from '../../../test/support/claims';
import { el, readX12, write837File, x12Decimal, X12ValueError, toX12Text, type Claim837, type X12Segment } from './index';

const golden = (name: string): string => readFileSync(join(__dirname, '..', '..', '..', 'fixtures', 'x12', 'golden', name), 'latin1');

/** What a reader of the file finds about each claim. */
interface ReadClaim {
  pcn: string;
  total: string;
  frequency: string;
  diagnoses: string[];
  lines: { code: string; charge: string; lineId: string }[];
  f8?: string;
}

function claimsOf(segments: X12Segment[]): ReadClaim[] {
  const out: ReadClaim[] = [];
  let current: ReadClaim | undefined;
  // REF*F8 of the claim (2300) comes before any other payer's loops (2320/2330B may carry their own).
  let inOtherPayer = false;
  for (const s of segments) {
    if (s.id === 'CLM') {
      current = { pcn: el(s, 1), total: el(s, 2), frequency: el(s, 5, 3), diagnoses: [], lines: [] };
      out.push(current);
      inOtherPayer = false;
    } else if (current && s.id === 'SBR') {
      inOtherPayer = true;
    } else if (current && s.id === 'HI') {
      for (const e of s.elements) if (['ABK', 'ABF'].includes(e[0] ?? '')) current.diagnoses.push(e[1] ?? '');
    } else if (current && !inOtherPayer && s.id === 'REF' && el(s, 1) === 'F8') {
      current.f8 = el(s, 2);
    } else if (current && (s.id === 'SV1' || s.id === 'SV2')) {
      current.lines.push({ code: s.id === 'SV1' ? el(s, 1, 2) : el(s, 1) + (el(s, 2, 2) ? '/' + el(s, 2, 2) : ''), charge: s.id === 'SV1' ? el(s, 2) : el(s, 3), lineId: '' });
    } else if (current && s.id === 'REF' && el(s, 1) === '6R') {
      const line = current.lines[current.lines.length - 1];
      if (line) line.lineId = el(s, 2);
    }
  }
  return out;
}

function expected(c: Claim837): ReadClaim {
  return {
    pcn: c.patientControlNumber, total: x12Decimal(c.totalCharge), frequency: c.frequency, diagnoses: c.diagnoses.map((d) => d.replace('.', '')),
    lines: c.lines.map((l) => ({
      code: c.type === 'professional' ? (l.procedureCode ?? '') : (l.revenueCode ?? '') + (l.procedureCode === undefined ? '' : '/' + l.procedureCode),
      charge: x12Decimal(l.charge), lineId: l.controlNumber,
    })),
    ...(c.frequency === '1' ? {} : { f8: c.payerClaimControlNumber }),
  };
}

describe('837 writer', () => {
  it.each([
    ['professional.837', 'professional' as const, professionalShapes],
    ['institutional.837', 'institutional' as const, institutionalShapes],
  ])('writes %s byte for byte as reviewed (fixed clock and control numbers)', (file, type, shapes) => {
    expect(write837File(batchOptions(type), shapes()).text).toBe(golden(file));
  });

  it.each([
    ['professional' as const, professionalShapes],
    ['institutional' as const, institutionalShapes],
  ])('%s: reading the file back with x12-parser gives the same claims, and the envelope counts hold', async (type, shapes) => {
    const claims = shapes();
    const { text, summary } = write837File(batchOptions(type), claims);
    const segments = await readX12(text);
    expect(claimsOf(segments)).toEqual(claims.map(expected));
    expect(summary).toMatchObject({ claims: claims.length, transactions: 1 });
    const st = segments.findIndex((s) => s.id === 'ST');
    const se = segments.findIndex((s) => s.id === 'SE');
    expect(Number(el(segments[se] as X12Segment, 1))).toBe(se - st + 1);
    expect(el(segments.find((s) => s.id === 'GE') as X12Segment, 1)).toBe('1');
    expect(el(segments.find((s) => s.id === 'IEA') as X12Segment, 2)).toBe('000000101');
    expect(text.split('~')[0]).toHaveLength(105); // ISA is 106 characters with its terminator
    // HL parents point at existing levels of the right kind.
    const hl = segments.filter((s) => s.id === 'HL');
    const levels = new Map(hl.map((s) => [el(s, 1), el(s, 3)]));
    for (const s of hl) {
      const parent = el(s, 2);
      if (el(s, 3) === '20') expect(parent).toBe('');
      if (el(s, 3) === '22') expect(levels.get(parent)).toBe('20');
      if (el(s, 3) === '23') expect(levels.get(parent)).toBe('22');
    }
  });

  it('starts a new transaction set after claimsPerTransaction claims, each with its own ST02 and BHT03', async () => {
    const claims = Array.from({ length: 5 }, (_, i) => professionalClaim({ patientControlNumber: `C${i}` }));
    const { text, summary } = write837File(batchOptions('professional', { claimsPerTransaction: 2 }), claims);
    expect(summary).toMatchObject({ claims: 5, transactions: 3 });
    const segments = await readX12(text);
    expect(segments.filter((s) => s.id === 'ST').map((s) => el(s, 2))).toEqual(['0301', '0302', '0303']);
    expect(segments.filter((s) => s.id === 'BHT').map((s) => el(s, 3))).toEqual(['B201T301', 'B201T302', 'B201T303']);
    expect(el(segments.find((s) => s.id === 'GE') as X12Segment, 1)).toBe('3');
    expect(claimsOf(segments).map((c) => c.pcn)).toEqual(['C0', 'C1', 'C2', 'C3', 'C4']);
  });

  it('shares billing provider and subscriber levels between consecutive claims of the same ones', async () => {
    const claims = [professionalClaim({ patientControlNumber: 'A1' }), professionalClaim({ patientControlNumber: 'A2' })];
    const segments = await readX12(write837File(batchOptions('professional'), claims).text);
    expect(segments.filter((s) => s.id === 'HL').map((s) => el(s, 3))).toEqual(['20', '22']);
  });

  it('writes configured delimiters and no newline when asked', () => {
    const { text } = write837File(batchOptions('professional', { delimiters: { element: '|', component: '>', repetition: '^', segment: '\'', newline: false } }), [professionalClaim()]);
    expect(text.startsWith('ISA|00|')).toBe(true);
    expect(text).not.toContain('\n');
    expect(text).toContain("HI|ABK>I2510|ABF>E785'");
  });

  it('refuses what the TR3 does not allow, naming the element', () => {
    const write = (c: Claim837): string => write837File(batchOptions(c.type), [c]).text;
    expect(() => write(professionalClaim({ frequency: '7' }))).toThrow(/REF\*F8/);
    expect(() => write(professionalClaim({ patientControlNumber: 'X'.repeat(18) }))).toThrow(/CLM-01/);
    expect(() => write(professionalClaim({ lines: Array.from({ length: 51 }, (_, i) => professionalLine(i + 1)) }))).toThrow(/50 service lines/);
    expect(() => write(professionalClaim({ diagnoses: Array.from({ length: 13 }, (_, i) => `Z00.0${i}`) }))).toThrow(/12 diagnosis/);
    expect(() => write(professionalClaim({ lines: [professionalLine(1, { diagnosisPointers: [1, 2, 3, 4, 5] })] }))).toThrow(/SV1-07/);
    expect(() => write(professionalClaim({ payer: { name: 'A*B', id: '1' } }))).toThrow(X12ValueError);
    expect(() => write(institutionalClaim({ lines: [{ ...professionalLine(1), revenueCode: undefined }] }))).toThrow(/SV2-01/);
  });
});

describe('X12 values', () => {
  it('transliterates what it can and refuses what X12 cannot carry', () => {
    expect(toX12Text('  José  Ñúñez-Müller ')).toBe('Jose Nunez-Muller');
    expect(toX12Text('O’Brien “Jr”')).toBe('O\'Brien "Jr"');
    expect(toX12Text('Straße')).toBe('Strasse');
    expect(toX12Text('A~B')).toBeUndefined();
    expect(toX12Text('A*B')).toBeUndefined();
    expect(toX12Text('张伟')).toBeUndefined();
    expect(toX12Text('50% off @ [x]')).toBe('50% off @ [x]');
  });

  it('writes decimals without needless zeros', () => {
    expect(x12Decimal('185.00')).toBe('185');
    expect(x12Decimal('62.50')).toBe('62.5');
    expect(x12Decimal('0.50')).toBe('0.5');
    expect(x12Decimal('-12.30')).toBe('-12.3');
    expect(() => x12Decimal('12,5')).toThrow(RangeError);
  });
});
