import { TextDecoder } from 'node:util';
/** Character sets a listener can be configured with. */
export type Hl7Charset = 'utf-8' | 'iso-8859-1' | 'windows-1252';

const decoders: Record<Hl7Charset, TextDecoder> = {
  'utf-8': new TextDecoder('utf-8'),
  'iso-8859-1': new TextDecoder('latin1'),
  'windows-1252': new TextDecoder('windows-1252'),
};

/** HL7 table 0211 values (MSH-18) mapped to a decoder; undefined for values we cannot honour. */
export function charsetOfMsh18(value: string): Hl7Charset | undefined {
  const v = value.trim().toUpperCase();
  if (v === '') return undefined;
  if (v === 'UNICODE UTF-8' || v === 'UTF-8' || v === 'ASCII') return 'utf-8';
  if (v === '8859/1' || v === 'ISO-8859-1' || v === 'ISO_IR 100') return 'iso-8859-1';
  if (v === 'WINDOWS-1252' || v === 'CP1252') return 'windows-1252';
  return undefined;
}

/**
 * MSH-18 of the first MSH in the bytes (within the first 4 KiB), read from the bytes without
 * decoding them: MSH is ASCII whatever the character set, and a frame's text is decoded once,
 * with the character set this finds.
 */
export function readMsh18(bytes: Buffer): string {
  const limit = Math.min(bytes.length, 4096);
  const at = bytes.subarray(0, limit).indexOf('MSH', 0, 'latin1');
  if (at < 0 || at + 3 >= limit) return '';
  const sep = bytes[at + 3];
  let end = at;
  while (end < limit && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
  // MSH-1 is the separator itself, so MSH-18 is what follows the 17th separator of the line.
  let start = -1;
  for (let i = at, seen = 0; i < end; i++) {
    if (bytes[i] === sep && ++seen === 17) {
      start = i + 1;
      break;
    }
  }
  if (start < 0) return '';
  const component = at + 4 < end ? bytes[at + 4] : 0x5e;
  let stop = start;
  while (stop < end && bytes[stop] !== sep && bytes[stop] !== component) stop++;
  return bytes.toString('latin1', start, stop);
}

/** Decodes stored bytes with the character set they were received in. */
export function decodeWithCharset(bytes: Buffer, charset: Hl7Charset): string {
  return decoders[charset].decode(bytes);
}

/** Decodes a frame or file: MSH-18 when it names a character set we know, else the listener's default. */
export function decodeHl7Bytes(bytes: Buffer, fallback: Hl7Charset): { text: string; charset: Hl7Charset } {
  const charset = charsetOfMsh18(readMsh18(bytes)) ?? fallback;
  return { text: decodeWithCharset(bytes, charset), charset };
}

/** Encodes text back to bytes in a charset (used for messages cut out of a batch and for ACKs). */
export function encodeHl7Text(text: string, charset: Hl7Charset): Buffer {
  if (charset === 'utf-8') return Buffer.from(text, 'utf8');
  // Latin-1 and windows-1252 agree on everything but 0x80-0x9F; characters outside are replaced.
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c < 0x100 ? c : charset === 'windows-1252' ? (WIN1252_REVERSE.get(c) ?? 0x3f) : 0x3f;
  }
  return out;
}

const WIN1252_REVERSE = new Map<number, number>();
for (let b = 0x80; b < 0xa0; b++) {
  const ch = decoders['windows-1252'].decode(Buffer.from([b])).charCodeAt(0);
  if (ch !== 0xfffd) WIN1252_REVERSE.set(ch, b);
}
