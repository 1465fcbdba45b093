import { isDeepStrictEqual } from 'node:util';
import { EXPECTED, benchDft, type Extracted } from './message';

/* eslint-disable @typescript-eslint/no-require-imports */
// The compiled library, as another program would use it (npm run build → dist/lib/hl7v2).
const ours = require('../../dist/lib/hl7v2') as typeof import('../../src/lib/hl7v2');
const simpleHl7 = require('simple-hl7') as { Parser: new () => { parse(s: string): SimpleMessage } };
const medplum = require('@medplum/core') as { Hl7Message: { parse(s: string): MedplumMessage } };
/* eslint-enable @typescript-eslint/no-require-imports */

// simple-hl7's model: field.value = repetitions; a repetition is the component list itself, or (when the
// field repeats) an object whose value[0] is; component.value = subcomponents.
interface SimpleComponent { value: (string | string[])[] }
type SimpleRepetition = SimpleComponent[] | { value: SimpleComponent[][] };
interface SimpleField { value: SimpleRepetition[] }
interface SimpleSegment { name: string; fields: SimpleField[]; getField(f: number): string }
interface SimpleMessage { header: SimpleSegment; getSegment(n: string): SimpleSegment; getSegments(n: string): SimpleSegment[] }
interface MedplumField { components: string[][]; getComponent(c: number, s?: number, r?: number): string }
interface MedplumSegment { getField(i: number): MedplumField; getComponent(f: number, c: number, s?: number, r?: number): string }
interface MedplumMessage { getSegment(n: string): MedplumSegment | undefined; getAllSegments(n: string): MedplumSegment[] }

const FT1_PATHS = [1, 2, 3, 4, 5].map((i) => ({ code: `FT1[${i}]-7.1`, amount: `FT1[${i}]-11.1.1`, dx: `FT1[${i}]-19` }));
const DG1_PATHS = [1, 2, 3].map((i) => `DG1[${i}]-3.1`);

/** Each reader: parse the text and extract the billing fields. */
export const readers: Record<string, (text: string) => Extracted> = {
  'hl7-claims': (text) => {
    const m = ours.parseMessage(text);
    return {
      controlId: m.get('MSH-10'),
      mrns: m.getAll('PID-3'),
      family: m.get('PID-5.1'),
      given: m.get('PID-5.2'),
      ft1Codes: FT1_PATHS.map((p) => m.get(p.code)),
      ft1Amounts: FT1_PATHS.map((p) => m.get(p.amount)),
      ft1Dx: FT1_PATHS.map((p) => m.getAll(p.dx)),
      dg1Codes: DG1_PATHS.map((p) => m.get(p)),
      memberId: m.get('IN1-36'),
    };
  },
  'simple-hl7': (text) => {
    const m = new simpleHl7.Parser().parse(text);
    const pid = m.getSegment('PID');
    // Its getComponent() reads the repetition list as if it were the components, so values are taken from the model.
    const at = (seg: SimpleSegment, f: number, c = 1, sc = 1, r = 0): string => {
      const rep = seg.fields[f - 1]?.value[r];
      const comps = rep === undefined ? undefined : Array.isArray(rep) ? rep : rep.value[0];
      const subs = comps?.[c - 1]?.value;
      const first = subs?.[0];
      const v = Array.isArray(first) ? first[sc - 1] : subs?.[sc - 1];
      return typeof v === 'string' ? v : '';
    };
    const reps = (seg: SimpleSegment, f: number): string[] => (seg.fields[f - 1]?.value ?? []).map((_, r) => at(seg, f, 1, 1, r));
    const ft1 = m.getSegments('FT1');
    return {
      // simple-hl7's header fields start at MSH-3.
      controlId: m.header.getField(8),
      mrns: reps(pid, 3),
      family: at(pid, 5, 1),
      given: at(pid, 5, 2),
      ft1Codes: ft1.map((s) => at(s, 7, 1)),
      ft1Amounts: ft1.map((s) => at(s, 11, 1, 1)),
      ft1Dx: ft1.map((s) => reps(s, 19)),
      dg1Codes: m.getSegments('DG1').map((s) => at(s, 3, 1)),
      memberId: at(m.getSegment('IN1'), 36),
    };
  },
  '@medplum/core': (text) => {
    const m = medplum.Hl7Message.parse(text);
    const pid = m.getSegment('PID') as MedplumSegment;
    const reps = (seg: MedplumSegment, f: number): string[] => seg.getField(f).components.map((_, r) => seg.getComponent(f, 1, undefined, r));
    const ft1 = m.getAllSegments('FT1');
    return {
      controlId: (m.getSegment('MSH') as MedplumSegment).getField(10).getComponent(1),
      mrns: reps(pid, 3),
      family: pid.getComponent(5, 1),
      given: pid.getComponent(5, 2),
      ft1Codes: ft1.map((s) => s.getComponent(7, 1)),
      // Medplum counts subcomponents from 0.
      ft1Amounts: ft1.map((s) => s.getComponent(11, 1, 0)),
      ft1Dx: ft1.map((s) => reps(s, 19)),
      dg1Codes: m.getAllSegments('DG1').map((s) => s.getComponent(3, 1)),
      memberId: (m.getSegment('IN1') as MedplumSegment).getComponent(36, 1),
    };
  },
};

export interface ParseResult {
  reader: string;
  messagesPerSecond: number;
  /** Every field matched, escapes decoded. */
  correct: boolean;
  /** Fields that differed from the expected (decoded) values. */
  wrong: string[];
}

function check(got: Extracted, controlId: string): string[] {
  const wrong: string[] = [];
  if (got.controlId !== controlId) wrong.push('MSH-10');
  for (const [k, v] of Object.entries(EXPECTED)) {
    if (!isDeepStrictEqual((got as unknown as Record<string, unknown>)[k], v)) wrong.push(`${k}=${JSON.stringify((got as unknown as Record<string, unknown>)[k])}`);
  }
  return wrong;
}

/** Parse-and-extract throughput; the texts differ by control id so nothing is cached between messages. */
export function benchParse(seconds = 3): ParseResult[] {
  const N = 2000;
  const texts = Array.from({ length: N }, (_, i) => benchDft(`BENCH${String(i).padStart(6, '0')}`));
  const results: ParseResult[] = [];
  for (const [name, read] of Object.entries(readers)) {
    const wrong = check(read(texts[0] as string), 'BENCH000000');
    // Warm up, then measure whole passes until the time is up.
    for (let i = 0; i < N; i++) read(texts[i] as string);
    let count = 0;
    let sink = 0;
    const start = process.hrtime.bigint();
    const limit = BigInt(seconds * 1e9);
    while (process.hrtime.bigint() - start < limit) {
      for (let i = 0; i < N; i++) sink += read(texts[i] as string).ft1Amounts.length;
      count += N;
    }
    const ns = Number(process.hrtime.bigint() - start);
    if (sink !== count * 5) throw new Error(`${name} lost FT1 segments`);
    results.push({ reader: name, messagesPerSecond: Math.round(count / (ns / 1e9)), correct: wrong.length === 0, wrong });
  }
  return results;
}
