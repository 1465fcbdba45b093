import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { metrics } from '../../common/metrics';
import { addCents, fromCents, toCents } from '../../lib/decimal';
import {
  read835Batches, X12ReadError, type ClaimPayment835, type Remit835Event, type ServicePayment835, type Transaction835Header, type Transaction835Trailer, type UnreadableClaim835,
} from '../../lib/x12';
import type { AdjustmentCodeSets } from '../../lib/codes/codesets';
import { CodeSetsService } from '../scrubber/codesets.service';
import { ScrubberService } from '../scrubber/scrubber.service';
import { adjudicate, isExpectedAdjustment, type PostedPayment, type PostedService } from './adjudication';
import { matchClaim, matchLines, SENT_STATUSES, type CandidateClaim, type ClaimMatch, type LineMatch } from './matching';
import { RemittanceRepository, textArray, type ClaimToPost, type DenialRow, type PayerRow } from './remittance.repository';
import { digest, type RemitSource } from './source';

export interface RemitImportSummary {
  fileId: string;
  fileName: string | null;
  /** The same file was imported before: nothing changed. */
  duplicate: boolean;
  /** Why the file was refused (nothing of it posted); its bytes are kept. */
  refused?: { error: string; location: string };
  transactions: number;
  /** Transactions (ERAs) posted before, in this file or another: not posted again. */
  duplicateTransactions: number;
  claimPayments: number;
  matched: number;
  /** Claim payments in the unmatched queue (no claim, several, another payer's, never sent, unreadable). */
  unmatched: number;
  /** Service payments of matched claims that match no line. */
  unmatchedLines: number;
  /** Balance failures recorded (line, claim and transaction rules). */
  unbalanced: number;
  paid: string;
  providerAdjustments: string;
  warnings: string[];
}

/** Claim payments matched, posted and adjudicated together (one round trip per table). */
const BATCH = 500;
/** The raw file is kept in parts of this size. */
const PART_BYTES = 1024 * 1024;

/** CLP02 in plain words. */
export const CLAIM_STATUS_WORDS: Record<string, string> = {
  '1': 'processed as primary', '2': 'processed as secondary', '3': 'processed as tertiary', '4': 'denied', '19': 'processed as primary, forwarded to another payer',
  '20': 'processed as secondary, forwarded to another payer', '21': 'processed as tertiary, forwarded to another payer', '22': 'reversal of a previous payment',
  '23': 'not our claim, forwarded to another payer', '25': 'predetermination pricing only, no payment',
};

const cents = (v: string | undefined): number => (v === undefined ? 0 : (toCents(v) as number));
const byId = (a: { id: string }, b: { id: string }): number => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);

function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

/**
 * Imports 835 files: each file once (by SHA-256), posted in one transaction (all or nothing), one
 * import at a time (an advisory lock); an ERA already posted from another file is recorded as a
 * duplicate and not posted again. A file that cannot be read is refused whole and kept.
 */
@Injectable()
export class RemittanceService {
  private readonly log = logger('remittance');

  /** What runs after payments are posted, in the same transaction (the claims module builds secondary claims). */
  private readonly followers: PostingFollower[] = [];

  constructor(
    readonly repository: RemittanceRepository,
    private readonly codeSets: CodeSetsService,
    private readonly scrubber: ScrubberService,
  ) {}

  /**
   * After payments are committed: the scrubber's payer history learns what the payers did with
   * these claims' lines. A failure leaves the history a little behind and is logged; what was
   * posted stands (the claims wait in denial_pattern_pending for the next refresh).
   */
  private async learn(claimIds: () => Promise<readonly string[]> | readonly string[]): Promise<void> {
    try {
      await this.scrubber.learnFromPayments(await claimIds());
    } catch (e) {
      this.log.error({ event: 'payer_history_refresh_failed', err: e instanceof Error ? e.message : 'unknown' });
    }
  }

  /** Registers work to do after claims' payments are posted (in the posting's transaction). */
  afterPosting(follower: PostingFollower): void {
    this.followers.push(follower);
  }

  /** Runs the registered followers for claims whose payments were just posted. */
  async followPosting(em: EntityManager, claimIds: string[], actor: string): Promise<void> {
    if (claimIds.length === 0) return;
    for (const f of this.followers) await f(em, claimIds, actor);
  }

  async import(source: RemitSource, opts: { actor: string }): Promise<RemitImportSummary> {
    const started = Date.now();
    const { sha, size } = await digest(source);
    for (let attempt = 1; ; attempt++) {
      try {
        const summary = await this.importOnce(source, sha, size, opts.actor);
        metrics.remittances.inc({ outcome: summary.refused ? 'refused' : summary.duplicate ? 'duplicate' : 'posted' });
        if (!summary.refused && !summary.duplicate && summary.matched > 0) await this.learn(() => this.repository.claimsOfFile(summary.fileId));
        this.log.info({ event: summary.refused ? 'remittance_refused' : 'remittance_imported', fileId: summary.fileId, duplicate: summary.duplicate, transactions: summary.transactions,
          claimPayments: summary.claimPayments, matched: summary.matched, unmatched: summary.unmatched, unbalanced: summary.unbalanced, bytes: size, ms: Date.now() - started });
        return summary;
      } catch (e) {
        // A deadlock with a 277CA import or a claim build touching the same claims: nothing was kept, try again.
        if (attempt < 3 && isRetryable(e)) continue;
        throw e;
      }
    }
  }

