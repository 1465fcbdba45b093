import { readDelimiters } from './delimiters';
import { Hl7Error, Hl7ErrorCode } from './errors';

export interface BatchEnvelope {
  /** FHS-11 / BHS-11 control ids, when present (used as MSA-2 of a batch acknowledgement). */
  fileControlId?: string;
  batchControlIds: string[];
  /** The first header segment's text (FHS or BHS), for its sending application/facility. */
  headerSegment?: string;
}

export interface SplitResult {
  /** Each message's text exactly as it appears in the input (its own separators kept). */
  messages: string[];
  envelope?: BatchEnvelope;
  /** Problems with the envelope; when not empty the batch should be refused as a whole. */
  errors: Hl7Error[];
}

const LINE_RE = /\r\n|\r|\n/g;

function controlId(line: string): string {
  const { delimiters } = readDelimiters(line);
  const parts = line.split(delimiters.field);
  // Header segments: field n is parts[n-1] (FHS-1 is the separator itself).
  return parts[10] ?? '';
}

/**
 * Splits a file or frame into messages: plain multi-message files (split at each MSH) and
 * FHS/BHS/BTS/FTS batch envelopes, whose structure and counts (BTS-1, FTS-1) are checked.
 */
export function splitBatch(text: string): SplitResult {
  const messages: string[] = [];
  const errors: Hl7Error[] = [];
  let envelope: BatchEnvelope | undefined;
  let msgStart = -1;
  let inFile = false;
  let fileClosed = false;
  let inBatch = false;
  let batchCount = 0;
  let messagesInBatch = 0;
  let lineNo = 0;

  const closeMessage = (end: number): void => {
    if (msgStart >= 0) {
      messages.push(text.slice(msgStart, end));
      msgStart = -1;
      messagesInBatch++;
    }
  };

  // A byte-order mark before the first segment is not part of it.
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (pos <= text.length) {
    LINE_RE.lastIndex = pos;
    const m = LINE_RE.exec(text);
    const end = m ? m.index : text.length;
    const next = m ? m.index + m[0].length : text.length + 1;
    const line = text.slice(pos, end);
    lineNo++;
    const name = line.slice(0, 3);
    const blank = line.trim() === '';
    if (!blank) {
      if (fileClosed) {
        errors.push(new Hl7Error(`segment ${name} after FTS (line ${lineNo})`, Hl7ErrorCode.SegmentSequenceError, { segment: name }));
      }
      if (name === 'FHS') {
        closeMessage(pos);
        if (inFile || lineNo > 1) errors.push(new Hl7Error('FHS must be the first segment and appear once', Hl7ErrorCode.SegmentSequenceError, { segment: 'FHS' }));
        inFile = true;
        envelope ??= { batchControlIds: [] };
        envelope.fileControlId = safeControlId(line, errors, 'FHS');
        envelope.headerSegment ??= line;
      } else if (name === 'BHS') {
        closeMessage(pos);
        if (inBatch) errors.push(new Hl7Error('BHS before the previous batch was closed by BTS', Hl7ErrorCode.SegmentSequenceError, { segment: 'BHS', sequence: batchCount + 1 }));
        inBatch = true;
        batchCount++;
        messagesInBatch = 0;
        envelope ??= { batchControlIds: [] };
        envelope.batchControlIds.push(safeControlId(line, errors, 'BHS'));
        envelope.headerSegment ??= line;
      } else if (name === 'BTS') {
        closeMessage(pos);
        if (!inBatch) errors.push(new Hl7Error('BTS without BHS', Hl7ErrorCode.SegmentSequenceError, { segment: 'BTS' }));
        const count = line.split(line.charAt(3))[1] ?? '';
        if (count !== '' && Number(count) !== messagesInBatch) {
          errors.push(new Hl7Error(`BTS-1 says ${count} messages, the batch holds ${messagesInBatch}`, Hl7ErrorCode.DataTypeError, { segment: 'BTS', field: 1 }));
        }
        inBatch = false;
      } else if (name === 'FTS') {
        closeMessage(pos);
        if (!inFile) errors.push(new Hl7Error('FTS without FHS', Hl7ErrorCode.SegmentSequenceError, { segment: 'FTS' }));
        if (inBatch) errors.push(new Hl7Error('FTS before the batch was closed by BTS', Hl7ErrorCode.SegmentSequenceError, { segment: 'FTS' }));
        const count = line.split(line.charAt(3))[1] ?? '';
        if (count !== '' && Number(count) !== batchCount) {
          errors.push(new Hl7Error(`FTS-1 says ${count} batches, the file holds ${batchCount}`, Hl7ErrorCode.DataTypeError, { segment: 'FTS', field: 1 }));
        }
        inFile = false;
        fileClosed = true;
      } else if (name === 'MSH') {
        closeMessage(pos);
        msgStart = pos;
      } else if (msgStart < 0) {
        errors.push(new Hl7Error(`segment ${name} outside a message (line ${lineNo}): expected MSH`, Hl7ErrorCode.SegmentSequenceError, { segment: name }));
      }
    }
    pos = next;
  }
  closeMessage(text.length);
  if (envelope) {
    if (inBatch) errors.push(new Hl7Error('batch not closed by BTS', Hl7ErrorCode.SegmentSequenceError, { segment: 'BTS' }));
    if (inFile) errors.push(new Hl7Error('file not closed by FTS', Hl7ErrorCode.SegmentSequenceError, { segment: 'FTS' }));
  }
  if (messages.length === 0 && errors.length === 0) {
    errors.push(new Hl7Error('no MSH segment found', Hl7ErrorCode.SegmentSequenceError, { segment: 'MSH' }));
  }
  return { messages, envelope, errors };
}

function safeControlId(line: string, errors: Hl7Error[], seg: string): string {
  try {
    return controlId(line);
  } catch (e) {
    errors.push(e instanceof Hl7Error ? e : new Hl7Error(`${seg} is not readable`, Hl7ErrorCode.SegmentSequenceError, { segment: seg }));
    return '';
  }
}

/** True when the text starts (after blank lines) with a batch or file header. */
export function isBatch(text: string): boolean {
  const t = text.replace(/^[\s\uFEFF]+/, '');
  return t.startsWith('FHS') || t.startsWith('BHS');
}
