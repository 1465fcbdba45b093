import { Hl7ParseError } from './errors';

/** The message's delimiters, read from MSH-1 and MSH-2 (HL7 v2 chapter 2, "message delimiters"). */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  /** '' when MSH-2 declares no escape character. */
  escape: string;
  /** '' when MSH-2 declares no subcomponent separator. */
  subcomponent: string;
  /** v2.7 truncation character; '' when absent. */
  truncation: string;
}

export const STANDARD_DELIMITERS: Readonly<Delimiters> = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
  truncation: '',
});

const BAD_DELIMITER = /[A-Za-z0-9\r\n]/;

/**
 * Reads the delimiters of a header segment (MSH, FHS or BHS) starting at `start`.
 * MSH-2 is read positionally, so a three-character MSH-2 such as `^~}` gives escape `}` and no
 * subcomponent separator, as the standard's ordering says.
 */
export function readDelimiters(text: string, start = 0): { delimiters: Delimiters; encodingEnd: number } {
  const field = text.charAt(start + 3);
  if (field === '' || BAD_DELIMITER.test(field)) {
    throw new Hl7ParseError('MSH-1 field separator is missing or not a valid delimiter', { segment: 'MSH', field: 1 });
  }
  let end = start + 4;
  while (end < text.length) {
    const c = text.charAt(end);
    if (c === field || c === '\r' || c === '\n') break;
    end++;
  }
  const enc = text.slice(start + 4, end);
  if (enc.length < 1 || enc.length > 5) {
    throw new Hl7ParseError('MSH-2 encoding characters must be 1 to 5 characters', { segment: 'MSH', field: 2 });
  }
  const seen = new Set<string>([field]);
  for (const c of enc) {
    if (BAD_DELIMITER.test(c) || seen.has(c)) {
      throw new Hl7ParseError('MSH-2 encoding characters are not distinct delimiters', { segment: 'MSH', field: 2 });
    }
    seen.add(c);
  }
  return {
    delimiters: {
      field,
      component: enc.charAt(0),
      repetition: enc.charAt(1),
      escape: enc.charAt(2),
      subcomponent: enc.charAt(3),
      truncation: enc.charAt(4),
    },
    encodingEnd: end,
  };
}

/** MSH-2 as it is written for these delimiters. */
export function encodingCharacters(d: Delimiters): string {
  return d.component + d.repetition + d.escape + d.subcomponent + d.truncation;
}