  private async importOnce(source: RemitSource, sha: Buffer, size: number, actor: string): Promise<RemitImportSummary> {
    try {
      return await this.repository.transaction(async (em) => {
        await this.repository.lockImports(em);
        const prior = await this.repository.fileBySha(em, sha);
        if (prior?.status === 'posted') return { ...(prior.summary as unknown as RemitImportSummary), fileId: prior.id, duplicate: true };
        // A file refused before is read again (the reader may have learned since); its bytes are kept already.
        const fileId = prior?.id ?? (await this.repository.insertFile(em, { sha, name: source.name, size, actor, status: 'posted' }));
        const posting = new FilePosting(this, em, fileId, source.name, actor, await this.codeSets.adjustmentCodes(em));
        const input = prior !== undefined && prior.parts > 0 ? source.open() : this.keepingParts(posting, fileId, source.open());
        try {
          for await (const batch of read835Batches(input)) {
            for (const e of batch) posting.on(e);
            await posting.backpressure();
          }
          await posting.drain();
        } finally {
          // Nothing may still run on the connection when the transaction ends (committed or rolled back).
          await posting.settled();
        }
        const summary = posting.summary();
        await this.repository.finishFile(em, fileId, 'posted', summary);
        return summary;
      });
    } catch (e) {
      if (!(e instanceof X12ReadError)) throw e;
      return this.refuse(source, sha, size, actor, e);
    }
  }

  /**
   * Matches a claim payment from the unmatched queue to a claim, by hand: it is posted to the claim
   * (its lines matched as an import would), and the claim's status and denials follow. A payment
   * is matched once; an unreadable one cannot be posted.
   */
  async matchClaimPayment(paymentId: string, claimId: string, actor: string): Promise<{ claimPaymentId: string; claimId: string; claimStatus: string; linesMatched: number; linesUnmatched: number }> {
    const out = await this.matchClaimPaymentOnce(paymentId, claimId, actor);
    await this.learn(() => [claimId]);
    return out;
  }

  private async matchClaimPaymentOnce(paymentId: string, claimId: string, actor: string): Promise<{ claimPaymentId: string; claimId: string; claimStatus: string; linesMatched: number; linesUnmatched: number }> {
    return this.repository.transaction(async (em) => {
      await this.repository.lockImports(em);
      const cp = await this.repository.paymentToMatch(em, paymentId);
      if (!cp) throw new RemittanceMatchError('not_found', `claim payment ${paymentId} does not exist`);
      if (cp.matchStatus === 'matched') throw new RemittanceMatchError('conflict', `claim payment ${paymentId} is already matched to claim ${cp.claimId ?? ''}`);
      if (cp.matchStatus === 'unreadable') throw new RemittanceMatchError('conflict', `claim payment ${paymentId} could not be read (${cp.note ?? ''}): it cannot be posted; ask the payer for a corrected 835`);
      const claims = await this.repository.lockClaims(em, [claimId]);
      const claim = claims.get(claimId);
      if (!claim) throw new RemittanceMatchError('not_found', `claim ${claimId} does not exist`);
      if (!SENT_STATUSES.has(claim.status)) throw new RemittanceMatchError('conflict', `claim ${claim.patientControlNumber} is ${claim.status}: it was never sent, so no payer can have paid it`);
      const [candidate] = await this.repository.claimsByPcn(em, [claim.patientControlNumber], cp.txPayerRowId);
      // The 835's payer is another payer of the claim: a crossover, kept apart from the claim's own balance.
      const own = !(cp.txPayerId !== null && claim.payerRowId !== null && cp.txPayerRowId !== claim.payerRowId && (candidate?.otherPayerIds ?? []).includes(cp.txPayerId));
      await this.repository.matchPayment(em, paymentId, claimId, own, `matched by hand by ${actor}${cp.note !== null ? ` (was: ${cp.note})` : ''}`, actor);
      const lines = await this.repository.claimLines(em, [claimId]);
      const services = await this.repository.servicesToMatch(em, paymentId);
      const lineMatches = matchLines(services, lines);
      await this.repository.matchServices(em, services.map((sp, i) => ({ id: sp.id, match: lineMatches[i] as LineMatch })), actor);
      await settle(this.repository, em, actor, {
        claims, payments: new Map([[claimId, ((await this.repository.payments(em, [claimId])).get(claimId) ?? []).sort(byId)]]), lines: new Map([[claimId, lines]]),
        reasons: new Map([[claimId, `claim payment ${paymentId} of 835 trace ${cp.trace} (${cp.payerName}) matched to this claim by hand by ${actor}: CLP02 ${cp.statusCode ?? ''}, billed ${cp.charge ?? ''}, paid ${cp.paid ?? ''}`]]),
        lastPaymentId: new Map([[claimId, paymentId]]), deniedOn: cp.paymentDate, trace: cp.trace,
      });
      await this.followPosting(em, [claimId], actor);
      const [after] = [...(await this.repository.lockClaims(em, [claimId])).values()];
      this.log.info({ event: 'remittance_matched', claimPaymentId: paymentId, claimId });
      return { claimPaymentId: paymentId, claimId, claimStatus: after?.status ?? claim.status, linesMatched: lineMatches.filter((m) => m.lineId !== null).length, linesUnmatched: lineMatches.filter((m) => m.lineId === null).length };
    });
  }

  /** Matches a service payment of a matched claim payment to one of that claim's lines, by hand. */
  async matchServicePayment(servicePaymentId: string, claimLineId: string, actor: string): Promise<{ servicePaymentId: string; claimLineId: string; claimId: string; claimStatus: string }> {
    const out = await this.matchServicePaymentOnce(servicePaymentId, claimLineId, actor);
    await this.learn(() => [out.claimId]);
    return out;
  }

