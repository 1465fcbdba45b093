import { randomBytes } from 'node:crypto';
import { STANDARD_DELIMITERS, encodingCharacters, type Delimiters } from './delimiters';
import { HL7_ERROR_TEXT, type Hl7ErrorCode, type Hl7Location } from './errors';
import { escapeHl7 } from './escape';
import { formatHl7DateTime } from './datetime';
import type { Message } from './message';

/** MSA-1 acknowledgement codes: original mode (A*) and enhanced-mode accept acknowledgements (C*). */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface AckError {
  code: Hl7ErrorCode;
  /** Severity, HL7 table 0516: E error, W warning, I information. */
  severity?: 'E' | 'W' | 'I';
  location?: Hl7Location;
  /** Plain-language text for ERR-8; must not contain PHI. */
  message: string;
}

export interface AckOptions {
  code: AckCode;
  /** MSA-3 text (kept for receivers of v2.3/2.4 that show it). */
  text?: string;
  errors?: AckError[];
  /** This ACK's own MSH-10; generated when omitted. */
  controlId?: string;
  now?: Date;
  /** Used when there is no original message (non-HL7 content). */
  sendingApplication?: string;
  sendingFacility?: string;
  /** MSA-2 when there is no original message to take it from (e.g. a batch's BHS-11). */
  acknowledgedControlId?: string;
}

let counter = 0;
const instanceTag = randomBytes(3).toString('hex').toUpperCase();

/**
 * A 20-character control id, unique across processes: time, a per-process random tag and a
 * counter. MSH-10 is ST(20) in v2.5, so it must not be longer.
 */
export function newControlId(now = Date.now()): string {
  counter = (counter + 1) % 0x1000000;
  return ('A' + now.toString(36).toUpperCase() + instanceTag + counter.toString(36).toUpperCase().padStart(5, '0')).slice(0, 20);
}

function ers(d: Delimiters, loc: Hl7Location | undefined): string {
  if (!loc) return '';
  const p = (n: number | undefined): string => (n === undefined ? '' : String(n));
  return [loc.segment, p(loc.sequence ?? 1), p(loc.field), p(loc.repetition), p(loc.component), p(loc.subcomponent)].join(d.component).replace(new RegExp(`\\${d.component}+$`), '');
}

/**
 * Builds an acknowledgement for `original` (or for unreadable input when it is undefined):
 * MSH with sending and receiving application/facility swapped and its own MSH-10, MSA-2 = the
 * original MSH-10, and one ERR per error. ERR-1 (ELD, v2.3/2.4) and ERR-2/3/4/8 (v2.5+) are
 * both filled so that receivers of either generation can read the location and the reason.
 * The ACK uses the original's delimiters, so the copied MSH-3..6 values stay valid as written.
 */
export function buildAck(original: Message | undefined, opts: AckOptions): string {
  const d = original?.delimiters ?? STANDARD_DELIMITERS;
  const f = d.field;
  const msh = original?.segment('MSH');
  const raw = (n: number): string => (msh ? msh.rawField(n) : '');
  const now = opts.now ?? new Date();
  const controlId = opts.controlId ?? newControlId(now.getTime());
  const event = original ? original.get('MSH-9.2') : '';
  const version = (original && original.get('MSH-12')) || '2.5.1';
  const processingId = (original && original.get('MSH-11')) || 'P';
  const sendingApp = msh ? raw(5) : escapeHl7(opts.sendingApplication ?? 'HL7-CLAIMS', d);
  const sendingFac = msh ? raw(6) : escapeHl7(opts.sendingFacility ?? '', d);
  const segs: string[] = [];
  segs.push(
    [
      'MSH', encodingCharacters(d), sendingApp, sendingFac, raw(3), raw(4), formatHl7DateTime(now), '',
      ['ACK', escapeHl7(event, d), 'ACK'].join(d.component), escapeHl7(controlId, d), escapeHl7(processingId, d), escapeHl7(version, d),
    ].join(f),
  );
  const acked = opts.acknowledgedControlId ?? original?.controlId ?? '';
  const msa = ['MSA', opts.code, escapeHl7(acked, d)];
  if (opts.text) msa.push(escapeHl7(opts.text, d));
  segs.push(msa.join(f));
  for (const e of opts.errors ?? []) {
    const codeText = HL7_ERROR_TEXT[e.code];
    const eld = e.location
      ? [e.location.segment, String(e.location.sequence ?? 1), e.location.field === undefined ? '' : String(e.location.field), [e.code, escapeHl7(codeText, d), 'HL70357'].join(d.subcomponent || ' ')].join(d.component)
      : ['', '', '', [e.code, escapeHl7(codeText, d), 'HL70357'].join(d.subcomponent || ' ')].join(d.component);
    segs.push(
      ['ERR', eld, ers(d, e.location), [e.code, escapeHl7(codeText, d), 'HL70357'].join(d.component), e.severity ?? 'E', '', '', '', escapeHl7(e.message, d)].join(f),
    );
  }
  return segs.join('\r') + '\r';
}
