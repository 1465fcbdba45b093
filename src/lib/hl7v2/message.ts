import { readDelimiters, type Delimiters } from './delimiters';
import { Hl7ParseError } from './errors';
import { escapeHl7, unescapeHl7 } from './escape';
import { parsePath, type Hl7Path } from './path';

/** The HL7 explicit null: a field sent as `""` means "delete the value", not "no value". */
export const HL7_NULL = '""';

const SEGMENT_SEPARATOR = /\r\n|\r|\n/;

/** The n-th (1-based) piece of `s` split by `sep`, without allocating the whole split. */
function piece(s: string, sep: string, n: number): string {
  if (sep === '') return n === 1 ? s : '';
  let start = 0;
  for (let i = 1; i < n; i++) {
    const j = s.indexOf(sep, start);
    if (j < 0) return '';
    start = j + 1;
  }
  const end = s.indexOf(sep, start);
  return end < 0 ? (start === 0 ? s : s.slice(start)) : s.slice(start, end);
}

function split(s: string, sep: string): string[] {
  return sep === '' || s.indexOf(sep) < 0 ? [s] : s.split(sep);
}

/**
 * One segment. Fields are split on first access only, and each value is cut out of the field
 * text with indexOf: a reader pays for what it reads, not for the whole message.
 */
export class Segment {
  private fieldList: string[] | undefined;
  /**
   * Start offset of each field found so far (index = field number), found with indexOf as far as
   * a reader has asked: unread fields are never cut out of the text.
   */
  private starts: number[] | undefined;
  private scannedAll = false;

  constructor(
    readonly name: string,
    private text: string,
    private readonly d: Delimiters,
  ) {}

  /** True for MSH, FHS and BHS, whose field 1 is the field separator itself. */
  get isHeader(): boolean {
    return this.name === 'MSH' || this.name === 'FHS' || this.name === 'BHS';
  }

  /** The fields, indexed by HL7 field number (index 0 is the segment name). */
  fields(): string[] {
    if (this.fieldList === undefined) {
      const parts = this.text.split(this.d.field);
      if (this.isHeader) parts.splice(1, 0, this.d.field);
      this.fieldList = parts;
    }
    return this.fieldList;
  }

  /** Start offset of a field, or -1 when the segment has fewer fields (scans only as far as needed). */
  private startOf(field: number): number {
    let starts = this.starts;
    if (starts === undefined) {
      // Header segments: MSH-1 is the separator at offset 3, MSH-2 starts at 4.
      starts = this.isHeader ? [0, 3, 4] : [0];
      this.starts = starts;
    }
    while (starts.length <= field && !this.scannedAll) {
      const at = this.text.indexOf(this.d.field, starts[starts.length - 1]);
      if (at < 0) this.scannedAll = true;
      else starts.push(at + 1);
    }
    return field < starts.length ? (starts[field] as number) : -1;
  }

  /** A field's text as written (all repetitions, delimiters and escapes included). */
  rawField(field: number): string {
    if (this.fieldList !== undefined) return this.fieldList[field] ?? '';
    if (this.isHeader && field === 1) return this.d.field;
    const start = this.startOf(field);
    if (start < 0) return '';
    const next = this.startOf(field + 1);
    return next < 0 ? (start === 0 ? this.text : this.text.slice(start)) : this.text.slice(start, next - 1);
  }

  /**
   * The encoded text at a position. Unspecified repetition/component/subcomponent levels are
   * returned whole.
   */
  raw(field: number, repetition?: number, component?: number, subcomponent?: number): string {
    let v = this.rawField(field);
    if (this.isHeader && field <= 2) return v;
    if (repetition === undefined) {
      if (component === undefined) return v;
      repetition = 1;
    }
    v = piece(v, this.d.repetition, repetition);
    if (component === undefined) return v;
    v = piece(v, this.d.component, component);
    if (subcomponent === undefined) return v;
    return piece(v, this.d.subcomponent, subcomponent);
  }

  /** The primitive value at a position, escapes decoded; absent levels default to 1 (HAPI Terser's rule). */
  value(field: number, repetition = 1, component = 1, subcomponent = 1): string {
    const v = this.raw(field, repetition, component, subcomponent);
    if (v === HL7_NULL) return '';
    return unescapeHl7(v, this.d);
  }