  private async matchServicePaymentOnce(servicePaymentId: string, claimLineId: string, actor: string): Promise<{ servicePaymentId: string; claimLineId: string; claimId: string; claimStatus: string }> {
    return this.repository.transaction(async (em) => {
      await this.repository.lockImports(em);
      const sp = await this.repository.serviceToMatch(em, servicePaymentId);
      if (!sp) throw new RemittanceMatchError('not_found', `service payment ${servicePaymentId} does not exist`);
      if (sp.claimId === null) throw new RemittanceMatchError('conflict', `service payment ${servicePaymentId} belongs to claim payment ${sp.claimPaymentId}, which is not matched to a claim: match that first`);
      if (sp.claimLineId !== null) throw new RemittanceMatchError('conflict', `service payment ${servicePaymentId} is already matched to line ${sp.claimLineId}`);
      const lines = await this.repository.claimLines(em, [sp.claimId]);
      if (!lines.some((l) => l.id === claimLineId)) throw new RemittanceMatchError('bad_request', `line ${claimLineId} is not a line of claim ${sp.claimId}`);
      await this.repository.matchServices(em, [{ id: servicePaymentId, match: { lineId: claimLineId, method: 'procedure', note: `matched by hand by ${actor}` } }], actor, true);
      const claims = await this.repository.lockClaims(em, [sp.claimId]);
      await settle(this.repository, em, actor, {
        claims, payments: new Map([[sp.claimId, ((await this.repository.payments(em, [sp.claimId])).get(sp.claimId) ?? []).sort(byId)]]), lines: new Map([[sp.claimId, lines]]),
        reasons: new Map([[sp.claimId, `service payment ${servicePaymentId} (${sp.procedure}) of 835 trace ${sp.trace} matched to line ${lines.find((l) => l.id === claimLineId)?.lineNumber ?? '?'} by hand by ${actor}`]]),
        lastPaymentId: new Map([[sp.claimId, sp.claimPaymentId]]), deniedOn: sp.paymentDate, trace: sp.trace,
      });
      await this.followPosting(em, [sp.claimId], actor);
      const [after] = [...(await this.repository.lockClaims(em, [sp.claimId])).values()];
      return { servicePaymentId, claimLineId, claimId: sp.claimId, claimStatus: after?.status ?? '' };
    });
  }

  /** The file's bytes go into remittance_file_part as they are read (queued with the posting's other steps). */
  private async *keepingParts(sink: { enqueue(step: () => Promise<void>): void; em: EntityManager }, fileId: string, chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let part = 0;
    let held: Buffer[] = [];
    let heldBytes = 0;
    const store = (): void => {
      const n = ++part;
      const bytes = Buffer.concat(held);
      sink.enqueue(() => this.repository.insertPart(sink.em, fileId, n, bytes));
      held = [];
      heldBytes = 0;
    };
    for await (const chunk of chunks) {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= PART_BYTES) store();
      yield chunk;
    }
    if (heldBytes > 0) store();
  }

  /** A file that cannot be read: nothing of it is posted; its bytes and the reason are kept (once). */
  private async refuse(source: RemitSource, sha: Buffer, size: number, actor: string, error: X12ReadError): Promise<RemitImportSummary> {
    return this.repository.transaction(async (em) => {
      await this.repository.lockImports(em);
      const prior = await this.repository.fileBySha(em, sha);
      // Another import posted the same bytes meanwhile (it read them whole): that stands.
      if (prior?.status === 'posted') return { ...(prior.summary as unknown as RemitImportSummary), fileId: prior.id, duplicate: true };
      const fileId = prior?.id ?? (await this.repository.insertFile(em, { sha, name: source.name, size, actor, status: 'refused', error: error.message, location: error.location }));
      if (!prior || prior.parts === 0) {
        let kept = 0;
        let stored = Promise.resolve();
        const enqueue = (step: () => Promise<void>): void => {
          stored = stored.then(step);
        };
        for await (const chunk of this.keepingParts({ em, enqueue }, fileId, source.open())) {
          kept += chunk.length;
          await stored;
        }
        await stored;
        if (kept !== size) throw new Error(`the file changed while it was imported (${kept} bytes, was ${size})`);
      }
      const summary: RemitImportSummary = {
        fileId, fileName: source.name, duplicate: prior !== undefined, refused: { error: error.message, location: error.location }, transactions: 0, duplicateTransactions: 0,
        claimPayments: 0, matched: 0, unmatched: 0, unmatchedLines: 0, unbalanced: 0, paid: '0.00', providerAdjustments: '0.00', warnings: [],
      };
      await this.repository.finishFile(em, fileId, 'refused', summary, { message: error.message, location: error.location });
      return summary;
    });
  }

}

/** Work after posting, in the same transaction: `claimIds` had payments posted (or matched) just now. */
export type PostingFollower = (em: EntityManager, claimIds: string[], actor: string) => Promise<void>;

/** A manual match that cannot be made (the API maps the code to its HTTP status). */
export class RemittanceMatchError extends Error {
  constructor(
    readonly code: 'not_found' | 'conflict' | 'bad_request',
    message: string,
  ) {
    super(message);
    this.name = 'RemittanceMatchError';
  }
}

/** CARC wording for messages: "CO-97 (The benefit for this service is included ...)". */
export function describeCarc(codes: AdjustmentCodeSets, group: string, reason: string): string {
  const info = codes.carcInfo(reason);
  const text = info ? ` (${info.description.length > 90 ? `${info.description.slice(0, 87)}...` : info.description}${info.status === 'deactivated' ? '; deactivated code' : ''})` : ' (unknown code)';
  return `${group}-${reason}${text}`;
}

interface TransactionState {
  id: string;
  header: Transaction835Header;
  payer: PayerRow | undefined;
  payerNote: string | undefined;
  duplicateOf: string | undefined;
  eraKey: string;
  fee: Map<string, string> | undefined;
  claims: number;
}

type ClaimEvent = Extract<Remit835Event, { kind: 'claim' | 'unreadable' }>;

/** One file's posting: transactions one after another, claim payments in batches. */
/**
 * One file's posting: transactions one after another, claim payments in batches. Database work is
 * queued in order on the import's one connection while the reader goes on reading: the file is
 * parsed on one core while PostgreSQL posts the previous batch on the other (a few batches at
 * most wait, so memory stays flat).
 */
