import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AckCode } from '../../lib/hl7v2';
import { logger } from '../../common/logger';
import type { MessageStatus } from './inbound-message.entity';
import type { ChargeRecord, MappedMessage } from './mapping/records';
import { CHARGES, COVERAGES, DIAGNOSES, ENCOUNTERS, groupStatementSql, MESSAGES, PATIENTS, PROCEDURES, procedureKey, type GroupShape, type MessageRow, type Tagged } from './group-statement';
import { IntakeConnections, type Sql } from './intake.connections';
import type { PreparedMessage, StoredMessage } from './intake.types';

/** A failure worth retrying: the database is unreachable, or a concurrent writer got there first. */
export class TransientStoreError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'TransientStoreError';
  }
}


/** Folds records with the same key: later fields win, unless they are undefined (= keep). */
function fold<T extends { key: string }>(records: Tagged<T>[]): Tagged<T>[] {
  const byKey = new Map<string, Tagged<T>>();
  for (const t of records) {
    const prev = byKey.get(t.r.key);
    if (!prev) {
      byKey.set(t.r.key, t);
      continue;
    }
    const merged: Record<string, unknown> = { ...prev.r };
    for (const [k, v] of Object.entries(t.r as Record<string, unknown>)) if (v !== undefined) merged[k] = v;
    byKey.set(t.r.key, { r: merged as T, ord: t.ord });
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}
function lastByKey<T>(records: Tagged<T>[], key: (r: T) => string): Tagged<T>[] {
  const m = new Map<string, Tagged<T>>();
  for (const t of records) m.set(key(t.r), t);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

/**
 * Most messages in one group statement. Its joins of the group's patients and encounters to the
 * rows written for them are nested loops (see IntakeConnections, groupStatementSql), whose cost
 * grows with the square of the group. Larger groups are stored as several statements.
 */
const STATEMENT_MESSAGES_MAX = 256;

/** SQLSTATE of hl7c_seen_before(): the group statement met a resend (see groupStatementSql). */
const SEEN_BEFORE = 'HC001';

const TRANSIENT_CODES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);

function pgCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown } };
  const c = err.driverError?.code ?? err.code;
  return typeof c === 'string' ? c : undefined; // pg errors carry a string SQLSTATE; others none
}

/** Connection failures and lock conflicts: the same batch may succeed if tried again later. */
export function isTransient(e: unknown): boolean {
  if (e instanceof TransientStoreError) return true;
  const code = pgCode(e);
  if (code !== undefined) return TRANSIENT_CODES.has(code) || code.startsWith('08');
  const msg = e instanceof Error ? e.message : String(e);
  return /ECONNREFUSED|ECONNRESET|Connection terminated|timeout exceeded|connect ETIMEDOUT|Client has encountered a connection error|not queryable|EPIPE/i.test(msg);
}

/** What may be logged about a database error: its class and SQLSTATE, never its text (which can quote values). */
export function describeDbError(e: unknown): { name: string; sqlstate?: string } {
  return { name: e instanceof Error ? e.name : 'unknown', sqlstate: pgCode(e) };
}

/** Data errors (SQLSTATE class 22/23): one message's content the database refuses. */
function isDataError(e: unknown): boolean {
  const code = pgCode(e);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}

interface SeenMessage {
  kind: 'id' | 'seen';
  id: string;
  sending_application: string;
  sending_facility: string;
  control_id: string;
  content_hash: Buffer;
  status: MessageStatus;
  ack_code: AckCode | null;
  error: string | null;
  error_location: string | null;
}

interface GroupPlan {
  /** Message id of each item, when reserved before the group statement (else it reserves them). */
  ids: string[] | undefined;
  plans: ({ kind: 'original'; reused: boolean } | { kind: 'duplicate'; ofExisting: SeenMessage } | { kind: 'duplicate-in-batch'; of: number })[];
  /** The original's id for a duplicate, else null. */
  originalOf: (i: number) => string | null;
}

const unpricedWarning = (ft1: number): string => `FT1[${ft1}]: no amount and no chargemaster price: charge is unpriced`;

/** The ACK code stored on a message row: a duplicate repeats its original's. */
function ackCodeOf(items: PreparedMessage[], plans: GroupPlan['plans'], i: number): AckCode {
  const p = plans[i];
  if (p?.kind === 'duplicate') return p.ofExisting.ack_code ?? 'AA';
  if (p?.kind === 'duplicate-in-batch') return items[p.of]?.ackCode ?? 'AA';
  return (items[i] as PreparedMessage).ackCode;
}


