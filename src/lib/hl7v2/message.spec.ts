import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessage, HL7_NULL } from './message';
import { splitBatch } from './batch';
import { Hl7ParseError } from './errors';

const FIXTURES = join(__dirname, '../../../fixtures/hl7');
const corpus = ['adt', 'dft', 'other', 'malformed', 'batch'].flatMap((dir) =>
  readdirSync(join(FIXTURES, dir)).map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(FIXTURES, dir, f), 'latin1') })),
);

describe('parseMessage on the published sample corpus', () => {
  it('has the whole corpus', () => {
    expect(corpus.length).toBe(76);
  });

  it.each(corpus.map((c) => [c.name, c.text]))('%s: splits, parses and round-trips byte-for-byte', (name, text) => {
    const { messages, errors } = splitBatch(text);
    if (!name.startsWith('malformed/sample_bad')) expect(errors).toEqual([]);
    for (const m of messages) {
      const msg = parseMessage(m);
      expect(msg.toString()).toBe(m);
      expect(msg.segments()[0]?.name).toBe('MSH');
      expect(msg.get('MSH-9.1')).toMatch(/^(ADT|DFT|BAR)$/);
    }
  });
});

describe('delimiters and segment separators', () => {
  it('reads CR, LF and CRLF separators and ignores blank lines', () => {
    for (const sep of ['\r', '\n', '\r\n']) {
      const text = ['MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5', '', 'PID|1||123^^^H^MR', 'PV1|1|I'].join(sep) + sep + sep;
      const msg = parseMessage(text);
      expect(msg.segments().map((s) => s.name)).toEqual(['MSH', 'PID', 'PV1']);
      expect(msg.get('PID-3.4')).toBe('H');
      expect(msg.toString()).toBe(text);
    }
  });

  it('uses non-standard delimiters from MSH-1/MSH-2', () => {
    const msg = parseMessage('MSH#$*@%#A#B#C#D#20240101##DFT$P03#C1#P#2.5\rPID#1##123$$$H$MR*456$$$K$PI#\rFT1#1##X%1$Y@F@Z');
    expect(msg.delimiters).toMatchObject({ field: '#', component: '$', repetition: '*', escape: '@', subcomponent: '%' });
    expect(msg.get('MSH-9.2')).toBe('P03');
    expect(msg.getAll('PID-3')).toEqual(['123', '456']);
    expect(msg.get('PID-3(2).4')).toBe('K');
    expect(msg.get('FT1-3.1.2')).toBe('1');
    expect(msg.get('FT1-3.2')).toBe('Y#Z');
  });

  it('reads a three-character MSH-2 positionally (no subcomponent separator)', () => {
    const msg = parseMessage('MSH|^~\\|A|B|C|D|20240101||ADT^A01|X|P|2.3\rPID|1||1&2^^^H');
    expect(msg.delimiters.subcomponent).toBe('');
    expect(msg.get('PID-3.1')).toBe('1&2');
  });

  it('reads the MSH field numbering the standard way (MSH-1 is the separator)', () => {
    const msg = parseMessage('MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101120000||DFT^P03^DFT_P03|CTL42|P|2.5.1');
    expect(msg.get('MSH-1')).toBe('|');
    expect(msg.get('MSH-2')).toBe('^~\\&');
    expect(msg.get('MSH-3')).toBe('APP');
    expect(msg.get('MSH-9.3')).toBe('DFT_P03');
    expect(msg.controlId).toBe('CTL42');
  });

  it('refuses text that is not an HL7 message', () => {
    expect(() => parseMessage('hello world')).toThrow(Hl7ParseError);
    expect(() => parseMessage('MSHX')).toThrow(/MSH-1/);
    expect(() => parseMessage('BHS|^~\\&|A')).toThrow(/batch/);
  });
});