class FilePosting {
  private tx: TransactionState | undefined;
  private pending: ClaimEvent[] = [];
  private readonly erasInFile = new Map<string, string>();
  private payerRows: PayerRow[] | undefined;
  private readonly fees = new Map<string, Map<string, string>>();
  private readonly counts = { transactions: 0, duplicateTransactions: 0, claimPayments: 0, matched: 0, unmatched: 0, unmatchedLines: 0, unbalanced: 0, paid: 0, plb: 0 };
  private readonly warnings: string[] = [];
  /** Database steps queued, in order; each runs when the one before is done. */
  private readonly queue: Promise<void>[] = [];
  private last: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly service: RemittanceService,
    readonly em: EntityManager,
    private readonly fileId: string,
    private readonly fileName: string | null,
    private readonly actor: string,
    private readonly codes: AdjustmentCodeSets,
  ) {}

  private get repo(): RemittanceRepository {
    return this.service.repository;
  }

  /** Queues a database step; after a failure nothing more runs (the transaction is rolled back). */
  enqueue(step: () => Promise<void>): void {
    const run = this.last.then(async () => {
      if (this.failure === undefined) await step();
    });
    this.last = run.catch((error: unknown) => {
      this.failure ??= { error };
    });
    this.queue.push(this.last);
  }

  /** Waits while more than a few steps are queued; rethrows a step's failure. */
  async backpressure(max = 3): Promise<void> {
    while (this.queue.length > max) await this.queue.shift();
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every queued step; rethrows a step's failure. */
  async drain(): Promise<void> {
    await this.backpressure(0);
  }

  /** Waits for every queued step, whatever happened (before the transaction is rolled back). */
  async settled(): Promise<void> {
    await this.last;
  }

  on(e: Remit835Event): void {
    switch (e.kind) {
      case 'transaction': {
        const tx: TransactionState = { id: '', header: e.header, payer: undefined, payerNote: undefined, duplicateOf: undefined, eraKey: '', fee: undefined, claims: 0 };
        this.tx = tx;
        this.enqueue(() => this.begin(tx));
        return;
      }
      case 'claim':
      case 'unreadable': {
        const tx = this.tx as TransactionState;
        tx.claims++;
        this.pending.push(e);
        if (this.pending.length >= BATCH) this.flushLater(tx);
        return;
      }
      case 'end': {
        const tx = this.tx as TransactionState;
        this.flushLater(tx);
        this.enqueue(() => this.end(tx, e.trailer));
        return;
      }
    }
  }

  private flushLater(tx: TransactionState): void {
    const events = this.pending;
    this.pending = [];
    // A duplicate ERA is known once its transaction's first step ran: its claim payments are not posted.
    if (events.length > 0) this.enqueue(() => (tx.duplicateOf !== undefined ? Promise.resolve() : this.flush(tx, events)));
  }

  summary(): RemitImportSummary {
    const c = this.counts;
    return {
      fileId: this.fileId, fileName: this.fileName, duplicate: false, transactions: c.transactions, duplicateTransactions: c.duplicateTransactions, claimPayments: c.claimPayments,
      matched: c.matched, unmatched: c.unmatched, unmatchedLines: c.unmatchedLines, unbalanced: c.unbalanced, paid: fromCents(c.paid), providerAdjustments: fromCents(c.plb),
      warnings: this.warnings.slice(0, 100),
    };
  }

  /** The payer the 835 names (TRN03, N1*PR-04, REF*2U/NF/HI) among the practice's payers. */
  private async payerOf(h: Transaction835Header): Promise<{ payer: PayerRow | undefined; note: string | undefined }> {
    this.payerRows ??= await this.repo.payers(this.em);
    const ids = [...new Set([h.trace.originatorId, h.payer.id ?? '', ...h.payer.references.filter((r) => ['2U', 'NF', 'HI', 'EO'].includes(r.qualifier)).map((r) => r.value)].filter((v) => v !== ''))];
    const found = this.payerRows.filter((p) => ids.some((id) => id === p.payerId || p.remitIds.includes(id)));
    if (found.length === 1) return { payer: found[0], note: undefined };
    const named = `${h.payer.name}${ids.length > 0 ? ` (${ids.join(', ')})` : ''}`;
    if (found.length === 0) return { payer: undefined, note: `payer ${named} is not in the practice setup (payers[].payerId or remitIds): claims are matched without checking that they were sent to this payer` };
    return { payer: undefined, note: `payer ${named} names ${found.length} payers of the practice setup (${found.map((p) => p.payerId).join(', ')}): claims are matched without checking the payer` };
  }

  private async begin(tx: TransactionState): Promise<void> {
    const h = tx.header;
    const { payer, note } = await this.payerOf(h);
    tx.payer = payer;
    tx.payerNote = note;
    tx.eraKey = JSON.stringify([h.trace.originatorId, h.trace.number, h.payment.amount, h.payment.date ?? null]);
    tx.duplicateOf = this.erasInFile.get(tx.eraKey) ?? (await this.repo.postedEra(this.em, { payerTraceId: h.trace.originatorId, trace: h.trace.number, amount: h.payment.amount, date: h.payment.date ?? null }));
    // Known at once, so that the same ERA later in this file is a duplicate of this one.
    if (tx.duplicateOf === undefined) this.erasInFile.set(tx.eraKey, '');
    const [id] = await this.repo.reserveIds(this.em, 'remittance_transaction_id_seq', 1);
    tx.id = id as string;
    if (tx.duplicateOf === undefined) this.erasInFile.set(tx.eraKey, tx.id);
    if (payer) {
      const fee = this.fees.get(payer.id) ?? (await this.repo.feeSchedule(this.em, payer.id));
      this.fees.set(payer.id, fee);
      tx.fee = fee.size > 0 ? fee : undefined;
    }
  }

  private async end(tx: TransactionState, t: Transaction835Trailer): Promise<void> {
    const h = t.header;
    const duplicate = tx.duplicateOf !== undefined;
    this.counts.transactions++;
    const warnings = [...h.warnings, ...(tx.payerNote !== undefined ? [tx.payerNote] : [])];
    await this.repo.insertTransaction(this.em, {
      id: tx.id, file_id: this.fileId, position: h.position, control_number: h.controlNumber, version: h.version, interchange_control_number: h.interchangeControlNumber,
      group_control_number: h.groupControlNumber, handling_code: h.payment.handling, payment_amount: h.payment.amount, credit_debit: h.payment.creditDebit, payment_method: h.payment.method,
      payment_format: h.payment.format ?? null, payment_date: h.payment.date ?? null, trace_number: h.trace.number, trace_payer_id: h.trace.originatorId, production_date: h.productionDate ?? null,
      payer_name: h.payer.name, payer_ids: [...new Set([h.trace.originatorId, h.payer.id ?? '', ...h.payer.references.map((r) => r.value)].filter((v) => v !== ''))],
      payer_row_id: tx.payer?.id ?? null, payee_name: h.payee.name || null, payee_id_qualifier: h.payee.idQualifier ?? null, payee_id: h.payee.id ?? null,
      header: JSON.stringify({ payment: h.payment, trace: h.trace, currency: h.currency, references: h.references, payer: h.payer, payee: h.payee, sender: h.senderId, receiver: h.receiverId }),
      claim_count: t.claims, unreadable_count: t.unreadable, paid_total: fromCents(t.paidCents), provider_adjustment_total: fromCents(t.providerAdjustmentCents), imbalance: fromCents(t.imbalanceCents),
      interest_total: fromCents(t.interestCents), interest_plb_total: fromCents(t.interestPlbCents), duplicate_of_id: tx.duplicateOf ?? null, warnings: JSON.stringify(warnings),
    });
    if (duplicate) {
      this.counts.duplicateTransactions++;
      this.warnings.push(`transaction ${h.controlNumber} (trace ${h.trace.number}, ${h.payment.amount}) was posted before (transaction ${tx.duplicateOf ?? ''}): not posted again`);
      return;
    }
    this.warnings.push(...warnings);
    // PLB: recoupments (WO) and forward balances (FB) are tied to the claim they reference when one is found.
    const tied = t.providerAdjustments.filter((p) => (p.reason === 'WO' || p.reason === 'FB') && p.reference !== undefined);
    const refs = await this.repo.claimsByReference(this.em, [...new Set(tied.map((p) => p.reference as string))]);
    await this.repo.insertProviderAdjustments(this.em, t.providerAdjustments.map((p) => {
      const claims = (p.reason === 'WO' || p.reason === 'FB') && p.reference !== undefined ? (refs.get(p.reference) ?? []) : [];
      return [tx.id, p.position, p.providerId, p.fiscalPeriodDate, p.reason, p.reference ?? null, p.amount, claims.length === 1 ? claims[0] : null];
    }));
    this.counts.plb = addCents(this.counts.plb, t.providerAdjustmentCents);
    const exceptions: unknown[][] = [];
    if (t.imbalanceCents !== 0) {
      exceptions.push([tx.id, null, null, h.position, 'transaction_unbalanced',
        `ΣCLP04 ${fromCents(t.paidCents)} - ΣPLB ${fromCents(t.providerAdjustmentCents)} = ${fromCents(t.paidCents - t.providerAdjustmentCents)}, but BPR02 is ${h.payment.amount}${h.payment.creditDebit === 'D' ? ' (debit)' : ''}${t.unreadable > 0 ? ` (${t.unreadable} claim payment(s) could not be read)` : ''}`,
        fromCents(t.imbalanceCents)]);
      this.counts.unbalanced++;
    }
    // RFI 2123: PLB L6 carries the sum of the claims' AMT*I (as a negative adjustment: more money).
    if (t.interestCents !== 0 && -t.interestPlbCents !== t.interestCents) {
      exceptions.push([tx.id, null, null, h.position, 'interest_mismatch', `claims carry ${fromCents(t.interestCents)} of interest (AMT*I) but PLB L6 says ${fromCents(-t.interestPlbCents)}`, fromCents(t.interestCents + t.interestPlbCents)]);
    }
    if (tx.payerNote !== undefined) exceptions.push([tx.id, null, null, h.position, 'unknown_payer', tx.payerNote, null]);
    await this.repo.insertExceptions(this.em, exceptions);
  }

  /** Matches, posts and adjudicates a batch of claim payments. */
  private async flush(tx: TransactionState, events: ClaimEvent[]): Promise<void> {
    const em = this.em;
    const readable = events.flatMap((e) => (e.kind === 'claim' ? [e.claim] : []));

    // Matching: claims by CLP01, then by CLP07.
    const byPcn = new Map((await this.repo.claimsByPcn(em, [...new Set(readable.map((c) => c.patientControlNumber))], tx.payer?.id)).map((c) => [c.patientControlNumber, c]));
    const icns = [...new Set(readable.filter((c) => !byPcn.has(c.patientControlNumber) && c.payerClaimControlNumber !== undefined).map((c) => c.payerClaimControlNumber as string))];
    const byIcn = new Map<string, CandidateClaim[]>();
    for (const c of await this.repo.claimsByIcn(em, icns, tx.payer?.id)) byIcn.set(c.icn, [...(byIcn.get(c.icn) ?? []), c]);
    const payer = { rowId: tx.payer?.id ?? null, payerId: tx.payer?.payerId ?? null };
    const matches = new Map<ClaimPayment835, ClaimMatch>(readable.map((c) => [c, matchClaim(c.patientControlNumber, c.payerClaimControlNumber, byPcn.get(c.patientControlNumber), byIcn.get(c.payerClaimControlNumber ?? '') ?? [], payer)]));
    const claimIds = [...new Set([...matches.values()].flatMap((m) => (m.status === 'matched' ? [m.claimId] : [])))];
    const claims = await this.repo.lockClaims(em, claimIds);
    const lines = new Map<string, Awaited<ReturnType<RemittanceRepository['claimLines']>>>();
    for (const l of await this.repo.claimLines(em, claimIds)) lines.set(l.claimId, [...(lines.get(l.claimId) ?? []), l]);

    const paymentIds = await this.repo.reserveIds(em, 'claim_payment_id_seq', events.length);
    const serviceIds = await this.repo.reserveIds(em, 'service_payment_id_seq', readable.reduce((n, c) => n + c.services.length, 0));
    const prior = await this.repo.payments(em, claimIds, paymentIds[0]);
    const posted = new Map<string, PostedPayment[]>();
    const payRows: unknown[][] = [];
    const serviceRows: unknown[][] = [];
    const adjustmentRows: unknown[][] = [];
    const exceptionRows: unknown[][] = [];
    const postedNow = new Map<string, { claim: ClaimPayment835; payment: PostedPayment }[]>();
    let s = 0;
    events.forEach((e, i) => {
      const id = paymentIds[i] as string;
      this.counts.claimPayments++;
      if (e.kind === 'unreadable') {
        this.counts.unmatched++;
        payRows.push(this.unreadableRow(tx, id, e.claim));
        exceptionRows.push([tx.id, id, null, e.claim.position, 'unreadable_claim', `claim payment ${e.claim.patientControlNumber ?? '(no CLP01)'} could not be read: ${e.claim.error}`, null]);
        return;
      }
      const c = e.claim;
      const m = matches.get(c) as ClaimMatch;
      const matched = m.status === 'matched';
      if (matched) this.counts.matched++;
      else this.counts.unmatched++;
      this.counts.paid = addCents(this.counts.paid, cents(c.paid));
      const claimId = matched ? m.claimId : null;
      const lineMatches: LineMatch[] = matched ? matchLines(c.services, lines.get(m.claimId) ?? []) : c.services.map(() => ({ lineId: null, note: 'the claim payment is not matched to a claim' }));
      const own = matched ? m.ownPayer : true;
      const crossover = ['19', '20', '21'].includes(c.status) && c.names.some((n) => n.entity === 'TT');
      // A reversal undoes the payment it names: the same claim, the negated amount, the same payer claim number when both have one.
      let reverses: string | null = null;
      if (matched && c.status === '22') {
        const history = [...(prior.get(m.claimId) ?? []), ...(posted.get(m.claimId) ?? [])];
        const reversed = new Set(history.flatMap((p) => (p.reversesId !== null ? [p.reversesId] : [])));
        const original = [...history].reverse().find((p) => p.statusCode !== '22' && !reversed.has(p.id) && p.paidCents === -cents(c.paid)
          && (c.payerClaimControlNumber === undefined || p.payerClaimControlNumber === null || p.payerClaimControlNumber === c.payerClaimControlNumber));
        reverses = original?.id ?? null;
        if (original === undefined) exceptionRows.push([tx.id, id, null, c.position, 'reversal_without_original', `reversal of ${c.paid} on claim ${c.patientControlNumber} names no payment posted here: it is posted as a negative payment`, c.paid]);
      }
      payRows.push([
        id, tx.id, c.position, claimId, matched && !own ? null : payer.rowId, own, m.status, matched ? m.method : null, matched ? (m.note ?? null) : m.note, textArray(matched ? [] : m.candidates),
        c.patientControlNumber, c.status, c.charge, c.paid, c.patientResponsibility ?? null, c.filingIndicator ?? null, c.payerClaimControlNumber ?? null, c.facilityCode ?? null,
        c.frequency ?? null, c.drg ?? null, c.statementFrom ?? null, c.statementTo ?? null, tx.header.payment.date ?? tx.header.productionDate ?? null, c.interest ?? null, textArray(c.remarks), crossover, reverses,
        fromCents(c.imbalanceCents), fromCents(c.patientResponsibilityDifferenceCents), detailsOf(c),
      ]);
      const payment: PostedPayment = {
        id, statusCode: c.status, ownPayer: own, crossover, reversesId: reverses, payerClaimControlNumber: c.payerClaimControlNumber ?? null, chargeCents: cents(c.charge),
        paidCents: cents(c.paid), interestCents: cents(c.interest), paymentDate: tx.header.payment.date ?? tx.header.productionDate ?? null, remarks: c.remarks,
        adjustments: c.adjustments.map((a) => ({ group: a.group, reason: a.reason, amountCents: cents(a.amount) })), services: [],
      };
      for (const a of c.adjustments) adjustmentRows.push([id, null, a.group, a.reason, a.amount, a.quantity ?? null]);
      if (c.imbalanceCents !== 0) {
        this.counts.unbalanced++;
        exceptionRows.push([tx.id, id, null, c.position, 'claim_unbalanced', `CLP03 ${c.charge} - adjustments ${fromCents(cents(c.charge) - cents(c.paid) - c.imbalanceCents)} ≠ CLP04 ${c.paid}`, fromCents(c.imbalanceCents)]);
      }
      if (c.patientResponsibilityDifferenceCents !== 0) {
        exceptionRows.push([tx.id, id, null, c.position, 'patient_responsibility_unsupported', `CLP05 ${c.patientResponsibility ?? ''} is not the sum of the PR adjustments (${fromCents(cents(c.patientResponsibility) - c.patientResponsibilityDifferenceCents)})`, fromCents(c.patientResponsibilityDifferenceCents)]);
      }
      c.services.forEach((svc, k) => {
        const sid = serviceIds[s++] as string;
        const lm = lineMatches[k] as LineMatch;
        if (matched && lm.lineId === null) this.counts.unmatchedLines++;
        const { expected, underpaid } = own && matched && c.status !== '22' ? expectedOf(tx.fee, svc) : { expected: null, underpaid: null };
        serviceRows.push([
          sid, id, svc.position, lm.lineId, lm.lineId === null ? null : lm.method, lm.note ?? null, svc.qualifier, svc.code, textArray(svc.modifiers), svc.revenueCode ?? null, svc.charge, svc.paid,
          svc.units, svc.original ?? null, svc.lineControlNumber ?? null, svc.serviceDate ?? null, svc.serviceEndDate ?? null, svc.allowed ?? null, expected, underpaid, textArray(svc.remarks),
          fromCents(svc.imbalanceCents), serviceDetailsOf(svc),
        ]);
        for (const a of svc.adjustments) adjustmentRows.push([id, sid, a.group, a.reason, a.amount, a.quantity ?? null]);
        if (svc.imbalanceCents !== 0) {
          this.counts.unbalanced++;
          exceptionRows.push([tx.id, id, sid, svc.position, 'line_unbalanced', `SVC02 ${svc.charge} - adjustments ${fromCents(cents(svc.charge) - cents(svc.paid) - svc.imbalanceCents)} ≠ SVC03 ${svc.paid}`, fromCents(svc.imbalanceCents)]);
        }
        const posted: PostedService = {
          id: sid, claimLineId: lm.lineId, chargeCents: cents(svc.charge), paidCents: cents(svc.paid), underpaidCents: underpaid === null ? 0 : cents(underpaid), remarks: svc.remarks,
          adjustments: svc.adjustments.map((a) => ({ group: a.group, reason: a.reason, amountCents: cents(a.amount) })),
          procedure: { qualifier: svc.qualifier, code: svc.code, modifiers: svc.modifiers }, revenueCode: svc.revenueCode, units: svc.units,
        };
        payment.services.push(posted);
      });
      if (matched) {
        posted.set(m.claimId, [...(posted.get(m.claimId) ?? []), payment]);
        postedNow.set(m.claimId, [...(postedNow.get(m.claimId) ?? []), { claim: c, payment }]);
      }
    });
    await this.repo.insertClaimPayments(em, payRows);
    await this.repo.insertServicePayments(em, serviceRows);
    await this.repo.insertAdjustments(em, adjustmentRows);
    await this.repo.insertExceptions(em, exceptionRows);
    await this.adjudicate(tx, claims, prior, posted, postedNow, lines);
  }

  /** Each matched claim's status, history and denial records after this batch. */
  private async adjudicate(
    tx: TransactionState,
    claims: Map<string, ClaimToPost>,
    prior: Map<string, PostedPayment[]>,
    posted: Map<string, PostedPayment[]>,
    postedNow: Map<string, { claim: ClaimPayment835; payment: PostedPayment }[]>,
    lines: Map<string, Awaited<ReturnType<RemittanceRepository['claimLines']>>>,
  ): Promise<void> {
    const h = tx.header;
    const payments = new Map([...claims.keys()].map((id) => [id, [...(prior.get(id) ?? []), ...(posted.get(id) ?? [])].sort(byId)]));
    const reasons = new Map([...postedNow].map(([id, now]) => [id, now.map(({ claim: c, payment: p }) => this.describe(h, c, p)).join('; ')]));
    const last = new Map([...postedNow].map(([id, now]) => [id, now[now.length - 1]?.payment.id ?? '']));
    await settle(this.repo, this.em, this.actor, { claims, payments, lines, reasons, lastPaymentId: last, deniedOn: h.payment.date ?? h.productionDate ?? null, trace: h.trace.number });
    await this.service.followPosting(this.em, [...claims.keys()], this.actor);
  }

  /** A claim's history line for a payment: "835 trace T (PAYER, 2024-02-01): processed as primary; billed 247.50, paid 150.00; CO-97 (...)". */
  private describe(h: Transaction835Header, c: ClaimPayment835, p: PostedPayment): string {
    const unexpected = new Map<string, string>();
    for (const a of [...c.adjustments, ...c.services.flatMap((s) => s.adjustments)]) {
      if (!isExpectedAdjustment(a.group, a.reason)) unexpected.set(`${a.group}-${a.reason}`, describeCarc(this.codes, a.group, a.reason));
    }
    return `835 trace ${h.trace.number} (${h.payer.name}${h.payment.date !== undefined ? `, ${h.payment.date}` : ''}): ${CLAIM_STATUS_WORDS[c.status] ?? `status ${c.status}`}${p.ownPayer ? '' : ' by another payer of the claim (crossover)'}; billed ${c.charge}, paid ${c.paid}${c.patientResponsibility !== undefined ? `, patient responsibility ${c.patientResponsibility}` : ''}${unexpected.size > 0 ? `; ${[...unexpected.values()].join('; ')}` : ''}`;
  }

  private unreadableRow(tx: TransactionState, id: string, u: UnreadableClaim835): unknown[] {
    return [
      id, tx.id, u.position, null, tx.payer?.id ?? null, true, 'unreadable', null, `${u.location}: ${u.error}`, textArray([]), u.patientControlNumber ?? '', null, null, null, null, null,
      u.payerClaimControlNumber ?? null, null, null, null, null, null, tx.header.payment.date ?? tx.header.productionDate ?? null, null, textArray([]), false, null, '0', '0', { error: u.error, location: u.location },
    ];
  }
}

