import { createHash } from 'node:crypto';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import {
  buildAck, checkEnvelope, decodeHl7Bytes, encodeHl7Text, formatLocation, Hl7Error, Hl7ErrorCode, isBatch, parseLocation, parseMessage,
  recoverSpaceSeparatedSegments, splitBatch, type AckCode, type AckError, type Hl7Charset, type Message,
} from '../../lib/hl7v2';
import { GroupCommitter } from '../../lib/group-commit';
import { MllpDecoder } from '../../lib/mllp';
import { logger } from '../../common/logger';
import { metrics } from '../../common/metrics';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config';
import { IntakeConnections } from './intake.connections';
import { describeDbError, IntakeRepository, TransientStoreError } from './intake.repository';
import { mapMessage } from './mapping/mapper';
import type { IntakeSource, PreparedMessage, StoredMessage } from './intake.types';

export interface FrameContext {
  source: IntakeSource;
  connectionId?: string;
  charset: Hl7Charset;
}

/** What to answer a frame with, and what was stored. */
export interface FrameResult {
  /** The ACK to send: exactly one per frame. */
  ack: string;
  stored: StoredMessage[];
  /** False when the database could not be reached: nothing was stored, the sender must resend. */
  durable: boolean;
}

export interface IngestSummary {
  messages: number;
  processed: number;
  duplicates: number;
  errors: number;
  rejected: number;
  ignored: number;
}

const SEVERITY: Record<AckCode, number> = { AA: 0, CA: 0, AE: 1, CE: 1, AR: 2, CR: 2 };

/** Segment separators normalised, trailing ones dropped: the same message resent over another channel hashes the same. */
function contentHash(text: string): Buffer {
  let normal = text.indexOf('\n') < 0 ? text : text.replace(/\r\n|\n/g, '\r');
  let end = normal.length;
  while (end > 0 && normal.charCodeAt(end - 1) <= 0x20) end--;
  if (end < normal.length) normal = normal.slice(0, end);
  return createHash('sha256').update(normal, 'utf8').digest();
}

interface Candidate {
  prepared: PreparedMessage;
  message?: Message;
  error?: Hl7Error;
}

/**
 * The intake pipeline, shared by MLLP, file ingest and reprocessing: decode, split, parse,
 * check, map (all pure), then store through group commit, then acknowledge from what was stored.
 */
@Injectable()
export class IntakeService implements OnModuleDestroy {
  private readonly log = logger('intake');
  private readonly committer: GroupCommitter<PreparedMessage, StoredMessage>;

