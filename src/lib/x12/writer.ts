/**
 * X12 segment writer: delimiters, value rules and segment counting, writing to a sink in chunks
 * so that a file of any size can be streamed.
 */
import { normalizeDecimal } from '../decimal';

export interface X12Delimiters {
  /** Element separator (ISA byte 4). */
  element: string;
  /** Component separator (ISA16). */
  component: string;
  /** Repetition separator (ISA11). */
  repetition: string;
  /** Segment terminator. */
  segment: string;
  /** Write a newline after each segment terminator (many clearinghouses accept it; easier to read). */
  newline: boolean;
}

export const DEFAULT_DELIMITERS: X12Delimiters = { element: '*', component: ':', repetition: '^', segment: '~', newline: true };

/** A value that breaks the X12 character rules. */
export class X12ValueError extends Error {
  constructor(
    message: string,
    /** Segment and element, e.g. "NM1-03". */
    readonly location: string,
  ) {
    super(`${location}: ${message}`);
    this.name = 'X12ValueError';
  }
}

/**
 * The X12 basic and extended character sets (X12.6): upper and lower case letters, digits, space
 * and the special characters below. Anything else must be transliterated or the value refused.
 */
const ALLOWED = /^[A-Za-z0-9 !"&'()*+,\-./:;?=%@[\]_{}\\|<>~#$]*$/;

/**
 * Text as X12 can carry it: accents removed (é → e), typographic quotes and dashes made plain,
 * runs of white space made one space, trimmed. Returns undefined when a character remains that
 * X12 cannot carry, or that is one of the file's delimiters: the caller holds the claim and says so.
 */
export function toX12Text(value: string, d: X12Delimiters = DEFAULT_DELIMITERS): string | undefined {
  let v = value;
   
  if (!/^[\x20-\x7e]*$/.test(v)) {
    v = v
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[\u2018\u2019\u201a\u2032]/g, "'")
      .replace(/[\u201c\u201d\u201e\u2033]/g, '"')
      .replace(/[\u2010-\u2015\u2212]/g, '-')
      .replace(/[\u00a0\t\r\n\f\v]/g, ' ')
      .replace(/\u00df/g, 'ss')
      .replace(/[\u00c6]/g, 'AE')
      .replace(/[\u00e6]/g, 'ae')
      .replace(/[\u00d8]/g, 'O')
      .replace(/[\u00f8]/g, 'o');
  }
  v = v.replace(/ {2,}/g, ' ').trim();
  if (!ALLOWED.test(v)) return undefined;
  for (const sep of [d.element, d.component, d.repetition, d.segment]) if (v.includes(sep)) return undefined;
  return v;
}

/** 'YYYY-MM-DD' → CCYYMMDD (X12 D8). */
export function x12Date(iso: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(iso)) throw new RangeError(`not an ISO date: "${iso}"`);
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

/**
 * A decimal amount or quantity as X12 R: no leading zeros, no trailing fraction zeros, no
 * trailing point ("185.00" → "185", "62.50" → "62.5"), as X12.6 asks.
 */
export function x12Decimal(value: string): string {
  const n = normalizeDecimal(value, 0);
  if (n === undefined) throw new RangeError(`not a decimal number: "${value}"`);
  return n;
}

/** An element: a value, a composite (components), or nothing. */
export type Element = string | undefined | null | readonly (string | undefined | null)[];

/**
 * Writes segments. Trailing empty elements and components are dropped (X12 forbids them), values
 * are checked against the character set and the delimiters, and segments are counted (for SE01).
 */
export class X12Writer {
  private buffer: string[] = [];
  private size = 0;
  /** Segments written since the last `resetCount`. */
  count = 0;
  private readonly terminator: string;

  constructor(
    readonly d: X12Delimiters,
    private readonly sink: (chunk: string) => void,
    private readonly chunkSize = 64 * 1024,
  ) {
    this.terminator = d.segment + (d.newline ? '\n' : '');
  }

  segment(id: string, ...elements: Element[]): void {
    let last = elements.length;
    while (last > 0 && isEmpty(elements[last - 1])) last--;
    let s = id;
    for (let i = 0; i < last; i++) {
      s += this.d.element;
      const e = elements[i];
      if (e === undefined || e === null) continue;
      if (typeof e === 'string') {
        s += this.check(e, id, i + 1);
        continue;
      }
      let lastC = e.length;
      while (lastC > 0 && (e[lastC - 1] === undefined || e[lastC - 1] === null || e[lastC - 1] === '')) lastC--;
      for (let c = 0; c < lastC; c++) {
        if (c > 0) s += this.d.component;
        const v = e[c];
        if (v !== undefined && v !== null) s += this.check(v, id, i + 1);
      }
    }
    this.raw(s + this.terminator);
    this.count++;
  }

  /** Writes text as is (the ISA segment, whose fixed widths the caller builds). */
  raw(text: string): void {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size >= this.chunkSize) this.flush();
  }

  resetCount(): void {
    this.count = 0;
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    this.sink(this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }

  private check(v: string, id: string, element: number): string {
    // Values reach the writer already made X12 text (toX12Text) by the claim checks; this guards
    // the file: a delimiter inside a value would silently shift every element after it.
    if (!ALLOWED.test(v) || v.includes(this.d.element) || v.includes(this.d.component) || v.includes(this.d.repetition) || v.includes(this.d.segment)) {
      throw new X12ValueError(`value contains a character X12 cannot carry or a delimiter`, `${id}-${String(element).padStart(2, '0')}`);
    }
    if (v !== v.trim()) throw new X12ValueError('value has leading or trailing spaces', `${id}-${String(element).padStart(2, '0')}`);
    return v;
  }
}

function isEmpty(e: Element): boolean {
  if (e === undefined || e === null || e === '') return true;
  if (typeof e === 'string') return false;
  return e.every((c) => c === undefined || c === null || c === '');
}