/** What one run of the group statement wrote. */
interface GroupOutcome {
  /** Message id of each item of the group. */
  messageIds: string[];
  /** Positions (1-based) of the originals that reuse a stored control id. */
  reused: number[];
  /** Charges written, by message id. */
  charges: Map<string, number>;
  /** FT1 numbers of the charges written unpriced, by message id. */
  unpriced: Map<string, number[]>;
  /** The credits written (matched to their charges afterwards). */
  credits: { id: string; m: string; n: number; e: string; amount: string | null }[];
  /** The id of a patient or an encounter the group wrote, by natural key. */
  patientId(key: string): string | undefined;
  encounterId(key: string): string | undefined;
}

/** The id written for a key, from the key's 1-based position in its record set and the ids in set order. */
const idByKey = (positions: Map<string, number>, ids: string[] | null | undefined) => (key: string): string | undefined => {
  const at = positions.get(key);
  return at === undefined ? undefined : ids?.[at - 1];
};

const unmatchedCreditWarning = (ft1: number): string => `FT1[${ft1}]: credit matches no posted charge: kept as an unmatched credit for review`;

/**
 * Every query of the intake path. A group of messages is stored with one statement
 * (groupStatementSql) that writes what they map to and then the message rows, with no round trip
 * per row. Groups with credits or A40 merges wrap that statement in a transaction with the steps
 * that must follow it (matching credits to charges, moving a merged patient's records). Nothing
 * here decides HL7 semantics; the mapper did that.
 */
@Injectable()
export class IntakeRepository {
  private readonly log = logger('intake.repository');

  constructor(
    private readonly dataSource: DataSource,
    private readonly connections: IntakeConnections,
  ) {}