  /**
   * Tri-state read for update semantics: undefined when empty or absent, null for the HL7 null
   * `""` (delete), otherwise the decoded value.
   */
  valueOrNull(field: number, repetition = 1, component = 1, subcomponent = 1): string | null | undefined {
    const v = this.raw(field, repetition, component, subcomponent);
    if (v === '') return undefined;
    if (v === HL7_NULL) return null;
    return unescapeHl7(v, this.d);
  }

  /** Every repetition of a field, as raw repetition texts. Empty field → []. */
  repetitions(field: number): string[] {
    const v = this.rawField(field);
    if (v === '') return [];
    if (this.isHeader && field <= 2) return [v];
    return split(v, this.d.repetition);
  }

  /** Decoded component c (subcomponent s) of a raw repetition text returned by `repetitions`. */
  componentOf(repetitionText: string, component = 1, subcomponent = 1): string {
    const v = piece(piece(repetitionText, this.d.component, component), this.d.subcomponent, subcomponent);
    return v === HL7_NULL ? '' : unescapeHl7(v, this.d);
  }

  /** Sets a primitive (or a whole field when only `field` is given), encoding the value. */
  set(value: string, field: number, repetition = 1, component?: number, subcomponent?: number): void {
    const fields = this.fields();
    while (fields.length <= field) fields.push('');
    const enc = escapeHl7(value, this.d);
    if (this.isHeader && field <= 2) throw new Hl7ParseError('MSH-1 and MSH-2 are the delimiters and cannot be set', { segment: this.name, field });
    if (component === undefined && repetition === 1) {
      fields[field] = enc;
    } else {
      const reps = split(fields[field] ?? '', this.d.repetition);
      while (reps.length < repetition) reps.push('');
      if (component === undefined) {
        reps[repetition - 1] = enc;
      } else {
        const comps = split(reps[repetition - 1] ?? '', this.d.component);
        while (comps.length < component) comps.push('');
        if (subcomponent === undefined) {
          comps[component - 1] = enc;
        } else {
          const subs = split(comps[component - 1] ?? '', this.d.subcomponent);
          while (subs.length < subcomponent) subs.push('');
          subs[subcomponent - 1] = enc;
          comps[component - 1] = subs.join(this.d.subcomponent);
        }
        reps[repetition - 1] = comps.join(this.d.component);
      }
      fields[field] = reps.join(this.d.repetition);
    }
    const out = this.isHeader ? [fields[0], ...fields.slice(2)] : fields;
    this.text = out.join(this.d.field);
    this.starts = undefined;
    this.scannedAll = false;
  }

  toString(): string {
    return this.text;
  }
}

/**
 * A parsed HL7 v2 message (ER7 encoding). Parsing finds segment boundaries and names only;
 * fields are split when read. `toString()` of an unmodified message returns the input
 * byte-for-byte.
 */
export class Message {
  readonly delimiters: Delimiters;
  private readonly segmentList: Segment[];
  private byName: Map<string, Segment[]> | undefined;
  private modified = false;

  private constructor(
    private readonly source: string,
    delimiters: Delimiters,
    segments: Segment[],
  ) {
    this.delimiters = delimiters;
    this.segmentList = segments;
  }

  static parse(text: string): Message {
    let start = 0;
    // Tolerate a byte-order mark and blank lines before MSH.
    while (start < text.length) {
      const c = text.charCodeAt(start);
      if (c === 0xfeff || c === 0x0d || c === 0x0a || c === 0x20 || c === 0x09) start++;
      else break;
    }
    if (text.startsWith('FHS', start) || text.startsWith('BHS', start)) {
      throw new Hl7ParseError('this is a batch (FHS/BHS); split it with splitBatch first', { segment: text.slice(start, start + 3) });
    }
    if (!text.startsWith('MSH', start)) {
      throw new Hl7ParseError('message does not start with an MSH segment', { segment: 'MSH' });
    }
    const { delimiters } = readDelimiters(text, start);
    const body = start === 0 ? text : text.slice(start);
    // CR is the standard separator; LF and CRLF come from files and pasted text. A single-character
    // split is far cheaper than a regular expression, so the regex is only used when LF is present.
    const lines = body.indexOf('\n') < 0 ? body.split('\r') : body.split(SEGMENT_SEPARATOR);
    const segments: Segment[] = [];
    const f = delimiters.field;
    for (const line of lines) {
      if (line.length === 0) continue;
      let name: string;
      if (line.charAt(3) === f) name = line.slice(0, 3);
      else {
        let end = line.indexOf(f);
        if (end < 0) end = line.length;
        name = line.slice(0, end).trim();
        if (name === '') continue; // whitespace-only line
      }
      segments.push(new Segment(name, line, delimiters));
    }
    return new Message(text, delimiters, segments);
  }