describe('path access', () => {
  const text =
    'MSH|^~\\&|A|B|C|D|20240101||DFT^P03|C1|P|2.5\r' +
    'PID|1||111^^^H^MR~222^^^SS^SS||DOE^JANE^Q||19800101|F\r' +
    ['FT1', '1', 'T1', '', '20240105', '', 'CG', '99213^OV^CPT', '', '', '1', '100.00'].join('|') + '\r' +
    ['FT1', '2', 'T2', '', '20240105', '', 'CG', '99214^OV^CPT', '', '', '2', '250.50&USD', '', '', '', '', '', '', '', 'E11.9^^I10~I10^^I10'].join('|') + '\r' +
    'ZX1|custom|""|';
  const msg = parseMessage(text);

  it('reads fields, repetitions, components and subcomponents 1-based', () => {
    expect(msg.get('PID-3')).toBe('111');
    expect(msg.get('PID-3.4')).toBe('H');
    expect(msg.get('PID-3[2].1')).toBe('222');
    expect(msg.get('PID-5.2')).toBe('JANE');
    expect(msg.get('FT1[2]-7.1')).toBe('99214');
    expect(msg.get('FT1[2]-11.1.1')).toBe('250.50');
    expect(msg.get('FT1[2]-11.1.2')).toBe('USD');
    expect(msg.get('FT1[3]-7')).toBe('');
    expect(msg.get('PV1-19')).toBe('');
  });

  it('reads every occurrence and repetition with getAll', () => {
    expect(msg.getAll('PID-3')).toEqual(['111', '222']);
    expect(msg.getAll('PID-3.4')).toEqual(['H', 'SS']);
    expect(msg.getAll('FT1-7.1')).toEqual(['99213', '99214']);
    expect(msg.getAll('FT1[2]-19')).toEqual(['E11.9', 'I10']);
    expect(msg.getAll('FT1-19')).toEqual(['E11.9', 'I10']);
  });

  it('keeps Z-segments and tells the HL7 null from empty', () => {
    expect(msg.get('ZX1-1')).toBe('custom');
    expect(msg.get('ZX1-2')).toBe('');
    expect(msg.getValue('ZX1-2')).toBeNull();
    expect(msg.getValue('ZX1-3')).toBeUndefined();
    expect(msg.getRaw('ZX1-2')).toBe(HL7_NULL);
  });

  it('returns raw text above the primitive level', () => {
    expect(msg.getRaw('PID-5')).toBe('DOE^JANE^Q');
    expect(msg.getRaw('PID-3')).toBe('111^^^H^MR~222^^^SS^SS');
  });

  it('rejects paths that are not HL7 notation', () => {
    expect(() => msg.get('PID_3')).toThrow(/not an HL7 path/);
    expect(() => msg.get('PID-3.0')).toThrow(/position 0/);
  });
});

describe('escapes', () => {
  it('decodes escape sequences on read', () => {
    const msg = parseMessage(String.raw`MSH|^~\&|A|B|C|D|20240101||ADT^A01|C|P|2.5` + '\r' + String.raw`NTE|1||A\F\B\S\C\T\D\R\E-\E\-\X0D0A\-end\.br\x\H\bold\N\ \Zcustom` + "\\");
    expect(msg.get('NTE-3')).toBe('A|B^C&D~E-\\-\r\n-end\nxbold \\Zcustom\\');
  });

  it('encodes on write and round-trips through toString', () => {
    const msg = parseMessage('MSH|^~\\&|A|B|C|D|20240101||ADT^A01|C|P|2.5\rPID|1||1\r');
    msg.set('PID-5.1', 'O|Brien^&~\\');
    msg.set('PID-5.2', 'Pat');
    expect(msg.toString()).toBe('MSH|^~\\&|A|B|C|D|20240101||ADT^A01|C|P|2.5\rPID|1||1||O\\F\\Brien\\S\\\\T\\\\R\\\\E\\^Pat\r');
    expect(parseMessage(msg.toString()).get('PID-5.1')).toBe('O|Brien^&~\\');
  });
});

describe('checkEnvelope', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { checkEnvelope } = require('./validate') as typeof import('./validate');
  const base = 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01|CTL|P|2.5\r';
  it('flags a segment glued into another by a lost separator, not ids that happen to end in a segment name', () => {
    expect(checkEnvelope(parseMessage(base + 'ZZA|1EVN||20120701\rPID|1||1')).map((p) => p.error.message)).toEqual([
      'ZZA: an EVN segment seems glued into ZZA (segment separator missing before it)',
    ]);
    expect(checkEnvelope(parseMessage(base.replace('CTL', 'NOPV1') + 'PID|1||1'))).toEqual([]);
    expect(checkEnvelope(parseMessage(base + 'PID|1||1||RAPID|'))).toEqual([]);
  });
  it('rejects unsupported versions and processing ids, and an ambiguous 3-character MSH-2', () => {
    expect(checkEnvelope(parseMessage(base.replace('|2.5', '|3.0'))).map((p) => p.kind)).toEqual(['reject']);
    expect(checkEnvelope(parseMessage(base.replace('|2.5', '|2.2^x^x')))[0]?.error.message).toMatch(/VID starts with v2.4/);
    expect(checkEnvelope(parseMessage(base.replace('|P|', '|X|')))[0]?.error.code).toBe('202');
    // A missing processing id: taken as P unless the checks are strict.
    expect(checkEnvelope(parseMessage(base.replace('|P|', '||')))).toEqual([]);
    expect(checkEnvelope(parseMessage(base.replace('|P|', '||')), { strict: true }).map((p) => [p.kind, p.error.code])).toEqual([['reject', '202']]);
    expect(checkEnvelope(parseMessage(base.replace('^~\\&', '^~}')))[0]?.kind).toBe('error');
    expect(checkEnvelope(parseMessage(base.replace('^~\\&', '^~\\')))).toEqual([]);
  });
});