  /** Runs `fn` in one transaction on an intake connection (reprocessing). */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.connections.transaction(fn);
  }

  /**
   * Stores a group. A data error that one message causes does not fail the others: the group is
   * retried one message at a time and that message is stored as `error`.
   */
  async store(items: PreparedMessage[]): Promise<StoredMessage[]> {
    if (items.length > STATEMENT_MESSAGES_MAX) {
      const out: StoredMessage[] = [];
      for (let i = 0; i < items.length; i += STATEMENT_MESSAGES_MAX) out.push(...(await this.store(items.slice(i, i + STATEMENT_MESSAGES_MAX))));
      return out;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const simple = items.every((it) => !it.mapped || (it.mapped.merges.length === 0 && it.mapped.charges.every((c) => !c.isCredit)));
        if (simple) return await this.storeOptimistically(items);
        return await this.connections.transaction((sql) => this.storeInTransaction(sql, items));
      } catch (e) {
        // Deadlock, a concurrent insert of the same rows, or a resend another instance stored between
        // our look-up and our statement: the next attempt sees the committed rows.
        if ((pgCode(e) === '40P01' || pgCode(e) === '40001' || pgCode(e) === SEEN_BEFORE) && attempt < 8) {
          // Groups in flight at once that hold the same message (a sender repeating a frame,
          // identical junk) collide again when retried in step: a short random wait parts them.
          if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * 4 * attempt));
          continue;
        }
        if (isTransient(e)) throw new TransientStoreError('database unavailable', e);
        if (isDataError(e) && items.length > 1) return this.storeOneByOne(items);
        if (isDataError(e) && items.length === 1) {
          const only = items[0] as PreparedMessage;
          this.log.warn({ event: 'store_data_error', sqlstate: pgCode(e), controlId: only.controlId });
          return this.storeAfterLookup([
            { ...only, status: 'error', ackCode: 'AE', mapped: undefined, error: `the database refused the derived data (SQLSTATE ${pgCode(e) ?? '?'}); fix the message and reprocess`, errorLocation: undefined },
          ]);
        }
        throw e;
      }
    }
  }

  private async storeOneByOne(items: PreparedMessage[]): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for (const item of items) out.push(...(await this.store([item])));
    return out;
  }

  /**
   * The common case in one round trip: the group statement, with no look-up of earlier messages
   * first (it reserves the message ids and finds reused control ids itself). A single statement is
   * atomic and durable on its own (autocommit), so there is no BEGIN/COMMIT either. When one of
   * the messages was received before (a resend), the statement keeps nothing and the group is
   * stored again through the look-up, which records the resend as a duplicate.
   */
  private async storeOptimistically(items: PreparedMessage[]): Promise<StoredMessage[]> {
    const plans = classify(items, []);
    if (plans.some((p) => p.kind !== 'original')) return this.storeAfterLookup(items);
    try {
      return await this.connections.run(async (sql) => {
        const group: GroupPlan = { ids: undefined, plans, originalOf: () => null };
        const out = await this.runGroup(sql, items, group, items.map((_, i) => i), true);
        return this.results(items, group, [out], new Map());
      });
    } catch (e) {
      if (pgCode(e) !== SEEN_BEFORE) throw e;
      return this.storeAfterLookup(items);
    }
  }

  /** Two round trips: the look-up of earlier messages (dedupe), then the group statement. */
  private storeAfterLookup(items: PreparedMessage[]): Promise<StoredMessage[]> {
    return this.connections.run(async (sql) => {
      const group = await this.planGroup(sql, items);
      const out = await this.runGroup(sql, items, group, items.map((_, i) => i), true);
      return this.results(items, group, [out], new Map());
    });
  }

  /**
   * Groups with credits or merges (and batch containers being reprocessed): in a transaction the
   * caller holds. Messages up to an A40 are stored, then the merge, then the rest, so that results
   * are those of processing one message after the other. Credits are matched at the end.
   */
  async storeInTransaction(sql: Sql, items: PreparedMessage[]): Promise<StoredMessage[]> {
    const group = await this.planGroup(sql, items);
    const outcomes: GroupOutcome[] = [];
    let run: number[] = [];
    for (let i = 0; i <= items.length; i++) {
      const merges = i < items.length && group.plans[i]?.kind === 'original' ? (items[i]?.mapped?.merges ?? []) : [];
      if (i === items.length || merges.length > 0 || run.length === STATEMENT_MESSAGES_MAX) {
        if (run.length > 0) outcomes.push(await this.runGroup(sql, items, group, run, true));
        run = [];
      }
      if (i === items.length) break;
      if (merges.length > 0) {
        const out = await this.runGroup(sql, items, group, [i], true);
        outcomes.push(out);
        for (const m of merges) await this.merge(sql, out, m.survivorKey, m.priorKeys);
      } else {
        run.push(i);
      }
    }
    const unmatched = await this.matchCredits(sql, items, group.ids, outcomes);
    for (const [messageId, warnings] of unmatched) {
      await sql.query(`UPDATE inbound_message SET warnings = COALESCE(warnings, '{}') || $2::text[] WHERE id = $1`, [messageId, warnings]);
    }
    return this.results(items, group, outcomes, unmatched);
  }

  /** What became of each item, from the plan and what the group statement(s) wrote. */
  private results(items: PreparedMessage[], group: GroupPlan, outcomes: GroupOutcome[], unmatched: Map<string, string[]>): StoredMessage[] {
    const ids = group.ids ?? outcomes[0]?.messageIds ?? [];
    const reused = new Set(outcomes.flatMap((o) => o.reused));
    return items.map((it, i) => {
      const id = ids[i] as string;
      let charges = 0;
      const unpriced: number[] = [];
      for (const o of outcomes) {
        charges += o.charges.get(id) ?? 0;
        unpriced.push(...(o.unpriced.get(id) ?? []));
      }
      const warnings = [...(it.mapped?.warnings ?? []), ...unpriced.map(unpricedWarning), ...(unmatched.get(id) ?? [])];
      return this.resultOf(items, group.plans, ids, i, charges, warnings, reused.has(i + 1));
    });
  }

  /**
   * Runs the group statement for the items at `indices`. With `insertMessages` false (reprocessing
   * a stored message) the message rows are left alone.
   */
  private async runGroup(sql: Sql, items: PreparedMessage[], group: GroupPlan, indices: number[], insertMessages: boolean): Promise<GroupOutcome> {
    const { ids, plans, originalOf } = group;
    const applyIdx = indices.filter((i) => {
      const it = items[i];
      return plans[i]?.kind === 'original' && it !== undefined && it.status === 'processed' && it.mapped?.action === 'apply';
    });
    const tagged = <T>(pick: (m: MappedMessage) => T[]): Tagged<T>[] =>
      applyIdx.flatMap((i) => pick(items[i]?.mapped as MappedMessage).map((r) => ({ r, ord: i + 1 })));
    const patients = fold(tagged((m) => m.patients));
    const encounters = fold(tagged((m) => m.encounters));
    // Each record's parent by its position in the parent's set (see Tagged).
    const patientAt = new Map(patients.map((t, i) => [t.r.key, i + 1]));
    const encounterAt = new Map(encounters.map((t, i) => [t.r.key, i + 1]));
    const positionIn = (positions: Map<string, number>, what: string) => (key: string): number => {
      const at = positions.get(key);
      if (at === undefined) throw new Error(`a record of the group refers to ${what} that is not in it`);
      return at;
    };
    const patientOf = positionIn(patientAt, 'a patient');
    const encounterOf = positionIn(encounterAt, 'an encounter');
    for (const t of encounters) t.pat = patientOf(t.r.patientKey);
    const coverages = lastByKey(tagged((m) => m.coverages), (c) => `${c.ownerKey}#${c.setId}`);
    for (const t of coverages) {
      t.pat = patientOf(t.r.patientKey);
      t.enc = t.r.encounterKey === undefined ? undefined : encounterAt.get(t.r.encounterKey);
    }
    const diagnoses = lastByKey(tagged((m) => m.diagnoses), (d) => JSON.stringify([d.encounterKey, d.codingSystem, d.code]));
    const procedures = lastByKey(tagged((m) => m.procedures), (p) => p.encounterKey + procedureKey(p));
    const charges = tagged((m) => m.charges);
    for (const list of [diagnoses, procedures, charges]) for (const t of list) t.enc = encounterOf(t.r.encounterKey);
    const messages = insertMessages ? indices : [];
    const originals = messages.filter((i) => plans[i]?.kind === 'original').length;

    // Content hashes and raw messages go as one binary parameter that the message rows point into.
    const bytes: Buffer[] = [];
    let at = 1;
    const place = (b: Buffer): number => {
      bytes.push(b);
      const here = at;
      at += b.length;
      return here;
    };
    const messageRows = messages.map((i): Tagged<MessageRow> => {
      const it = items[i] as PreparedMessage;
      const p = plans[i];
      const original = p?.kind === 'original';
      const r: MessageRow = {
        source: it.source, connectionId: it.connectionId, controlId: it.controlId, sendingApplication: it.sendingApplication,
        sendingFacility: it.sendingFacility, messageType: it.messageType, triggerEvent: it.triggerEvent, version: it.version,
        batchControlId: it.batchControlId, hashAt: place(it.contentHash), rawAt: place(it.raw), rawLength: it.raw.length, charset: it.charset,
        status: it.status, ackCode: ackCodeOf(items, plans, i), error: it.error, errorLocation: it.errorLocation,
        controlIdReused: original && p.reused, warnings: original ? (it.mapped?.warnings ?? []) : [], duplicateOfId: originalOf(i),
      };
      // The message row points at its (first) patient and encounter when the group wrote them.
      const patientKey = it.mapped?.patients[0]?.key;
      const encounterKey = it.mapped?.encounters[0]?.key;
      return { r, ord: i + 1, pat: patientKey === undefined ? undefined : patientAt.get(patientKey), enc: encounterKey === undefined ? undefined : encounterAt.get(encounterKey) };
    });

    const shape: GroupShape = {
      statuses: encounters.some((t) => t.r.status !== undefined),
      procedures: procedures.length > 0,
      duplicates: messageRows.some((t) => t.r.duplicateOfId !== null),
    };
    const result = await sql.query<{
      message_ids: string[];
      reused: number[] | null;
      unpriced: [string, number[]][] | null;
      credits: [string, string, number, string, string | null][] | null;
      patient_ids: string[] | null;
      encounter_ids: string[] | null;
    }>(groupStatementSql(shape), [
      PATIENTS.encode(patients), ENCOUNTERS.encode(encounters), COVERAGES.encode(coverages), DIAGNOSES.encode(diagnoses),
      CHARGES.encode(charges), MESSAGES.encode(messageRows), Buffer.concat(bytes, at - 1),
      originals, patients.length, encounters.length, ids ?? null, items.length,
      ...(shape.procedures ? [PROCEDURES.encode(procedures)] : []),
    ]);
    const row = result[0];
    const messageIds = row?.message_ids ?? [];
    // Every charge sent is written (a plain insert; a missing encounter fails the statement).
    const written = new Map<string, number>();
    for (const t of charges) {
      const id = messageIds[t.ord - 1] as string;
      written.set(id, (written.get(id) ?? 0) + 1);
    }
    return {
      messageIds,
      reused: row?.reused ?? [],
      charges: written,
      unpriced: new Map(row?.unpriced ?? []),
      credits: (row?.credits ?? []).map(([id, m, n, e, amount]) => ({ id, m, n, e, amount })),
      // Looked up only for merges and reprocessing: the ids come back in the order of the sets.
      patientId: idByKey(patientAt, row?.patient_ids),
      encounterId: idByKey(encounterAt, row?.encounter_ids),
    };
  }

  /**
   * Credits reverse the matching earlier charge: the same transaction id, else the same code, date
   * and quantity (and amount when both are priced). Returns the warnings of credits left unmatched.
   */
  private async matchCredits(sql: Sql, items: PreparedMessage[], ids: string[], outcomes: GroupOutcome[]): Promise<Map<string, string[]>> {
    const records = new Map<string, ChargeRecord>();
    items.forEach((it, i) => {
      for (const c of it.mapped?.charges ?? []) records.set(`${ids[i] as string}#${c.ft1Index}`, c);
    });
    const unmatched = new Map<string, string[]>();
    for (const credit of outcomes.flatMap((o) => o.credits)) {
      const c = records.get(`${credit.m}#${credit.n}`);
      if (!c) continue;
      const matched = await sql.query<{ id: string }>(`WITH target AS (
           SELECT id FROM charge
            WHERE encounter_id = $1 AND NOT is_credit AND status IN ('posted', 'held')
              AND ((transaction_id IS NOT NULL AND transaction_id = $2)
                OR (COALESCE(procedure_code, transaction_code) = $3 AND service_date = $4 AND abs(quantity) = abs($5::numeric)
                    AND ($6::numeric IS NULL OR amount IS NULL OR abs(amount) = abs($6::numeric))))
            ORDER BY (transaction_id IS NOT DISTINCT FROM $2) DESC, id
            LIMIT 1 FOR UPDATE
         ), orig AS (
           UPDATE charge SET status = 'reversed', reversed_by_charge_id = $7 FROM target WHERE charge.id = target.id RETURNING charge.id
         )
         UPDATE charge SET status = 'reversal', reverses_charge_id = orig.id FROM orig WHERE charge.id = $7 RETURNING orig.id`,
        [credit.e, c.transactionId ?? null, c.procedureCode ?? c.transactionCode ?? null, c.serviceDate, c.quantity, credit.amount, credit.id],
      );
      if (matched.length === 0) unmatched.set(credit.m, [...(unmatched.get(credit.m) ?? []), unmatchedCreditWarning(credit.n)]);
    }
    return unmatched;
  }

  /** A40: the prior patients point at the survivor, and their encounters, coverages and charges move to it. */
  private async merge(sql: Sql, written: GroupOutcome, survivorKey: string, priorKeys: string[]): Promise<void> {
    const survivor = written.patientId(survivorKey);
    if (survivor === undefined || priorKeys.length === 0) return;
    const prior = await sql.query<{ id: string }>(`UPDATE patient SET merged_into_id = $1, updated_at = now() WHERE patient_key = ANY($2::text[]) AND id <> $1 RETURNING id`,
      [survivor, priorKeys],
    );
    if (prior.length === 0) return;
    const priorIds = prior.map((p) => p.id);
    await sql.query(`UPDATE patient SET merged_into_id = $1 WHERE merged_into_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await sql.query(`UPDATE encounter SET patient_id = $1, updated_at = now() WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await sql.query(`UPDATE coverage SET patient_id = $1 WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await sql.query(`UPDATE charge SET patient_id = $1 WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
  }

  /**
   * Reprocessing: applies a message already stored (in error) in the caller's transaction and
   * records its new outcome on the same row. Nothing was applied before (errors are all-or-nothing).
   */
  async reapply(sql: Sql, id: string, p: PreparedMessage): Promise<{ charges: number; warnings: string[] }> {
    const group: GroupPlan = { ids: [id], plans: [{ kind: 'original', reused: false }], originalOf: () => null };
    const out = p.status === 'processed' && p.mapped?.action === 'apply' ? await this.runGroup(sql, [p], group, [0], false) : undefined;
    const outcomes = out ? [out] : [];
    for (const m of p.mapped?.merges ?? []) if (out) await this.merge(sql, out, m.survivorKey, m.priorKeys);
    const unmatched = await this.matchCredits(sql, [p], [id], outcomes);
    const [result] = this.results([p], group, outcomes, unmatched);
    const patientKey = p.mapped?.patients[0]?.key;
    const encounterKey = p.mapped?.encounters[0]?.key;
    await sql.query(`UPDATE inbound_message SET status = $2, ack_code = $3, error = $4, error_location = $5, warnings = $6::text[], attempts = attempts + 1, processed_at = now(),
              control_id = $7, sending_application = $8, sending_facility = $9, message_type = $10, trigger_event = $11, version = $12,
              patient_id = $13, encounter_id = $14
        WHERE id = $1`,
      [id, p.status, p.ackCode, p.error ?? null, p.errorLocation ?? null, result && result.warnings.length > 0 ? result.warnings : null,
        p.controlId, p.sendingApplication, p.sendingFacility, p.messageType, p.triggerEvent, p.version,
        (patientKey === undefined ? undefined : out?.patientId(patientKey)) ?? null, (encounterKey === undefined ? undefined : out?.encounterId(encounterKey)) ?? null],
    );
    return { charges: result?.charges ?? 0, warnings: result?.warnings ?? [] };
  }

  /** Ids of every message in error, oldest first. */
  async errorIds(): Promise<string[]> {
    const r: { id: string }[] = await this.dataSource.query(`SELECT id FROM inbound_message WHERE status = 'error' ORDER BY id`);
    return r.map((x) => x.id);
  }

  /** Loads a stored message for reprocessing, locking it. */
  async lockForReprocess(sql: Sql, id: string): Promise<{ id: string; raw: Buffer; charset: string; status: MessageStatus; source: string; connection_id: string | null } | undefined> {
    const r = await sql.query<{ id: string; raw: Buffer; charset: string; status: MessageStatus; source: string; connection_id: string | null }>(`SELECT id, raw, charset, status, source, connection_id FROM inbound_message WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return r[0];
  }

  /** What became of item i. */
  private resultOf(items: PreparedMessage[], plans: GroupPlan['plans'], ids: string[], i: number, charges: number, warnings: string[], reused: boolean): StoredMessage {
    const it = items[i] as PreparedMessage;
    const p = plans[i];
    const messageId = ids[i] as string;
    if (p?.kind === 'duplicate') {
      return {
        messageId, status: 'duplicate', ackCode: p.ofExisting.ack_code ?? 'AA', error: p.ofExisting.error ?? undefined,
        errorLocation: p.ofExisting.error_location ?? undefined, duplicateOfId: p.ofExisting.id, controlIdReused: false, warnings: [], charges: 0,
      };
    }
    if (p?.kind === 'duplicate-in-batch') {
      const o = items[p.of] as PreparedMessage;
      return { messageId, status: 'duplicate', ackCode: o.ackCode, error: o.error, errorLocation: o.errorLocation, duplicateOfId: ids[p.of], controlIdReused: false, warnings: [], charges: 0 };
    }
    return { messageId, status: it.status, ackCode: it.ackCode, error: it.error, errorLocation: it.errorLocation, controlIdReused: p?.kind === 'original' && (p.reused || reused), warnings, charges };
  }

  /**
   * One round trip: earlier originals from the same senders with the same control ids (for dedupe),
   * and an id for every message of the group (so that everything derived from a message can be
   * written before the message row itself, which comes last). Then each message is classified.
   */
  private async planGroup(sql: Sql, items: PreparedMessage[]): Promise<GroupPlan & { ids: string[] }> {
    // Per distinct (control id, sender, content) of the group: the stored original with that very
    // content (a resend), and one with other content (a reused control id), each an index look-up
    // on uq_inbound_message_original that stops at the first row. Reading every original with the
    // control id instead grew with each message of a sender that repeats one (junk frames without
    // MSH-10: the soak's intake slowed by the minute).
    const keys = new Map<string, PreparedMessage>();
    for (const it of items) keys.set(JSON.stringify([it.controlId, it.sendingApplication, it.sendingFacility, it.contentHash.toString('hex')]), it);
    const k = [...keys.values()];
    const lookup = await sql.query<SeenMessage>(`SELECT 'id' AS kind, nextval('inbound_message_id_seq')::text AS id, NULL AS sending_application, NULL AS sending_facility, NULL AS control_id,
              NULL::bytea AS content_hash, NULL AS status, NULL AS ack_code, NULL AS error, NULL AS error_location
         FROM generate_series(1, $2::int)
       UNION ALL
       SELECT 'seen', m.id::text, m.sending_application, m.sending_facility, m.control_id, m.content_hash, m.status, m.ack_code, m.error, m.error_location
         FROM unnest($1::text[], $3::text[], $4::text[], $5::bytea[]) AS k(control_id, app, fac, hash)
        CROSS JOIN LATERAL (
          (SELECT m.id, m.sending_application, m.sending_facility, m.control_id, m.content_hash, m.status, m.ack_code, m.error, m.error_location
             FROM inbound_message m WHERE m.control_id = k.control_id AND m.sending_application = k.app AND m.sending_facility = k.fac AND m.duplicate_of_id IS NULL
              AND m.content_hash = k.hash LIMIT 1)
          UNION ALL
          (SELECT m.id, m.sending_application, m.sending_facility, m.control_id, m.content_hash, m.status, m.ack_code, m.error, m.error_location
             FROM inbound_message m WHERE m.control_id = k.control_id AND m.sending_application = k.app AND m.sending_facility = k.fac AND m.duplicate_of_id IS NULL
              AND m.content_hash <> k.hash LIMIT 1)
        ) m`,
      [k.map((i) => i.controlId), items.length, k.map((i) => i.sendingApplication), k.map((i) => i.sendingFacility), k.map((i) => i.contentHash)],
    );
    const reserved = lookup.filter((r) => r.kind === 'id').map((r) => r.id);
    // A row found for two items of the group counts once.
    const existing: SeenMessage[] = [];
    const found = new Set<string>();
    for (const r of lookup) {
      if (r.kind !== 'seen' || found.has(r.id)) continue;
      found.add(r.id);
      existing.push(r);
    }
    const plans = classify(items, existing);
    const ids = reserved;
    const originalOf = (i: number): string | null => {
      const p = plans[i];
      if (p?.kind === 'duplicate') return p.ofExisting.id;
      if (p?.kind === 'duplicate-in-batch') return ids[p.of] as string;
      return null;
    };
    return { ids, plans, originalOf };
  }
}

/**
 * Each item of a group: an exact resend of a stored original (`existing`: the stored originals
 * with the same control ids), a resend of an earlier item of the group, or an original (flagged
 * when its control id was seen before with other content).
 */
function classify(items: PreparedMessage[], existing: SeenMessage[]): GroupPlan['plans'] {
  const senderKey = (app: string, fac: string, ctl: string): string => JSON.stringify([app, fac, ctl]);
  const bySender = new Map<string, typeof existing>();
  for (const r of existing) {
    const k = senderKey(r.sending_application, r.sending_facility, r.control_id);
    const list = bySender.get(k) ?? [];
    list.push(r);
    bySender.set(k, list);
  }
  const plans: GroupPlan['plans'] = [];
  const firstInBatch = new Map<string, number>();
  const senderInBatch = new Set<string>();
  items.forEach((it, i) => {
    const sk = senderKey(it.sendingApplication, it.sendingFacility, it.controlId);
    const hex = it.contentHash.toString('hex');
    const prior = bySender.get(sk) ?? [];
    const same = prior.find((p) => p.content_hash.toString('hex') === hex);
    if (same) {
      plans.push({ kind: 'duplicate', ofExisting: same });
      return;
    }
    const fk = sk + hex;
    const earlier = firstInBatch.get(fk);
    if (earlier !== undefined) {
      plans.push({ kind: 'duplicate-in-batch', of: earlier });
      return;
    }
    firstInBatch.set(fk, i);
    // Same control id, different content: a sender reusing control ids. Processed, and flagged.
    plans.push({ kind: 'original', reused: prior.length > 0 || senderInBatch.has(sk) });
    senderInBatch.add(sk);
  });
  return plans;
}