  private index(): Map<string, Segment[]> {
    if (this.byName === undefined) {
      const m = new Map<string, Segment[]>();
      for (const s of this.segmentList) {
        const list = m.get(s.name);
        if (list) list.push(s);
        else m.set(s.name, [s]);
      }
      this.byName = m;
    }
    return this.byName;
  }

  /** All segments in order, or all segments with the given name. */
  segments(name?: string): readonly Segment[] {
    if (name === undefined) return this.segmentList;
    return this.index().get(name) ?? [];
  }

  /** The n-th (1-based) segment with this name. */
  segment(name: string, occurrence = 1): Segment | undefined {
    return this.index().get(name)?.[occurrence - 1];
  }

  private resolve(path: string): { p: Hl7Path; seg: Segment | undefined } {
    const p = parsePath(path);
    return { p, seg: this.segment(p.segment, p.occurrence ?? 1) };
  }

  /**
   * The decoded primitive at an HL7 path (`MSH-10`, `PID-3.1`, `FT1[2]-7.1`). Unspecified
   * occurrence/repetition/component/subcomponent default to the first, so `PID-5` reads PID-5.1.
   * Empty, absent and HL7 null all read as ''; use `getValue` to tell them apart.
   */
  get(path: string): string {
    const p = parsePath(path);
    const seg = this.segment(p.segment, p.occurrence ?? 1);
    return seg === undefined || p.field === undefined ? '' : seg.value(p.field, p.repetition ?? 1, p.component ?? 1, p.subcomponent ?? 1);
  }

  /** Like `get`, but undefined for empty/absent and null for the HL7 null `""`. */
  getValue(path: string): string | null | undefined {
    const { p, seg } = this.resolve(path);
    if (seg === undefined || p.field === undefined) return undefined;
    return seg.valueOrNull(p.field, p.repetition ?? 1, p.component ?? 1, p.subcomponent ?? 1);
  }

  /** The encoded text at a path, with the levels below it left whole (`PID-5` → `DOE^JOHN^A`). */
  getRaw(path: string): string {
    const { p, seg } = this.resolve(path);
    if (seg === undefined) return '';
    if (p.field === undefined) return seg.toString();
    return seg.raw(p.field, p.repetition, p.component, p.subcomponent);
  }

  /**
   * Every value at a path: over every occurrence of the segment unless one is given, and every
   * repetition of the field unless one is given. `getAll('PID-3')` → each identifier's PID-3.1;
   * `getAll('FT1-7.1')` → the transaction code of each FT1.
   */
  getAll(path: string): string[] {
    const p = parsePath(path);
    if (p.field === undefined) return [];
    const segs = p.occurrence === undefined ? this.segments(p.segment) : [this.segment(p.segment, p.occurrence)];
    const out: string[] = [];
    for (const seg of segs) {
      if (seg === undefined) continue;
      if (p.repetition !== undefined) {
        out.push(seg.value(p.field, p.repetition, p.component ?? 1, p.subcomponent ?? 1));
        continue;
      }
      for (const rep of seg.repetitions(p.field)) out.push(seg.componentOf(rep, p.component ?? 1, p.subcomponent ?? 1));
    }
    return out;
  }

  /** Sets the value at a path (encoding delimiters in it). The segment must exist. */
  set(path: string, value: string): void {
    const { p, seg } = this.resolve(path);
    if (seg === undefined || p.field === undefined) {
      throw new Hl7ParseError(`cannot set ${path}: no such segment`, { segment: p.segment });
    }
    seg.set(value, p.field, p.repetition ?? 1, p.component, p.subcomponent);
    this.modified = true;
  }

  /** MSH-10, the message control id. */
  get controlId(): string {
    return this.get('MSH-10');
  }

  /** The original text when unmodified; otherwise the segments joined with CR. */
  toString(): string {
    if (!this.modified) return this.source;
    return this.segmentList.map((s) => s.toString()).join('\r') + '\r';
  }
}

export function parseMessage(text: string): Message {
  return Message.parse(text);
}
