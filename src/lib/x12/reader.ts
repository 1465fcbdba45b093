/**
 * Reading X12 with x12-parser (a streaming segment parser): segments as element and component
 * arrays, with their position, so that errors can name the segment. Files are checked to start
 * with a whole ISA (x12-parser takes the delimiters from fixed ISA positions).
 */
import { Readable } from 'node:stream';
import { X12parser, type FormattedSegment } from 'x12-parser';

export interface X12Segment {
  id: string;
  /** elements[n - 1] holds element n's components (a plain element has one). */
  elements: string[][];
  /** 1-based position in the file. */
  position: number;
}

export class X12ReadError extends Error {
  constructor(
    message: string,
    /** Segment (and element) at fault, e.g. "ISA", "segment 14 (AK2)". */
    readonly location: string,
  ) {
    super(`${location}: ${message}`);
    this.name = 'X12ReadError';
  }
}

/** Element n (1-based), component c (1-based) of a segment; '' when absent. */
export function el(seg: X12Segment, n: number, c = 1): string {
  return seg.elements[n - 1]?.[c - 1] ?? '';
}

function toSegment(f: FormattedSegment, position: number): X12Segment {
  const elements: string[][] = [];
  for (let i = 1; f[String(i)] !== undefined; i++) {
    const comps = [f[String(i)] as string];
    for (let k = 1; f[`${i}-${k}`] !== undefined; k++) comps.push(f[`${i}-${k}`] as string);
    elements.push(comps);
  }
  return { id: f.name, elements, position };
}

/** Leading byte-order mark and white space removed; the text must then begin with an ISA segment. */
function clean(text: string): string {
  const t = text.replace(/^[\uFEFF\s]+/, '');
  if (!t.startsWith('ISA') || t.length < 106) throw new X12ReadError('not an X12 interchange: it does not begin with a complete ISA segment', 'ISA');
  const element = t.charAt(3);
  // ISA has 16 elements, so the segment terminator follows ISA16 at offset 105.
  if (t.split(element, 17).length < 17) throw new X12ReadError('ISA segment has fewer than 16 elements', 'ISA');
  return t;
}

/** Every segment of an X12 text (a 999 or 277CA is small; 835s are streamed, see streamX12). */
export async function readX12(input: Buffer | string): Promise<X12Segment[]> {
  // A UTF-8 byte-order mark (EF BB BF) is common in files from Windows tools; X12 itself is ASCII.
  const bytes = typeof input === 'string' ? undefined : input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf ? input.subarray(3) : input;
  const text = bytes === undefined ? (input as string) : bytes.toString('latin1');
  const out: X12Segment[] = [];
  for await (const s of streamX12(Readable.from([Buffer.from(clean(text), 'latin1')]))) out.push(s);
  return out;
}

/** Segments of an X12 stream, one at a time. */
export async function* streamX12(input: Readable): AsyncGenerator<X12Segment> {
  const parser = new X12parser('latin1');
  const source = input.pipe(parser);
  let position = 0;
  for await (const f of source as AsyncIterable<FormattedSegment>) {
    if (f.name === '') continue;
    position++;
    yield toSegment(f, position);
  }
}

/**
 * The envelopes of an interchange are whole: every ST has its SE with the right segment count
 * and control number, every GS its GE and every ISA its IEA with the right counts. A file cut
 * short is refused, naming where. GE02/IEA02 control numbers are not compared: published
 * acknowledgements from real senders often get them wrong while the content is intact.
 */
export function checkEnvelopes(segments: X12Segment[]): void {
  let st: X12Segment | undefined;
  let gs: X12Segment | undefined;
  let isa: X12Segment | undefined;
  let count = 0;
  let transactions = 0;
  let groups = 0;
  const at = (seg: X12Segment): string => `segment ${seg.position} (${seg.id})`;
  for (const seg of segments) {
    if (st) count++;
    switch (seg.id) {
      case 'ISA':
        isa = seg;
        groups = 0;
        break;
      case 'GS':
        if (!isa) throw new X12ReadError('GS outside an interchange', at(seg));
        gs = seg;
        transactions = 0;
        break;
      case 'ST':
        if (!gs) throw new X12ReadError('ST outside a functional group', at(seg));
        if (st) throw new X12ReadError(`ST before the SE of the transaction set ${el(st, 2)}`, at(seg));
        st = seg;
        count = 1;
        break;
      case 'SE':
        if (!st) throw new X12ReadError('SE without ST', at(seg));
        if (el(seg, 2) !== el(st, 2)) throw new X12ReadError(`SE02 ${el(seg, 2)} does not match ST02 ${el(st, 2)}`, at(seg));
        if (el(seg, 1) !== String(count)) throw new X12ReadError(`SE01 says ${el(seg, 1)} segments, the transaction set has ${count}`, at(seg));
        st = undefined;
        transactions++;
        break;
      case 'GE':
        if (!gs || st) throw new X12ReadError(st ? `GE before the SE of transaction set ${el(st, 2)}` : 'GE without GS', at(seg));
        if (el(seg, 1) !== String(transactions)) throw new X12ReadError(`GE01 says ${el(seg, 1)} transaction sets, the group has ${transactions}`, at(seg));
        gs = undefined;
        groups++;
        break;
      case 'IEA':
        if (!isa || gs) throw new X12ReadError(gs ? 'IEA before the GE of its group' : 'IEA without ISA', at(seg));
        if (el(seg, 1) !== String(groups)) throw new X12ReadError(`IEA01 says ${el(seg, 1)} functional groups, the interchange has ${groups}`, at(seg));
        isa = undefined;
        break;
      default:
        break;
    }
  }
  const last = segments[segments.length - 1];
  if (st) throw new X12ReadError(`the file ends inside transaction set ${el(st, 2)}: SE missing`, last ? at(last) : 'SE');
  if (gs) throw new X12ReadError(`the file ends inside functional group ${el(gs, 6)}: GE missing`, last ? at(last) : 'GE');
  if (isa) throw new X12ReadError('the file ends inside the interchange: IEA missing', last ? at(last) : 'IEA');
}