  constructor(
    private readonly repository: IntakeRepository,
    private readonly connections: IntakeConnections,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.committer = new GroupCommitter((items) => {
      metrics.groupSize.observe(items.length);
      return this.repository.store(items);
    }, {
      maxBatch: config.INTAKE_BATCH_MAX,
      concurrency: config.INTAKE_CONCURRENCY,
      fillBatch: config.INTAKE_FILL_BATCH,
      fillWaitMs: config.INTAKE_FILL_WAIT_MS,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.committer.drain();
    await this.connections.close();
  }

  /** Waits for every message in flight to be stored (graceful shutdown). */
  drain(): Promise<void> {
    return this.committer.drain();
  }

  /** Prepares one message text: parse, envelope checks, mapping. Never throws. */
  prepare(text: string, raw: Buffer, ctx: FrameContext, batchControlId?: string): Candidate {
    const base = {
      source: ctx.source, connectionId: ctx.connectionId, raw, charset: ctx.charset, contentHash: contentHash(text), batchControlId,
      controlId: '', sendingApplication: '', sendingFacility: '', messageType: '', triggerEvent: '', version: '',
    };
    let message: Message;
    try {
      message = parseMessage(recoverSpaceSeparatedSegments(text) ?? text);
    } catch (e) {
      const error = e instanceof Hl7Error ? e : new Hl7Error('not readable as HL7 v2', Hl7ErrorCode.SegmentSequenceError);
      return { prepared: { ...base, status: 'rejected', ackCode: 'AR', error: `not an HL7 v2 message: ${error.detail}`, errorLocation: error.location && formatLocation(error.location) }, error };
    }
    const header = {
      controlId: message.get('MSH-10'),
      sendingApplication: message.getRaw('MSH-3'),
      sendingFacility: message.getRaw('MSH-4'),
      messageType: message.get('MSH-9.1'),
      triggerEvent: message.get('MSH-9.2'),
      version: message.get('MSH-12'),
    };
    const problems = checkEnvelope(message, { strict: this.config.MLLP_HEADER_CHECKS === 'strict' });
    const reject = problems.find((p) => p.kind === 'reject');
    const first = reject ?? problems[0];
    if (first) {
      const status = first.kind === 'reject' ? 'rejected' : 'error';
      return {
        prepared: { ...base, ...header, status, ackCode: first.kind === 'reject' ? 'AR' : 'AE', error: first.error.message, errorLocation: first.error.location && formatLocation(first.error.location) },
        message,
        error: first.error,
      };
    }
    try {
      const mapped = mapMessage(message);
      if (message.get('MSH-11') === '') mapped.warnings.push('MSH-11 processing id is missing: taken as P (production)');
      if (mapped.action === 'ignore') {
        return { prepared: { ...base, ...header, status: 'ignored', ackCode: 'AA', error: mapped.reason, mapped }, message };
      }
      return { prepared: { ...base, ...header, status: 'processed', ackCode: 'AA', mapped }, message };
    } catch (e) {
      // A defect in mapping must not leave the sender without an answer or lose the message: it is
      // stored in error (reprocessable once fixed) and answered AE.
      const error = e instanceof Hl7Error ? e : new Hl7Error('internal error while mapping the message; it is kept for reprocessing', Hl7ErrorCode.ApplicationInternalError);
      if (!(e instanceof Hl7Error)) this.log.error({ event: 'mapping_failed', controlId: header.controlId, err: e instanceof Error ? e.name : 'unknown' });
      return { prepared: { ...base, ...header, status: 'error', ackCode: 'AE', error: error.message, errorLocation: error.location && formatLocation(error.location) }, message, error };
    }
  }

  /** Splits a frame or file into candidates (a batch with a bad envelope is one candidate in error). */
  private candidates(bytes: Buffer, ctx: FrameContext): { list: Candidate[]; batch: boolean; batchControlId?: string } {
    const { text, charset } = decodeHl7Bytes(bytes, ctx.charset);
    const c = { ...ctx, charset };
    const trimmed = text.replace(/^[\s\uFEFF]+/, '');
    const multi = isBatch(trimmed) || (trimmed.startsWith('MSH') && /[\r\n]MSH/.test(trimmed));
    if (!multi) return { list: [this.prepare(text, bytes, c)], batch: false };
    const split = splitBatch(text);
    const batchControlId = split.envelope ? split.envelope.batchControlIds[0] ?? split.envelope.fileControlId : undefined;
    if (split.errors.length > 0) {
      const first = split.errors[0] as Hl7Error;
      const detail = split.errors.map((e) => e.message).join('; ');
      return {
        list: [{
          prepared: {
            source: c.source, connectionId: c.connectionId, raw: bytes, charset, contentHash: contentHash(text), batchControlId,
            controlId: batchControlId ?? '', sendingApplication: '', sendingFacility: '', messageType: trimmed.slice(0, 3), triggerEvent: '', version: '',
            status: 'error', ackCode: 'AE', error: `batch envelope: ${detail}`, errorLocation: first.location && formatLocation(first.location),
          },
          error: first,
        }],
        batch: true,
        batchControlId,
      };
    }
    const list = split.messages.map((m) => this.prepare(m, encodeHl7Text(m, charset), c, batchControlId));
    return { list, batch: true, batchControlId };
  }

  /**
   * Handles one MLLP frame: stores what it holds and returns its ACK. An ACK that says AA
   * is only built after the commit; when the database cannot be reached the answer is AR
   * (original mode) or CE (enhanced), and nothing is half-stored.
   */
  async receiveFrame(bytes: Buffer, ctx: FrameContext): Promise<FrameResult> {
    const { list, batch, batchControlId } = this.candidates(bytes, ctx);
    let stored: StoredMessage[];
    try {
      // The messages of one batch or file are stored together and in their order (groups of the
      // committer run side by side, which would let a later message of the file overtake an
      // earlier one); single messages from connections share the group commit.
      stored = list.length > 1 ? await this.repository.store(list.map((c) => c.prepared)) : await this.committer.submitAll(list.map((c) => c.prepared));
    } catch (e) {
      const transient = e instanceof TransientStoreError;
      metrics.unavailable.inc(list.length);
      metrics.dbErrors.inc({ transient: String(transient) });
      this.log.error({ event: 'store_failed', transient, connectionId: ctx.connectionId, controlIds: list.map((c) => c.prepared.controlId), ...describeDbError(transient ? e.cause : e) });
      return { ack: this.unavailableAck(list, batch, batchControlId), stored: [], durable: false };
    }
    for (const [i, s] of stored.entries()) {
      const p = list[i]?.prepared;
      const type = `${p?.messageType ?? ''}^${p?.triggerEvent ?? ''}`;
      // Label values from the sender's header are bounded to the shape of a message type.
      metrics.messages.inc({ type: /^[A-Z][A-Z0-9]{2}\^[A-Z0-9]{2,3}$/.test(type) ? type : 'other', status: s.status, ack: s.ackCode });
      this.log.info({ event: 'message_stored', messageId: s.messageId, controlId: p?.controlId, type: `${p?.messageType ?? ''}^${p?.triggerEvent ?? ''}`, status: s.status, ack: s.ackCode, charges: s.charges, connectionId: ctx.connectionId, reused: s.controlIdReused || undefined });
    }
    if (batch) return { ack: this.batchAck(list, stored, batchControlId), stored, durable: true };
    const only = list[0] as Candidate;
    return { ack: this.messageAck(only, stored[0] as StoredMessage), stored, durable: true };
  }

  private errorsOf(c: Candidate, s: { ackCode: AckCode; error?: string; errorLocation?: string }): AckError[] {
    if (s.ackCode === 'AA' || s.ackCode === 'CA') return [];
    if (c.error) return [{ code: c.error.code, location: c.error.location, message: c.error.detail }];
    const location = s.errorLocation === undefined ? undefined : parseLocation(s.errorLocation);
    const text = s.error ?? 'message not accepted';
    return [{ code: s.ackCode === 'AR' ? Hl7ErrorCode.UnsupportedMessageType : Hl7ErrorCode.DataTypeError, location, message: location ? text.replace(/^[^:]+: /, '') : text }];
  }

  /**
   * Exactly one ACK per frame. Original mode: AA/AE/AR. Enhanced mode (MSH-15/16 present): the
   * application ACK when MSH-16 asks for it for this outcome, else the commit ACK (CA/CR). Both are
   * only built after the commit, so a CA is never sent for something not durable; answering with
   * one frame keeps request/response clients (which read one ACK per message) in step.
   */
  private messageAck(c: Candidate, s: StoredMessage): string {
    const msg = c.message;
    const errors = this.errorsOf(c, s);
    const appCode = s.ackCode;
    const text = s.status === 'duplicate' ? 'duplicate of an earlier message; not applied again' : s.status === 'ignored' ? s.error : undefined;
    const accept = msg?.get('MSH-15').trim().toUpperCase() ?? '';
    const application = msg?.get('MSH-16').trim().toUpperCase() ?? '';
    if (!msg || (accept === '' && application === '')) return buildAck(msg, { code: appCode, errors, text });
    const acceptCode: AckCode = appCode === 'AR' ? 'CR' : 'CA';
    const wants = (rule: string, ok: boolean): boolean => rule === 'AL' || (rule === 'ER' && !ok) || (rule === 'SU' && ok);
    if (acceptCode === 'CA' && wants(application, appCode === 'AA')) return buildAck(msg, { code: appCode, errors, text });
    return buildAck(msg, { code: acceptCode, errors: acceptCode === 'CA' ? [] : errors, text });
  }

  private batchAck(list: Candidate[], stored: StoredMessage[], batchControlId: string | undefined): string {
    let worst: AckCode = 'AA';
    const errors: AckError[] = [];
    stored.forEach((s, i) => {
      const c = list[i] as Candidate;
      if (SEVERITY[s.ackCode] > SEVERITY[worst]) worst = s.ackCode;
      for (const e of this.errorsOf(c, s)) {
        errors.push({ ...e, message: list.length > 1 ? `message ${i + 1} (MSH-10 ${c.prepared.controlId || '?'}): ${e.message}` : e.message });
      }
    });
    const first = list.find((c) => c.message)?.message;
    return buildAck(first, { code: worst, errors, acknowledgedControlId: batchControlId ?? first?.controlId ?? '' });
  }

  private unavailableAck(list: Candidate[], batch: boolean, batchControlId: string | undefined): string {
    const msg = list[0]?.message;
    const enhanced = !batch && msg !== undefined && (msg.get('MSH-15') !== '' || msg.get('MSH-16') !== '');
    return buildAck(msg, {
      code: enhanced ? 'CE' : 'AR',
      acknowledgedControlId: batch ? batchControlId : undefined,
      errors: [{ code: Hl7ErrorCode.ApplicationInternalError, message: 'temporarily unable to store the message; nothing was kept, send it again' }],
    });
  }

  /**
   * A frame over the size limit: its first bytes are stored (status rejected) so that staff can
   * see who sent what, and the sender gets AR naming the limit.
   */
  async receiveOversize(head: Buffer, size: number, limit: number, ctx: FrameContext): Promise<FrameResult> {
    const { text, charset } = decodeHl7Bytes(head, ctx.charset);
    const firstLine = text.split(/\r\n|\r|\n/)[0] ?? '';
    let message: Message | undefined;
    try {
      message = parseMessage(firstLine);
    } catch {
      message = undefined;
    }
    const error = new Hl7Error(`frame of ${size} bytes is over the ${limit}-byte limit; only its first ${head.length} bytes were kept`, Hl7ErrorCode.ApplicationInternalError);
    const candidate: Candidate = {
      message,
      error,
      prepared: {
        source: ctx.source, connectionId: ctx.connectionId, raw: head, charset, contentHash: contentHash(text),
        controlId: message?.get('MSH-10') ?? '', sendingApplication: message?.getRaw('MSH-3') ?? '', sendingFacility: message?.getRaw('MSH-4') ?? '',
        messageType: message?.get('MSH-9.1') ?? '', triggerEvent: message?.get('MSH-9.2') ?? '', version: message?.get('MSH-12') ?? '',
        status: 'rejected', ackCode: 'AR', error: error.message,
      },
    };
    try {
      const stored = await this.committer.submit(candidate.prepared);
      return { ack: buildAck(message, { code: 'AR', errors: this.errorsOf(candidate, stored) }), stored: [stored], durable: true };
    } catch {
      return { ack: this.unavailableAck([candidate], false, undefined), stored: [], durable: false };
    }
  }

  /** File ingest (CLI): a file of one message, several, an FHS/BHS batch, or MLLP-framed messages. */
  async ingestBytes(bytes: Buffer, ctx: FrameContext): Promise<{ summary: IngestSummary; stored: StoredMessage[] }> {
    const frames = bytes.includes(0x0b) && bytes.includes(0x1c) ? framesOf(bytes) : [bytes];
    const stored: StoredMessage[] = [];
    for (const frame of frames) {
      const r = await this.receiveFrame(frame, ctx);
      if (!r.durable) throw new TransientStoreError('database unavailable');
      stored.push(...r.stored);
    }
    return { summary: summarize(stored), stored };
  }

  /**
   * Re-runs a message stored in status `error` (after a fix to configuration or code). Its
   * derived data is applied in the same transaction as its new status; an earlier run applied
   * nothing (errors are all-or-nothing), so nothing is doubled.
   */
  async reprocess(id: string): Promise<StoredMessage & { previousStatus: string }> {
    return this.repository.transaction(async (sql) => {
      const row = await this.repository.lockForReprocess(sql, id);
      if (!row) throw new ReprocessError('not_found', `message ${id} does not exist`);
      if (row.status !== 'error') throw new ReprocessError('not_in_error', `message ${id} is ${row.status}; only messages in error are reprocessed`);
      const ctx: FrameContext = { source: row.source as IntakeSource, connectionId: row.connection_id ?? undefined, charset: row.charset as Hl7Charset };
      const { list, batch } = this.candidates(row.raw, ctx);
      if (batch && !(list.length === 1 && list[0]?.prepared.error?.startsWith('batch envelope'))) {
        // The envelope is fine now: its messages are stored on their own; this row is the container.
        const stored = await this.repository.storeInTransaction(sql, list.map((c) => c.prepared));
        const container: PreparedMessage = {
          ...(list[0] as Candidate).prepared, status: 'ignored', ackCode: 'AA', error: `batch split into messages ${stored.map((s) => s.messageId).join(', ')}`,
          errorLocation: undefined, mapped: undefined,
        };
        await this.repository.reapply(sql, id, container);
        return { messageId: id, status: 'ignored', ackCode: 'AA', controlIdReused: false, warnings: [], charges: stored.reduce((n, s) => n + s.charges, 0), previousStatus: row.status };
      }
      const p = (list[0] as Candidate).prepared;
      const { charges, warnings } = await this.repository.reapply(sql, id, p);
      this.log.info({ event: 'message_reprocessed', messageId: id, status: p.status, charges });
      return {
        messageId: id, status: p.status, ackCode: p.ackCode, error: p.error, errorLocation: p.errorLocation, controlIdReused: false, warnings, charges, previousStatus: row.status,
      };
    });
  }

  /** Ids of every message in error, oldest first (for `messages reprocess --status error`). */
  errorIds(): Promise<string[]> {
    return this.repository.errorIds();
  }
}

export class ReprocessError extends Error {
  constructor(readonly code: 'not_found' | 'not_in_error', message: string) {
    super(message);
  }
}

export function summarize(stored: StoredMessage[]): IngestSummary {
  const s: IngestSummary = { messages: stored.length, processed: 0, duplicates: 0, errors: 0, rejected: 0, ignored: 0 };
  for (const m of stored) {
    if (m.status === 'processed') s.processed++;
    else if (m.status === 'duplicate') s.duplicates++;
    else if (m.status === 'error') s.errors++;
    else if (m.status === 'rejected') s.rejected++;
    else s.ignored++;
  }
  return s;
}

/** The frame payloads of MLLP-framed file content (a capture or dump), cut by the listener's decoder. */
function framesOf(bytes: Buffer): Buffer[] {
  return new MllpDecoder(Number.MAX_SAFE_INTEGER).push(bytes).flatMap((ev) => (ev.type === 'frame' ? [ev.payload] : []));
}