/** The fee schedule's allowed amount for a line (per unit x units) and how much less the payer allowed. */
function expectedOf(fee: Map<string, string> | undefined, svc: ServicePayment835): { expected: string | null; underpaid: string | null } {
  if (!fee) return { expected: null, underpaid: null };
  const code = svc.original?.code ?? svc.code;
  const modifier = svc.original?.modifiers[0] ?? svc.modifiers[0];
  const perUnit = (modifier !== undefined ? fee.get(`${code}|${modifier}`) : undefined) ?? fee.get(code);
  if (perUnit === undefined) return { expected: null, underpaid: null };
  const units = toCents(svc.units);
  if (units === undefined) return { expected: null, underpaid: null };
  // Cents per unit x units in hundredths, over 100 (an expectation: half a cent rounds up).
  const expectedCents = Math.round((cents(perUnit) * units) / 100);
  const pr = svc.adjustments.filter((a) => a.group === 'PR').reduce((t, a) => t + cents(a.amount), 0);
  const allowedCents = svc.allowed !== undefined ? cents(svc.allowed) : cents(svc.paid) + pr;
  const short = expectedCents - allowedCents;
  return { expected: fromCents(expectedCents), underpaid: short > 0 ? fromCents(short) : null };
}

/**
 * What a claim payment carries besides its columns (names, MIA/MOA, references, dates, amounts...):
 * only what was sent, less what a column holds already (DTM*232/233 are statement_from/_to, AMT*I
 * is interest).
 */
