/**
 * Reading X12 with x12-parser (a streaming segment parser): segments as element and component
 * arrays, with their position, so that errors can name the segment. A file may hold any number of
 * interchanges one after another (files concatenated), each with its own delimiters: x12-parser
 * takes the delimiters from fixed ISA positions once per parser, so each interchange gets its own
 * parser, fed only that interchange's text.
 */
import { Segment, X12parser, type Delimiters } from 'x12-parser';

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

/**
 * A value that cannot be read (a required element missing, an amount or date that is not one),
 * as opposed to a file that is not X12 or is out of order. A reader may contain it to the loop it
 * sits in (an 835 keeps an unreadable claim payment aside and reads on).
 */
export class X12ElementError extends X12ReadError {
  constructor(message: string, location: string) {
    super(message, location);
    this.name = 'X12ElementError';
  }
}

/** Element n (1-based), component c (1-based) of a segment; '' when absent. */
export function el(seg: X12Segment, n: number, c = 1): string {
  return seg.elements[n - 1]?.[c - 1] ?? '';
}

/** "segment 14 (CLP)", or with an element "segment 14 (CLP04)". */
export function segmentAt(seg: X12Segment, element?: number): string {
  return `segment ${seg.position} (${seg.id}${element === undefined ? '' : String(element).padStart(2, '0')})`;
}


const ISA_LENGTH = 106;
const PIECE = 32 * 1024;
/** A UTF-8 byte-order mark as latin1 text (EF BB BF), or as a decoded character. */
const LEADING_JUNK = /^(?:\u00EF\u00BB\u00BF|\uFEFF|\s)+/;

/** Every segment of an X12 text (a 999 or 277CA is small; 835s are streamed, see streamX12Batches). */
export async function readX12(input: Buffer | string): Promise<X12Segment[]> {
  const out: X12Segment[] = [];
  for await (const batch of streamX12Batches([typeof input === 'string' ? Buffer.from(input, 'latin1') : input])) for (const s of batch) out.push(s);
  return out;
}

