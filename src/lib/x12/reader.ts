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
  const out: X12Segment[] = [];
  for await (const s of streamX12(Readable.from([Buffer.from(clean(typeof input === 'string' ? input : input.toString('latin1')), 'latin1')]))) out.push(s);
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