function detailsOf(c: ClaimPayment835): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) d[k] = v;
  };
  const name = (entity: string): unknown => c.names.find((n) => n.entity === entity);
  put('headerNumber', c.headerNumber);
  put('patient', name('QC'));
  put('insured', name('IL'));
  put('correctedInsured', name('74'));
  put('rendering', name('82'));
  put('crossoverCarrier', name('TT'));
  put('correctedPayer', name('PR'));
  put('otherSubscriber', name('GB'));
  put('inpatient', c.inpatient);
  put('outpatient', c.outpatient);
  put('references', c.references);
  put('dates', without(without(c.dates, (t) => t.qualifier === '232' && t.date === c.statementFrom), (t) => t.qualifier === '233' && t.date === c.statementTo));
  put('amounts', without(c.amounts, (a) => a.qualifier === 'I' && a.amount === c.interest));
  put('quantities', c.quantities);
  put('contacts', c.contacts);
  put('drgWeight', c.drgWeight);
  put('dischargeFraction', c.dischargeFraction);
  return d;
}

/**
 * What a service payment carries besides its columns, less what a column holds already (the
 * DTM*472 that is service_date, the REF*6R that is line_control_number, the AMT*B6 that is
 * allowed): half the row, and half the cost of inserting it, in a typical 835.
 */
