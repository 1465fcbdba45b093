/**
 * Readers for the clearinghouse's answers to an 837: the 999 implementation acknowledgement
 * (005010X231A1: which transaction sets of which functional group were accepted, and the syntax
 * errors found) and the 277CA claim acknowledgement (005010X214: each claim's status category
 * and status code). Codes are explained in plain words (X12 999 code lists 620, 621, 716, 717, 718;
 * claim status category codes, external code list 507).
 */
import { checkEnvelopes, el, X12ReadError, type X12Segment } from './reader';

export interface Ack999ElementError {
  /** IK4-01: element position (and component). */
  position: string;
  /** IK4-02: data element reference number. */
  reference: string;
  code: string;
  value: string;
  description: string;
}

export interface Ack999SegmentError {
  segment: string;
  /** IK3-02: position of the segment in the transaction set. */
  position: string;
  loop: string;
  code: string;
  description: string;
  elements: Ack999ElementError[];
  /** CTX: business context, e.g. "CLM01:HC123" naming the claim. */
  context: string[];
}

export interface Ack999Transaction {
  /** AK2-02: the ST02 acknowledged. */
  controlNumber: string;
  /** IK5-01: A accepted, E accepted with errors, R/M/W/X rejected. */
  status: string;
  statusDescription: string;
  /** IK5-02..06: why. */
  reasons: { code: string; description: string }[];
  errors: Ack999SegmentError[];
}

export interface Ack999 {
  /** AK1-02: the GS06 of the 837 functional group acknowledged. */
  groupControlNumber: string;
  /** AK1-03: its GS08 version. */
  version: string;
  /** AK9-01: A, E, P partially accepted, R, M, W, X. */
  groupStatus: string;
  groupStatusDescription: string;
  transactions: Ack999Transaction[];
}

const ACK_CODE: Record<string, string> = {
  A: 'accepted', E: 'accepted, but errors were noted', M: 'rejected: message authentication code (MAC) failed', P: 'partially accepted: at least one transaction set was rejected',
  R: 'rejected', W: 'rejected: assurance failed validity tests', X: 'rejected: content after decryption could not be analyzed',
};

/** Code list 718 (IK5-02..06) and 716 (AK9-05..09): why a transaction set or group was rejected. */
const TRANSACTION_ERROR: Record<string, string> = {
  '1': 'transaction set not supported', '2': 'transaction set trailer (SE) missing', '3': 'ST02 and SE02 control numbers do not match',
  '4': 'number of included segments (SE01) does not match the actual count', '5': 'one or more segments in error', '6': 'missing or invalid transaction set identifier',
  '7': 'missing or invalid transaction set control number', '8': 'authentication key name unknown', '9': 'encryption key name unknown', '10': 'requested service not available',
  '11': 'unknown security recipient', '12': 'incorrect message length', '13': 'message authentication code failed', '15': 'unknown security originator',
  '16': 'syntax error in decrypted text', '17': 'security not supported', '18': 'transaction set not in functional group', '19': 'invalid transaction set implementation convention reference',
  '23': 'transaction set control number not unique within the functional group', '24': 'S3E security end segment missing for S3S', '25': 'S3S security start segment missing for S3E',
  '26': 'S4E security end segment missing for S4S', '27': 'S4S security start segment missing for S4E', I5: 'implementation one or more segments in error', I6: 'implementation convention not supported',
};

/** Code list 620 (IK3-04): what is wrong with a segment. */
const SEGMENT_ERROR: Record<string, string> = {
  '1': 'unrecognized segment id', '2': 'unexpected segment', '3': 'required segment missing', '4': 'loop occurs over its maximum times', '5': 'segment exceeds its maximum use',
  '6': 'segment not in the defined transaction set', '7': 'segment not in proper sequence', '8': 'segment has data element errors', I4: 'a segment the implementation does not use is present',
  I6: 'an implementation-dependent segment is missing', I7: 'implementation loop occurs under its minimum times', I8: 'implementation segment below its minimum use',
  I9: 'an implementation-dependent segment that is not used is present',
};

/** Code list 621 (IK4-03): what is wrong with an element. */
const ELEMENT_ERROR: Record<string, string> = {
  '1': 'required data element missing', '2': 'conditional required data element missing', '3': 'too many data elements', '4': 'data element too short', '5': 'data element too long',
  '6': 'invalid character in data element', '7': 'invalid code value', '8': 'invalid date', '9': 'invalid time', '10': 'exclusion condition violated', '12': 'too many repetitions',
  '13': 'too many components', I6: 'code value not used in the implementation', I9: 'implementation-dependent data element missing', I10: 'a data element the implementation does not use is present',
  I11: 'implementation too few repetitions', I12: 'implementation pattern match failure', I13: 'an implementation-dependent data element that is not used is present',
};

const words = (table: Record<string, string>, code: string): string => table[code] ?? `code ${code}`;