/** Segments of an X12 stream, one at a time (see streamX12Batches). */
export async function* streamX12(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<X12Segment> {
  for await (const batch of streamX12Batches(input)) yield* batch;
}

/**
 * x12-parser's parser driven directly, without the stream around it: its public processChunk
 * splits a piece of text into segments and hands them to generateSegments, which here parses each
 * with x12-parser's Segment and keeps its element arrays (`parsed`) rather than building the
 * keyed `formatted` object, then pushing it through the stream's async iterator (a promise per
 * segment). A 56 MB 835 reads in about half the time, with a tenth of the garbage.
 */
class SegmentCollector extends X12parser {
  private batch: Segment[] = [];

  constructor(private readonly delimiters: Delimiters) {
    super('latin1');
  }

  override generateSegments(segments: string[]): void {
    for (const raw of segments) this.batch.push(new Segment(raw, this.delimiters));
  }

  parse(text: string): Segment[] {
    this.processChunk(text);
    const out = this.batch;
    this.batch = [];
    return out;
  }

  finish(): Segment[] {
    this._flush(() => undefined);
    const out = this.batch;
    this.batch = [];
    return out;
  }
}

/**
 * Segments of an X12 stream in batches (one per piece of input), numbered across the whole input.
 * Interchanges may follow one another with different delimiters; a byte-order mark and white
 * space before an ISA (and between segments) are skipped. Input that is not an interchange where
 * one must begin is refused naming the position. A cut-short interchange ends the stream early:
 * checkEnvelopes (or EnvelopeTracker) names what is missing.
 */
export async function* streamX12Batches(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<X12Segment[]> {
  const source: AsyncIterator<Buffer | string> | Iterator<Buffer | string> = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
  let pending = '';
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await source.next();
    if (r.done === true) {
      ended = true;
      return false;
    }
    pending += typeof r.value === 'string' ? r.value : r.value.toString('latin1');
    return true;
  };
  let position = 0;
  let interchanges = 0;
  const convert = (parsed: Segment[]): X12Segment[] => {
    const out: X12Segment[] = [];
    for (const p of parsed) {
      if (p.name === '') continue;
      position++;
      out.push({ id: p.name, elements: p.parsed, position });
    }
    return out;
  };
  for (;;) {
    // Seek the next ISA.
    for (;;) {
      pending = pending.replace(LEADING_JUNK, '');
      if (pending.length >= ISA_LENGTH || !(await more())) break;
    }
    pending = pending.replace(LEADING_JUNK, '');
    if (pending === '') {
      if (interchanges === 0) throw new X12ReadError('the file is empty: not an X12 interchange', 'ISA');
      return;
    }
    const at = interchanges === 0 ? 'ISA' : `segment ${position + 1}`;
    if (!pending.startsWith('ISA')) {
      throw new X12ReadError(interchanges === 0 ? 'not an X12 interchange: it does not begin with an ISA segment' : `"${pending.slice(0, 12).replace(/[^\x20-\x7e]/g, '?')}…" after the IEA is not the ISA of another interchange`, at);
    }
    if (pending.length < ISA_LENGTH) throw new X12ReadError('the ISA segment is cut short (an ISA is 106 characters)', at);
    const element = pending.charAt(3);
    // The 16th element separator, then ISA16 (one character), then the terminator. Some senders
    // pad the fields wrongly but keep the 106 characters; x12-parser reads the delimiters at fixed
    // offsets, so the length must be right.
    let sep = 3;
    for (let n = 1; n < 16 && sep >= 0; n++) sep = pending.indexOf(element, sep + 1);
    if (sep < 0 || sep + 2 >= pending.length) throw new X12ReadError('the ISA segment has fewer than 16 elements', at);
    if (sep + 2 !== ISA_LENGTH - 1) throw new X12ReadError(`the ISA segment is ${sep + 3} characters long: an ISA is 106 characters, every element padded to its fixed width`, at);
    let terminator = pending.charAt(105);
    // A CR LF terminator: x12-parser folds CR LF to LF before it reads the delimiters.
    if (terminator === '\r' && pending.charAt(106) === '\n') terminator = '\n';
    interchanges++;
    // One parser per interchange, fed only its text: whole segments, up to and including the IEA.
    const parser = new SegmentCollector({ element, component: pending.charAt(104), segment: terminator, repetition: pending.charAt(82) });
    for (;;) {
      const end = ieaEnd(pending, element, terminator);
      if (end >= 0) {
        const text = pending.slice(0, end);
        pending = pending.slice(end);
        const batch = convert([...parser.parse(text), ...parser.finish()]);
        if (batch.length > 0) yield batch;
        break;
      }
      // Hand over whole segments only, keeping the last partial one (it may be the IEA), in
      // pieces of about 32 KB: the segments of a piece die young (a 1 MB piece made the garbage
      // collector take as long as the parsing).
      let from = 0;
      for (;;) {
        const cut = pending.lastIndexOf(terminator, from + PIECE);
        if (cut < from || cut < ISA_LENGTH - 1) break;
        const batch = convert(parser.parse(pending.slice(from, cut + 1)));
        from = cut + 1;
        if (batch.length > 0) yield batch;
      }
      pending = pending.slice(from);
      if (!(await more())) {
        // Cut short: what is left is the interchange's last, incomplete part.
        const text = pending;
        pending = '';
        const batch = convert([...(text === '' ? [] : parser.parse(text)), ...parser.finish()]);
        if (batch.length > 0) yield batch;
        return;
      }
    }
  }
}

/** The offset just past the terminator of the IEA segment in `text`, or -1 when it is not (yet) there. */
function ieaEnd(text: string, element: string, terminator: string): number {
  const marker = 'IEA' + element;
  let from = 0;
  for (;;) {
    const i = text.indexOf(marker, from);
    if (i < 0) return -1;
    // It must begin a segment: only white space between it and the previous terminator.
    let j = i - 1;
    while (j >= 0 && text.charAt(j) !== terminator && /\s/.test(text.charAt(j))) j--;
    if (j < 0 || text.charAt(j) === terminator) {
      const end = text.indexOf(terminator, i);
      return end < 0 ? -1 : end + 1;
    }
    from = i + 1;
  }
}

/**
 * Checks, one segment at a time, that the envelopes of an interchange are whole: every ST has its
 * SE with the right segment count and control number, every GS its GE and every ISA its IEA with
 * the right counts. GE02/IEA02 control numbers are not compared: published acknowledgements from
 * real senders often get them wrong while the content is intact.
 */
export class EnvelopeTracker {
  isa: X12Segment | undefined;
  gs: X12Segment | undefined;
  st: X12Segment | undefined;
  private count = 0;
  private transactions = 0;
  private groups = 0;
  private last: X12Segment | undefined;

  accept(seg: X12Segment): void {
    this.last = seg;
    if (this.st) this.count++;
    switch (seg.id) {
      case 'ISA':
        if (this.isa) throw new X12ReadError('ISA inside an interchange (IEA missing before it)', segmentAt(seg));
        this.isa = seg;
        this.groups = 0;
        break;
      case 'GS':
        if (!this.isa) throw new X12ReadError('GS outside an interchange', segmentAt(seg));
        if (this.gs) throw new X12ReadError(`GS inside functional group ${el(this.gs, 6)} (GE missing before it)`, segmentAt(seg));
        this.gs = seg;
        this.transactions = 0;
        break;
      case 'ST':
        if (!this.gs) throw new X12ReadError('ST outside a functional group', segmentAt(seg));
        if (this.st) throw new X12ReadError(`ST before the SE of the transaction set ${el(this.st, 2)}`, segmentAt(seg));
        this.st = seg;
        this.count = 1;
        break;
      case 'SE':
        if (!this.st) throw new X12ReadError('SE without ST', segmentAt(seg));
        if (el(seg, 2) !== el(this.st, 2)) throw new X12ReadError(`SE02 ${el(seg, 2)} does not match ST02 ${el(this.st, 2)}`, segmentAt(seg));
        if (el(seg, 1) !== String(this.count)) throw new X12ReadError(`SE01 says ${el(seg, 1)} segments, the transaction set has ${this.count}`, segmentAt(seg));
        this.st = undefined;
        this.transactions++;
        break;
      case 'GE':
        if (!this.gs || this.st) throw new X12ReadError(this.st ? `GE before the SE of transaction set ${el(this.st, 2)}` : 'GE without GS', segmentAt(seg));
        if (el(seg, 1) !== String(this.transactions)) throw new X12ReadError(`GE01 says ${el(seg, 1)} transaction sets, the group has ${this.transactions}`, segmentAt(seg));
        this.gs = undefined;
        this.groups++;
        break;
      case 'IEA':
        if (!this.isa || this.gs) throw new X12ReadError(this.gs ? 'IEA before the GE of its group' : 'IEA without ISA', segmentAt(seg));
        if (el(seg, 1) !== String(this.groups)) throw new X12ReadError(`IEA01 says ${el(seg, 1)} functional groups, the interchange has ${this.groups}`, segmentAt(seg));
        this.isa = undefined;
        break;
      default:
        if (!this.st) throw new X12ReadError(`${seg.id} outside a transaction set (between ${this.gs ? 'GS and ST' : this.isa ? 'ISA and GS' : 'interchanges'})`, segmentAt(seg));
        break;
    }
  }

  /** At the end of the input: refuses a file cut short. */
  finish(): void {
    const at = this.last ? segmentAt(this.last) : 'ISA';
    if (!this.last) throw new X12ReadError('the file has no segments', 'ISA');
    if (this.st) throw new X12ReadError(`the file ends inside transaction set ${el(this.st, 2)}: SE missing`, at);
    if (this.gs) throw new X12ReadError(`the file ends inside functional group ${el(this.gs, 6)}: GE missing`, at);
    if (this.isa) throw new X12ReadError('the file ends inside the interchange: IEA missing', at);
  }
}

/** The envelopes of a whole file are whole (see EnvelopeTracker); a file cut short is refused, naming where. */
export function checkEnvelopes(segments: X12Segment[]): void {
  const t = new EnvelopeTracker();
  for (const seg of segments) t.accept(seg);
  t.finish();
}