function serviceDetailsOf(s: ServicePayment835): Record<string, unknown> | null {
  const d: Record<string, unknown> = {};
  const references = without(s.references, (r) => r.qualifier === '6R' && r.value === s.lineControlNumber);
  const dates = without(s.dates, (t) => t.qualifier === '472' && t.date === s.serviceDate);
  const amounts = without(s.amounts, (a) => a.qualifier === 'B6' && a.amount === s.allowed);
  if (s.description !== undefined) d.description = s.description;
  if (references.length > 0) d.references = references;
  if (dates.length > 0) d.dates = dates;
  if (amounts.length > 0) d.amounts = amounts;
  if (s.quantities.length > 0) d.quantities = s.quantities;
  if (s.pharmacyRejects.length > 0) d.pharmacyRejects = s.pharmacyRejects;
  return Object.keys(d).length > 0 ? d : null;
}

/**
 * Writes what the payments of some claims add up to: each claim's status (with its claim_event,
 * or an event noting the payment when the status does not move), and its denial records opened,
 * updated, or closed (resolved, or reversed with the payment).
 */
export async function settle(
  repo: RemittanceRepository,
  em: EntityManager,
  actor: string,
  input: {
    claims: Map<string, ClaimToPost>;
    /** Every payment of each claim, in posting order. */
    payments: Map<string, PostedPayment[]>;
    lines: Map<string, { id: string; lineNumber: number; charge: string; serviceDate: string }[]>;
    reasons: Map<string, string>;
    lastPaymentId: Map<string, string>;
    deniedOn: string | null;
    trace: string;
  },
): Promise<void> {
  const claimIds = [...input.claims.keys()];
  if (claimIds.length === 0) return;
  const existing = await repo.denialsOf(em, claimIds);
  const changes: { id: string; from: string; to: string; reason: string; payerClaimControlNumber: string | null }[] = [];
  const notes: { id: string; status: string; reason: string }[] = [];
  const inserts: DenialRow[] = [];
  const updates: DenialRow[] = [];
  const closes: { id: string; status: 'resolved' | 'reversed'; resolution: string; paymentId: string }[] = [];
  for (const [claimId, claim] of input.claims) {
    const claimLines = (input.lines.get(claimId) ?? []).map((l) => ({ id: l.id, lineNumber: l.lineNumber, chargeCents: cents(l.charge), serviceDate: l.serviceDate }));
    const result = adjudicate(cents(claim.totalCharge), claimLines, input.payments.get(claimId) ?? []);
    const reason = input.reasons.get(claimId) ?? 'payments posted';
    // A replaced claim keeps its status (its replacement carries the claim on); its payments are posted and noted.
    if (result.status !== undefined && result.status !== claim.status && SENT_STATUSES.has(claim.status) && claim.status !== 'replaced') {
      const latest = [...(input.payments.get(claimId) ?? [])].reverse().find((p) => p.ownPayer && p.statusCode !== '22' && p.payerClaimControlNumber !== null);
      changes.push({ id: claimId, from: claim.status, to: result.status, reason, payerClaimControlNumber: latest?.payerClaimControlNumber ?? null });
    } else {
      notes.push({ id: claimId, status: claim.status, reason });
    }
    const lastPaymentId = input.lastPaymentId.get(claimId) ?? '';
    const lineNumber = new Map(claimLines.map((l) => [l.id, l.lineNumber]));
    const drafts = new Set(result.denials.map((d) => d.lineId ?? ''));
    for (const d of result.denials) {
      const row: DenialRow = {
        claimId, claimLineId: d.lineId, payerRowId: claim.payerRowId, kind: d.kind, carcs: d.carcs.map((a) => ({ group: a.group, reason: a.reason, amount: fromCents(a.amountCents) })),
        rarcs: d.rarcs, billed: fromCents(d.billedCents), paid: fromCents(d.paidCents), amount: fromCents(d.amountCents), serviceDate: d.serviceDate, deniedOn: input.deniedOn, paymentId: d.paymentId,
      };
      if (existing.some((x) => x.claimId === claimId && x.claimLineId === d.lineId)) updates.push(row);
      else inserts.push(row);
    }
    for (const x of existing) {
      if (x.claimId !== claimId || x.status !== 'open' || drafts.has(x.claimLineId ?? '')) continue;
      const what = x.claimLineId === null ? 'the claim' : `line ${lineNumber.get(x.claimLineId) ?? '?'}`;
      closes.push(result.status === 'reversed'
        ? { id: x.id, status: 'reversed', resolution: `the payment was reversed (835 trace ${input.trace})`, paymentId: lastPaymentId }
        : { id: x.id, status: 'resolved', resolution: `${what} ${result.lines.find((l) => l.lineId === x.claimLineId)?.status ?? result.status ?? 'paid'} after 835 trace ${input.trace}`, paymentId: lastPaymentId });
    }
  }
  await repo.setClaimStatuses(em, changes, actor);
  await repo.noteClaims(em, notes, actor);
  await repo.insertDenials(em, inserts);
  await repo.updateDenials(em, updates);
  await repo.closeDenials(em, closes);
}

/** The list without the first item that matches (the one a column holds already), when there is one. */
function without<T>(list: T[], match: (item: T) => boolean): T[] {
  const i = list.findIndex(match);
  return i < 0 ? list : [...list.slice(0, i), ...list.slice(i + 1)];
}