/** Reads a 999. Throws X12ReadError naming the segment when the file is not a 999 we can apply. */
export function read999(segments: X12Segment[]): Ack999 {
  checkEnvelopes(segments);
  const st = segments.find((s) => s.id === 'ST');
  if (!st || el(st, 1) !== '999') throw new X12ReadError('not a 999 acknowledgement (ST01 is not 999)', st ? `segment ${st.position} (ST)` : 'ST');
  const ak1 = segments.find((s) => s.id === 'AK1');
  if (!ak1 || el(ak1, 1) !== 'HC') throw new X12ReadError('AK1 missing or not for a health care claim group (AK1-01 HC)', ak1 ? `segment ${ak1.position} (AK1)` : 'AK1');
  const ak9 = segments.find((s) => s.id === 'AK9');
  if (!ak9) throw new X12ReadError('AK9 (functional group response trailer) missing', 'AK9');
  const transactions: Ack999Transaction[] = [];
  let tx: Ack999Transaction | undefined;
  let seg: Ack999SegmentError | undefined;
  for (const s of segments) {
    if (s.id === 'AK2') {
      tx = { controlNumber: el(s, 2), status: '', statusDescription: '', reasons: [], errors: [] };
      transactions.push(tx);
      seg = undefined;
    } else if (s.id === 'IK3' && tx) {
      seg = { segment: el(s, 1), position: el(s, 2), loop: el(s, 3), code: el(s, 4), description: words(SEGMENT_ERROR, el(s, 4)), elements: [], context: [] };
      tx.errors.push(seg);
    } else if (s.id === 'CTX' && seg) {
      seg.context.push(s.elements.map((e) => e.join(':')).filter((x) => x !== '').join(' '));
    } else if (s.id === 'IK4' && seg) {
      const position = s.elements[0]?.filter((c) => c !== '').join('.') ?? '';
      seg.elements.push({ position, reference: el(s, 2), code: el(s, 3), value: el(s, 4), description: words(ELEMENT_ERROR, el(s, 3)) });
    } else if (s.id === 'IK5' && tx) {
      if (el(s, 1) === '') throw new X12ReadError('IK5-01 (transaction set acknowledgment code) missing', `segment ${s.position} (IK5)`);
      tx.status = el(s, 1);
      tx.statusDescription = words(ACK_CODE, el(s, 1));
      for (let i = 2; i <= 6; i++) if (el(s, i) !== '') tx.reasons.push({ code: el(s, i), description: words(TRANSACTION_ERROR, el(s, i)) });
    }
  }
  for (const t of transactions) if (t.status === '') throw new X12ReadError(`AK2 for ST02 ${t.controlNumber} has no IK5`, 'IK5');
  return { groupControlNumber: el(ak1, 2), version: el(ak1, 3), groupStatus: el(ak9, 1), groupStatusDescription: words(ACK_CODE, el(ak9, 1)), transactions };
}

/** Claim status category codes (STC01-1, external code list 507). */
export const CLAIM_STATUS_CATEGORY: Record<string, string> = {
  A0: 'acknowledgement: forwarded to another entity', A1: 'acknowledgement: received (not yet validated)', A2: 'acknowledgement: accepted into the adjudication system',
  A3: 'acknowledgement: returned as unprocessable claim', A4: 'acknowledgement: not found', A5: 'acknowledgement: split claim', A6: 'acknowledgement: rejected for missing information',
  A7: 'acknowledgement: rejected for invalid information', A8: 'acknowledgement: rejected for relational field in error',
};

export interface ClaimStatus277 {
  /** STC01-1, STC01-2, STC01-3. */
  category: string;
  code: string;
  entity: string;
  description: string;
  /** STC04: total claim charge as the payer read it. */
  amount: string;
}

export interface ClaimAck277 {
  /** TRN*2 in loop 2200D: our CLM01. */
  patientControlNumber: string;
  /** REF*1K: the payer's claim control number (needed for corrections and voids). */
  payerClaimControlNumber?: string;
  statuses: ClaimStatus277[];
  /** TRN*2 in loop 2200B: the BHT03 of the 837 transaction, when the sender echoes it. */
  batchTrace?: string;
  position: number;
}

export interface Ack277 {
  claims: ClaimAck277[];
}

/** Reads a 277CA (claim-level statuses under HL PT). */
export function read277ca(segments: X12Segment[]): Ack277 {
  checkEnvelopes(segments);
  const st = segments.find((s) => s.id === 'ST');
  if (!st || el(st, 1) !== '277') throw new X12ReadError('not a 277 claim acknowledgement (ST01 is not 277)', st ? `segment ${st.position} (ST)` : 'ST');
  const claims: ClaimAck277[] = [];
  let level = '';
  let batchTrace: string | undefined;
  let claim: ClaimAck277 | undefined;
  for (const s of segments) {
    if (s.id === 'HL') {
      level = el(s, 3);
      claim = undefined;
      if (level === 'PT') {
        claim = { patientControlNumber: '', statuses: [], batchTrace, position: s.position };
        claims.push(claim);
      }
    } else if (s.id === 'TRN' && el(s, 1) === '2') {
      if (level === '21') batchTrace = el(s, 2);
      else if (claim) claim.patientControlNumber = el(s, 2);
    } else if (s.id === 'STC' && claim) {
      // STC01, and STC10/STC11 when the payer sends more than one status.
      for (const n of [1, 10, 11]) {
        const category = el(s, n, 1);
        if (category === '') continue;
        claim.statuses.push({ category, code: el(s, n, 2), entity: el(s, n, 3), description: CLAIM_STATUS_CATEGORY[category] ?? `category ${category}`, amount: el(s, 4) });
      }
    } else if (s.id === 'REF' && el(s, 1) === '1K' && claim) {
      claim.payerClaimControlNumber = el(s, 2);
    }
  }
  for (const c of claims) {
    if (c.patientControlNumber === '') throw new X12ReadError('claim status without its patient control number (TRN*2 in loop 2200D)', `segment ${c.position} (HL)`);
    if (c.statuses.length === 0) throw new X12ReadError(`claim ${c.patientControlNumber} has no STC`, `segment ${c.position} (HL)`);
  }
  return { claims };
}

/** Accepted (A1, A2), rejected (A3, A4, A6, A7, A8), or neither (A0 forwarded, A5 split). */
export function outcomeOfCategory(category: string): 'accepted' | 'rejected' | undefined {
  if (category === 'A1' || category === 'A2') return 'accepted';
  if (['A3', 'A4', 'A6', 'A7', 'A8'].includes(category)) return 'rejected';
  return undefined;
}
