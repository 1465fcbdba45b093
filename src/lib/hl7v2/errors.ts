/**
 * Where in a message something went wrong, in HL7 terms (ERR-2, data type ERL).
 * Positions are 1-based, as the standard counts them.
 */
export interface Hl7Location {
  segment: string;
  /** Occurrence of the segment in the message (FT1[2] → 2). */
  sequence?: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

/** HL7 table 0357 (message error condition codes) entries this project emits. */
export const Hl7ErrorCode = {
  SegmentSequenceError: '100',
  RequiredFieldMissing: '101',
  DataTypeError: '102',
  TableValueNotFound: '103',
  UnsupportedMessageType: '200',
  UnsupportedEventCode: '201',
  UnsupportedProcessingId: '202',
  UnsupportedVersionId: '203',
  UnknownKeyIdentifier: '204',
  DuplicateKeyIdentifier: '205',
  ApplicationRecordLocked: '206',
  ApplicationInternalError: '207',
} as const;
export type Hl7ErrorCode = (typeof Hl7ErrorCode)[keyof typeof Hl7ErrorCode];

export const HL7_ERROR_TEXT: Record<Hl7ErrorCode, string> = {
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
};

/** Renders a location the way people write it: `FT1[2]-7.1`. */
export function formatLocation(loc: Hl7Location): string {
  let s = loc.segment;
  if (loc.sequence !== undefined && loc.sequence > 1) s += `[${loc.sequence}]`;
  if (loc.field !== undefined) {
    s += `-${loc.field}`;
    if (loc.repetition !== undefined && loc.repetition > 1) s += `(${loc.repetition})`;
    if (loc.component !== undefined) {
      s += `.${loc.component}`;
      if (loc.subcomponent !== undefined) s += `.${loc.subcomponent}`;
    }
  }
  return s;
}

const LOCATION_RE = /^([A-Z0-9]{2,3})(?:\[(\d+)\])?(?:-(\d+)(?:\((\d+)\))?(?:\.(\d+)(?:\.(\d+))?)?)?$/;

/** The inverse of formatLocation (stored error locations are turned back into ERR-2). */
export function parseLocation(text: string): Hl7Location | undefined {
  const m = LOCATION_RE.exec(text);
  if (!m) return undefined;
  const n = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  return { segment: m[1] as string, sequence: n(m[2]), field: n(m[3]), repetition: n(m[4]), component: n(m[5]), subcomponent: n(m[6]) };
}

/**
 * A problem with the content of a message. The text must never carry field values (PHI):
 * it names the place and the rule, not the data.
 */
export class Hl7Error extends Error {
  constructor(
    readonly detail: string,
    readonly code: Hl7ErrorCode,
    readonly location?: Hl7Location,
  ) {
    super(location ? `${formatLocation(location)}: ${detail}` : detail);
    this.name = 'Hl7Error';
  }
}

/** The text is not an HL7 v2 message at all (no MSH, no usable delimiters). */
export class Hl7ParseError extends Hl7Error {
  constructor(message: string, location?: Hl7Location) {
    super(message, Hl7ErrorCode.SegmentSequenceError, location);
    this.name = 'Hl7ParseError';
  }
}
