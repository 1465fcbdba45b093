import { TextDecoder } from 'node:util';
import type { Delimiters } from './delimiters';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeHex(hex: string): string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  try {
    return utf8.decode(bytes);
  } catch {
    // Not UTF-8: the bytes are single-byte characters (ISO-8859-1).
    return bytes.toString('latin1');
  }
}

/**
 * Decodes HL7 escape sequences (v2.5 chapter 2.7): \F\ \S\ \T\ \R\ \E\ for the delimiters,
 * \Xhh..\ for hexadecimal data, \.br\ for a line break. Highlighting (\H\ \N\) and other
 * formatting commands carry no text and are dropped; an unknown or unterminated sequence is
 * kept literally so that nothing is lost.
 */
export function unescapeHl7(value: string, d: Delimiters): string {
  const esc = d.escape;
  if (esc === '') return value;
  let i = value.indexOf(esc);
  if (i < 0) return value;
  let out = '';
  let last = 0;
  while (i >= 0) {
    const close = value.indexOf(esc, i + 1);
    if (close < 0) break;
    const body = value.slice(i + 1, close);
    let replacement: string | undefined;
    switch (body) {
      case 'F': replacement = d.field; break;
      case 'S': replacement = d.component; break;
      case 'T': replacement = d.subcomponent; break;
      case 'R': replacement = d.repetition; break;
      case 'E': replacement = esc; break;
      case 'P': replacement = d.truncation || undefined; break;
      case '.br': replacement = '\n'; break;
      case 'H':
      case 'N':
        replacement = '';
        break;
      default:
        if (body.charAt(0) === 'X') replacement = decodeHex(body.slice(1));
        else if (/^\.(sp|in|ti|sk|ce|fi|nf)/.test(body)) replacement = '';
    }
    if (replacement === undefined) {
      // Unknown sequence: keep the opening escape character literally and look further on.
      i = value.indexOf(esc, i + 1);
      continue;
    }
    out += value.slice(last, i) + replacement;
    last = close + 1;
    i = value.indexOf(esc, last);
  }
  return last === 0 ? value : out + value.slice(last);
}

function hexOf(c: string): string {
  return Buffer.from(c, 'utf8').toString('hex').toUpperCase();
}

/**
 * Encodes text for one HL7 primitive value: delimiters become \F\ \S\ \T\ \R\ \E\, and control
 * characters (CR, LF, others below 0x20) become \Xhh\, so the value can never break framing or
 * segment boundaries. `unescapeHl7(escapeHl7(s)) === s` for every string.
 */
export function escapeHl7(value: string, d: Delimiters): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    let rep: string | undefined;
    if (c === d.escape && c !== '') rep = 'E';
    else if (c === d.field) rep = 'F';
    else if (c === d.component) rep = 'S';
    else if (c === d.subcomponent && c !== '') rep = 'T';
    else if (c === d.repetition) rep = 'R';
    else if (c === d.truncation && c !== '') rep = 'P';
    else if (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) rep = 'X' + hexOf(c);
    if (rep === undefined) continue;
    if (d.escape === '') {
      // No escape character declared: the delimiter cannot be represented; replace it.
      out += value.slice(last, i) + ' ';
    } else {
      out += value.slice(last, i) + d.escape + rep + d.escape;
    }
    last = i + 1;
  }
  return last === 0 ? value : out + value.slice(last);
}
