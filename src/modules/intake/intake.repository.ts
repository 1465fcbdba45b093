import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { multiplyDecimal, normalizeDecimal } from '../../lib/decimal';
import type { AckCode } from '../../lib/hl7v2';
import { logger } from '../../common/logger';
import type { MessageStatus } from './inbound-message.entity';
import type { ChargeRecord, CoverageRecord, DiagnosisRecord, EncounterRecord, MappedMessage, PatientRecord, ProcedureRecord, Update } from './mapping/records';
import type { PreparedMessage, StoredMessage } from './intake.types';

/** A failure worth retrying: the database is unreachable, or a concurrent writer got there first. */
export class TransientStoreError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'TransientStoreError';
  }
}

class ConcurrentInsert extends Error {}

interface Row {
  [k: string]: unknown;
}

async function rows<T extends Row>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const runner = em.queryRunner;
  if (!runner) throw new Error('a transaction manager was expected');
  const r = await runner.query(sql, params, true);
  return r.records as T[];
}

/** Tri-state to SQL text: NULL keeps, '' clears, a value sets. */
function tri(v: Update<string>): string | null {
  return v === undefined ? null : v === null ? '' : v;
}
function triJson(v: Update<object>): string | null {
  return v === undefined ? null : v === null ? '' : JSON.stringify(v);
}
/** Folds records with the same key: later fields win, unless they are undefined (= keep). */
function fold<T extends { key: string }>(records: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const r of records) {
    const prev = byKey.get(r.key);
    if (!prev) {
      byKey.set(r.key, { ...r });
      continue;
    }
    for (const [k, v] of Object.entries(r as Record<string, unknown>)) if (v !== undefined) (prev as Record<string, unknown>)[k] = v;
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
function lastByKey<T>(records: T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of records) m.set(key(r), r);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

const TRANSIENT_CODES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);

function pgCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; driverError?: { code?: unknown } };
  const c = err.driverError?.code ?? err.code;
  return typeof c === 'string' ? c : undefined; // pg errors carry a string SQLSTATE; others none
}

/** Connection failures and lock conflicts: the same batch may succeed if tried again later. */
export function isTransient(e: unknown): boolean {
  if (e instanceof TransientStoreError || e instanceof ConcurrentInsert) return true;
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

interface ApplyContext {
  em: EntityManager;
  messageIds: string[];
  mapped: MappedMessage[];
}

interface ApplyOutcome {
  patientIds: (string | undefined)[];
  encounterIds: (string | undefined)[];
  charges: number[];
  warnings: string[][];
}

/**
 * Every query of the intake path. One transaction stores a whole group of messages: raw rows,
 * dedupe, and what they map to, with multi-row statements (unnest) instead of a round trip per
 * row. Nothing here decides HL7 semantics; the mapper did that.
 */
@Injectable()
export class IntakeRepository {
  private readonly log = logger('intake.repository');

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a group in one transaction. A data error that one message causes does not fail the
   * others: the group is retried one message at a time and that message is stored as `error`.
   */
  async store(items: PreparedMessage[]): Promise<StoredMessage[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dataSource.transaction((em) => this.storeInTransaction(em, items));
      } catch (e) {
        if (e instanceof ConcurrentInsert || pgCode(e) === '40P01' || pgCode(e) === '40001') {
          if (attempt < 5) continue;
        }
        if (isTransient(e)) throw new TransientStoreError('database unavailable', e);
        if (isDataError(e) && items.length > 1) return this.storeOneByOne(items);
        if (isDataError(e) && items.length === 1) {
          const only = items[0] as PreparedMessage;
          this.log.warn({ event: 'store_data_error', sqlstate: pgCode(e), controlId: only.controlId });
          return this.dataSource.transaction((em) =>
            this.storeInTransaction(em, [{ ...only, status: 'error', ackCode: 'AE', mapped: undefined, error: `the database refused the derived data (SQLSTATE ${pgCode(e) ?? '?'}); fix the message and reprocess`, errorLocation: undefined }]),
          );
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

  /** Stores a group inside a transaction the caller holds (reprocessing a batch container). */
  async storeInTransaction(em: EntityManager, items: PreparedMessage[]): Promise<StoredMessage[]> {
    // 1. Dedupe: which (sender, control id) pairs were seen before, with which content.
    const existing = await rows<{ id: string; sending_application: string; sending_facility: string; control_id: string; content_hash: Buffer; status: MessageStatus; ack_code: AckCode | null; error: string | null; error_location: string | null }>(
      em,
      `SELECT m.id, m.sending_application, m.sending_facility, m.control_id, m.content_hash, m.status, m.ack_code, m.error, m.error_location
         FROM inbound_message m
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(app, fac, ctl)
           ON m.sending_application = k.app AND m.sending_facility = k.fac AND m.control_id = k.ctl
        WHERE m.duplicate_of_id IS NULL`,
      [items.map((i) => i.sendingApplication), items.map((i) => i.sendingFacility), items.map((i) => i.controlId)],
    );
    const senderKey = (app: string, fac: string, ctl: string): string => JSON.stringify([app, fac, ctl]);
    const bySender = new Map<string, typeof existing>();
    for (const r of existing) {
      const k = senderKey(r.sending_application, r.sending_facility, r.control_id);
      const list = bySender.get(k) ?? [];
      list.push(r);
      bySender.set(k, list);
    }
    type Plan = { kind: 'original'; reused: boolean } | { kind: 'duplicate'; ofExisting: (typeof existing)[number] } | { kind: 'duplicate-in-batch'; of: number };
    const plans: Plan[] = [];
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

    // 2. Insert the originals (status already decided by the mapper).
    const originals = items.map((it, i) => ({ it, i })).filter(({ i }) => plans[i]?.kind === 'original');
    const ids: (string | undefined)[] = new Array<string | undefined>(items.length);
    if (originals.length > 0) {
      const inserted = await rows<{ id: string; ord: number }>(
        em,
        `WITH v AS (
           SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                $11::bytea[], $12::bytea[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::bool[], $19::text[])
             AS v(ord, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
                  content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused, warnings)
         ), ins AS (
           INSERT INTO inbound_message (source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                                        batch_control_id, content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused,
                                        warnings, processed_at)
           SELECT source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
                  content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused,
                  CASE WHEN warnings IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(warnings::json)) END, now()
             FROM v ORDER BY ord
           ON CONFLICT (sending_application, sending_facility, control_id, content_hash) WHERE duplicate_of_id IS NULL DO NOTHING
           RETURNING id, sending_application, sending_facility, control_id, content_hash
         )
         SELECT ins.id, v.ord FROM ins JOIN v USING (sending_application, sending_facility, control_id, content_hash)`,
        [
          originals.map(({ i }) => i),
          originals.map(({ it }) => it.source),
          originals.map(({ it }) => it.connectionId ?? null),
          originals.map(({ it }) => it.controlId),
          originals.map(({ it }) => it.sendingApplication),
          originals.map(({ it }) => it.sendingFacility),
          originals.map(({ it }) => it.messageType),
          originals.map(({ it }) => it.triggerEvent),
          originals.map(({ it }) => it.version),
          originals.map(({ it }) => it.batchControlId ?? null),
          originals.map(({ it }) => it.contentHash),
          originals.map(({ it }) => it.raw),
          originals.map(({ it }) => it.charset),
          originals.map(({ it }) => it.status),
          originals.map(({ it }) => it.ackCode),
          originals.map(({ it }) => it.error ?? null),
          originals.map(({ it }) => it.errorLocation ?? null),
          originals.map(({ i }) => {
            const p = plans[i];
            return p?.kind === 'original' && p.reused;
          }),
          originals.map(({ it }) => (it.mapped && it.mapped.warnings.length > 0 ? JSON.stringify(it.mapped.warnings) : null)),
        ],
      );
      for (const r of inserted) ids[r.ord] = r.id;
      // Another instance stored one of these between our look-up and our insert: start again,
      // and the look-up will now classify it as a duplicate.
      if (inserted.length !== originals.length) throw new ConcurrentInsert('concurrent insert of the same message');
    }

    // 3. Duplicates: stored too (nothing is dropped), pointing at their original.
    const dups = items.map((it, i) => ({ it, i })).filter(({ i }) => plans[i]?.kind !== 'original');
    if (dups.length > 0) {
      const origIdOf = (i: number): string => {
        const p = plans[i];
        if (p?.kind === 'duplicate') return p.ofExisting.id;
        if (p?.kind === 'duplicate-in-batch') return ids[p.of] as string;
        throw new Error('unreachable');
      };
      const inserted = await rows<{ id: string; ord: number }>(
        em,
        `INSERT INTO inbound_message (source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                                      batch_control_id, content_hash, raw, charset, status, ack_code, duplicate_of_id, processed_at)
         SELECT v.source, v.connection_id, v.control_id, v.sending_application, v.sending_facility, v.message_type, v.trigger_event, v.version,
                v.batch_control_id, v.content_hash, v.raw, v.charset, 'duplicate', o.ack_code, v.dup_of, now()
           FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[], $12::bytea[], $13::text[], $14::bigint[])
             AS v(ord, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id, content_hash, raw, charset, dup_of)
           JOIN inbound_message o ON o.id = v.dup_of
          ORDER BY v.ord
         RETURNING inbound_message.id`,
        [
          dups.map(({ i }) => i),
          dups.map(({ it }) => it.source),
          dups.map(({ it }) => it.connectionId ?? null),
          dups.map(({ it }) => it.controlId),
          dups.map(({ it }) => it.sendingApplication),
          dups.map(({ it }) => it.sendingFacility),
          dups.map(({ it }) => it.messageType),
          dups.map(({ it }) => it.triggerEvent),
          dups.map(({ it }) => it.version),
          dups.map(({ it }) => it.batchControlId ?? null),
          dups.map(({ it }) => it.contentHash),
          dups.map(({ it }) => it.raw),
          dups.map(({ it }) => it.charset),
          dups.map(({ i }) => origIdOf(i)),
        ],
      );
      if (inserted.length !== dups.length) throw new Error('duplicate rows were not all stored');
      dups.forEach(({ i }, n) => {
        ids[i] = inserted[n]?.id;
      });
    }

    // 4. Apply what the processed originals carry.
    const toApply = originals.filter(({ it }) => it.status === 'processed' && it.mapped?.action === 'apply');
    const outcome = await this.applyDerived({
      em,
      messageIds: toApply.map(({ i }) => ids[i] as string),
      mapped: toApply.map(({ it }) => it.mapped as MappedMessage),
    });

    const chargesByIndex = new Map<number, number>();
    const warningsByIndex = new Map<number, string[]>();
    toApply.forEach(({ i }, n) => {
      chargesByIndex.set(i, outcome.charges[n] ?? 0);
      warningsByIndex.set(i, outcome.warnings[n] ?? []);
    });

    return items.map((it, i): StoredMessage => {
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
      return {
        messageId, status: it.status, ackCode: it.ackCode, error: it.error, errorLocation: it.errorLocation, controlIdReused: p?.kind === 'original' && p.reused,
        warnings: [...(it.mapped?.warnings ?? []), ...(warningsByIndex.get(i) ?? [])], charges: chargesByIndex.get(i) ?? 0,
      };
    });
  }

  /**
   * Applies mapped messages in order. A merge (A40) is a barrier: what comes before it is applied
   * first, then the merge, then the rest, so that order-dependent results stay as sequential.
   */
  async applyDerived(ctx: ApplyContext): Promise<ApplyOutcome> {
    const out: ApplyOutcome = { patientIds: [], encounterIds: [], charges: [], warnings: [] };
    let start = 0;
    for (let i = 0; i <= ctx.mapped.length; i++) {
      const isBarrier = i < ctx.mapped.length && (ctx.mapped[i]?.merges.length ?? 0) > 0;
      if (i === ctx.mapped.length || isBarrier) {
        if (i > start) this.appendOutcome(out, await this.applyRun(ctx.em, ctx.messageIds.slice(start, i), ctx.mapped.slice(start, i)));
        if (isBarrier) {
          this.appendOutcome(out, await this.applyRun(ctx.em, ctx.messageIds.slice(i, i + 1), ctx.mapped.slice(i, i + 1)));
          start = i + 1;
        }
      }
    }
    if (ctx.messageIds.length > 0) {
      await rows(
        ctx.em,
        `UPDATE inbound_message m SET patient_id = v.patient_id, encounter_id = v.encounter_id,
                warnings = CASE WHEN v.warnings IS NULL THEN m.warnings
                                ELSE COALESCE(m.warnings, '{}') || ARRAY(SELECT json_array_elements_text(v.warnings::json)) END
           FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS v(id, patient_id, encounter_id, warnings) WHERE m.id = v.id`,
        [
          ctx.messageIds, out.patientIds.map((x) => x ?? null), out.encounterIds.map((x) => x ?? null),
          out.warnings.map((w) => (w.length > 0 ? JSON.stringify(w) : null)),
        ],
      );
    }
    return out;
  }

  private appendOutcome(into: ApplyOutcome, o: ApplyOutcome): void {
    into.patientIds.push(...o.patientIds);
    into.encounterIds.push(...o.encounterIds);
    into.charges.push(...o.charges);
    into.warnings.push(...o.warnings);
  }

  private async applyRun(em: EntityManager, messageIds: string[], mapped: MappedMessage[]): Promise<ApplyOutcome> {
    const withMsg = <T>(pick: (m: MappedMessage) => T[]): (T & { messageId: string; n: number })[] =>
      mapped.flatMap((m, n) => pick(m).map((r) => ({ ...r, messageId: messageIds[n] as string, n })));

    const patients = await this.upsertPatients(em, withMsg((m) => m.patients));
    for (const m of mapped) {
      for (const merge of m.merges) await this.merge(em, patients, merge.survivorKey, merge.priorKeys);
    }
    const encounters = await this.upsertEncounters(em, withMsg((m) => m.encounters), patients);
    await this.upsertCoverages(em, withMsg((m) => m.coverages), patients, encounters);
    await this.upsertDiagnoses(em, withMsg((m) => m.diagnoses), encounters);
    await this.upsertProcedures(em, withMsg((m) => m.procedures), encounters);
    const warnings: string[][] = mapped.map(() => []);
    const charges = await this.insertCharges(em, withMsg((m) => m.charges), encounters, warnings);
    return {
      patientIds: mapped.map((m) => (m.patients[0] ? patients.get(m.patients[0].key) : undefined)),
      encounterIds: mapped.map((m) => (m.encounters[0] ? encounters.get(m.encounters[0].key)?.id : undefined)),
      charges,
      warnings,
    };
  }

  /** Returns patient key → effective id (the survivor's id for a merged patient). */
  private async upsertPatients(em: EntityManager, input: (PatientRecord & { messageId: string })[]): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    if (input.length === 0) return map;
    const recs = fold(input);
    const cols = ['identifiers', 'family_name', 'given_name', 'middle_name', 'name_suffix', 'birth_date', 'sex', 'address', 'phone', 'account_number'] as const;
    const cast: Record<(typeof cols)[number], string> = {
      identifiers: 'jsonb', family_name: 'text', given_name: 'text', middle_name: 'text', name_suffix: 'text', birth_date: 'date', sex: 'text', address: 'jsonb', phone: 'text', account_number: 'text',
    };
    const result = await rows<{ id: string; patient_key: string; merged_into_id: string | null }>(
      em,
      `WITH v AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], ${cols.map((_, i) => `$${i + 5}::text[]`).join(', ')})
           AS v(patient_key, mrn, mrn_authority, message_id, ${cols.join(', ')})
       ), ins AS (
         INSERT INTO patient (patient_key, mrn, mrn_authority, last_message_id, ${cols.join(', ')})
         SELECT patient_key, mrn, mrn_authority, message_id, ${cols.map((c) => `NULLIF(${c}, '')::${cast[c]}`).join(', ')} FROM v
         ON CONFLICT (patient_key) DO NOTHING
         RETURNING id, patient_key, merged_into_id
       ), upd AS (
         UPDATE patient p SET ${cols.map((c) => `${c} = CASE WHEN v.${c} IS NULL THEN p.${c} ELSE NULLIF(v.${c}, '')::${cast[c]} END`).join(', ')},
                last_message_id = v.message_id, updated_at = now()
           FROM v WHERE p.patient_key = v.patient_key
         RETURNING p.id, p.patient_key, p.merged_into_id
       )
       SELECT * FROM ins UNION ALL SELECT * FROM upd`,
      [
        recs.map((r) => r.key), recs.map((r) => r.mrn), recs.map((r) => r.mrnAuthority), recs.map((r) => r.messageId),
        recs.map((r) => triJson(r.identifiers)), recs.map((r) => tri(r.familyName)), recs.map((r) => tri(r.givenName)), recs.map((r) => tri(r.middleName)),
        recs.map((r) => tri(r.nameSuffix)), recs.map((r) => tri(r.birthDate)), recs.map((r) => tri(r.sex)), recs.map((r) => triJson(r.address)),
        recs.map((r) => tri(r.phone)), recs.map((r) => tri(r.accountNumber)),
      ],
    );
    if (result.length !== recs.length) throw new ConcurrentInsert('concurrent patient insert');
    for (const r of result) map.set(r.patient_key, r.merged_into_id ?? r.id);
    return map;
  }

  /** A40: the prior patients point at the survivor, and their encounters, coverages and charges move to it. */
  private async merge(em: EntityManager, patients: Map<string, string>, survivorKey: string, priorKeys: string[]): Promise<void> {
    const survivor = patients.get(survivorKey);
    if (survivor === undefined || priorKeys.length === 0) return;
    const prior = await rows<{ id: string; patient_key: string }>(
      em,
      `UPDATE patient SET merged_into_id = $1, updated_at = now() WHERE patient_key = ANY($2::text[]) AND id <> $1 RETURNING id, patient_key`,
      [survivor, priorKeys],
    );
    if (prior.length === 0) return;
    const priorIds = prior.map((p) => p.id);
    await rows(em, `UPDATE patient SET merged_into_id = $1 WHERE merged_into_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await rows(em, `UPDATE encounter SET patient_id = $1, updated_at = now() WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await rows(em, `UPDATE coverage SET patient_id = $1 WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await rows(em, `UPDATE charge SET patient_id = $1 WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    for (const p of prior) patients.set(p.patient_key, survivor);
  }

  private async upsertEncounters(
    em: EntityManager,
    input: (EncounterRecord & { messageId: string })[],
    patients: Map<string, string>,
  ): Promise<Map<string, { id: string; status: string }>> {
    const map = new Map<string, { id: string; status: string }>();
    if (input.length === 0) return map;
    const recs = fold(input);
    const cols = [
      ['visit_number', 'text', (r: EncounterRecord) => tri(r.visitNumber)],
      ['account_number', 'text', (r: EncounterRecord) => tri(r.accountNumber)],
      ['status', 'text', (r: EncounterRecord) => tri(r.status)],
      ['patient_class', 'text', (r: EncounterRecord) => tri(r.patientClass)],
      ['admit_type', 'text', (r: EncounterRecord) => tri(r.admitType)],
      ['admit_source', 'text', (r: EncounterRecord) => tri(r.admitSource)],
      ['hospital_service', 'text', (r: EncounterRecord) => tri(r.hospitalService)],
      ['financial_class', 'text', (r: EncounterRecord) => tri(r.financialClass)],
      ['facility', 'text', (r: EncounterRecord) => tri(r.facility)],
      ['location', 'jsonb', (r: EncounterRecord) => triJson(r.location)],
      ['attending_provider', 'jsonb', (r: EncounterRecord) => triJson(r.attendingProvider)],
      ['referring_provider', 'jsonb', (r: EncounterRecord) => triJson(r.referringProvider)],
      ['admitting_provider', 'jsonb', (r: EncounterRecord) => triJson(r.admittingProvider)],
      ['admit_at', 'timestamp', (r: EncounterRecord) => tri(r.admitAt)],
      ['discharge_at', 'timestamp', (r: EncounterRecord) => tri(r.dischargeAt)],
      ['discharge_disposition', 'text', (r: EncounterRecord) => tri(r.dischargeDisposition)],
      ['guarantor', 'jsonb', (r: EncounterRecord) => triJson(r.guarantor)],
    ] as const;
    const names = cols.map((c) => c[0]);
    const insertValue = (c: string, t: string): string => (c === 'status' ? `COALESCE(NULLIF(status, ''), 'active')` : `NULLIF(${c}, '')::${t}`);
    const result = await rows<{ id: string; encounter_key: string; status: string; old_status: string | null }>(
      em,
      `WITH v AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], ${cols.map((_, i) => `$${i + 5}::text[]`).join(', ')})
           AS v(encounter_key, key_source, patient_id, message_id, ${names.join(', ')})
       ), old AS (
         SELECT e.id, e.status FROM encounter e JOIN v ON v.encounter_key = e.encounter_key
       ), ins AS (
         INSERT INTO encounter (encounter_key, key_source, patient_id, last_message_id, ${names.join(', ')})
         SELECT encounter_key, key_source, patient_id, message_id, ${cols.map(([c, t]) => insertValue(c, t)).join(', ')} FROM v
         ON CONFLICT (encounter_key) DO NOTHING
         RETURNING id, encounter_key, status
       ), upd AS (
         UPDATE encounter e SET ${cols.map(([c, t]) => `${c} = CASE WHEN v.${c} IS NULL THEN e.${c} ELSE NULLIF(v.${c}, '')::${t} END`).join(', ')},
                patient_id = v.patient_id, last_message_id = v.message_id, updated_at = now()
           FROM v WHERE e.encounter_key = v.encounter_key
         RETURNING e.id, e.encounter_key, e.status
       )
       SELECT ins.*, NULL::text AS old_status FROM ins
       UNION ALL SELECT upd.*, old.status AS old_status FROM upd JOIN old ON old.id = upd.id`,
      [
        recs.map((r) => r.key), recs.map((r) => r.keySource), recs.map((r) => patients.get(r.patientKey) ?? null), recs.map((r) => r.messageId),
        ...cols.map(([, , f]) => recs.map((r) => f(r))),
      ],
    );
    if (result.length !== recs.length) throw new ConcurrentInsert('concurrent encounter insert');
    const cancelled: string[] = [];
    const reinstated: string[] = [];
    for (const r of result) {
      map.set(r.encounter_key, { id: r.id, status: r.status });
      if (r.status === 'cancelled' && r.old_status !== 'cancelled') cancelled.push(r.id);
      if (r.status !== 'cancelled' && r.old_status === 'cancelled') reinstated.push(r.id);
    }
    // A11 cancel admit: the encounter's charges are held; a later admit releases them.
    if (cancelled.length > 0) {
      await rows(em, `UPDATE charge SET status = 'held', hold_reason = 'encounter cancelled' WHERE encounter_id = ANY($1::bigint[]) AND status = 'posted'`, [cancelled]);
    }
    if (reinstated.length > 0) {
      await rows(em, `UPDATE charge SET status = 'posted', hold_reason = NULL WHERE encounter_id = ANY($1::bigint[]) AND status = 'held' AND hold_reason = 'encounter cancelled'`, [reinstated]);
    }
    return map;
  }

  private async upsertCoverages(
    em: EntityManager,
    input: (CoverageRecord & { messageId: string })[],
    patients: Map<string, string>,
    encounters: Map<string, { id: string }>,
  ): Promise<void> {
    if (input.length === 0) return;
    const recs = lastByKey(input, (c) => `${c.ownerKey}#${c.setId}`);
    await rows(
      em,
      `INSERT INTO coverage (coverage_key, patient_id, encounter_id, set_id, payer_id, payer_name, plan_id, plan_type, group_number, group_name, member_id,
                             insured_name, insured_relationship, insured_birth_date, insured_address, effective_date, expiration_date, last_message_id)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                            $12::jsonb[], $13::text[], $14::date[], $15::jsonb[], $16::date[], $17::date[], $18::bigint[])
       ON CONFLICT (coverage_key) DO UPDATE SET
         patient_id = EXCLUDED.patient_id, encounter_id = EXCLUDED.encounter_id, payer_id = EXCLUDED.payer_id, payer_name = EXCLUDED.payer_name,
         plan_id = EXCLUDED.plan_id, plan_type = EXCLUDED.plan_type, group_number = EXCLUDED.group_number, group_name = EXCLUDED.group_name,
         member_id = EXCLUDED.member_id, insured_name = EXCLUDED.insured_name, insured_relationship = EXCLUDED.insured_relationship,
         insured_birth_date = EXCLUDED.insured_birth_date, insured_address = EXCLUDED.insured_address, effective_date = EXCLUDED.effective_date,
         expiration_date = EXCLUDED.expiration_date, last_message_id = EXCLUDED.last_message_id, updated_at = now()`,
      [
        recs.map((c) => `${c.ownerKey}#${c.setId}`),
        recs.map((c) => patients.get(c.patientKey) ?? null),
        recs.map((c) => (c.encounterKey === undefined ? null : encounters.get(c.encounterKey)?.id ?? null)),
        recs.map((c) => c.setId),
        recs.map((c) => c.payerId ?? null), recs.map((c) => c.payerName ?? null), recs.map((c) => c.planId ?? null), recs.map((c) => c.planType ?? null),
        recs.map((c) => c.groupNumber ?? null), recs.map((c) => c.groupName ?? null), recs.map((c) => c.memberId ?? null),
        recs.map((c) => (c.insuredName ? JSON.stringify(c.insuredName) : null)), recs.map((c) => c.insuredRelationship ?? null),
        recs.map((c) => c.insuredBirthDate ?? null), recs.map((c) => (c.insuredAddress ? JSON.stringify(c.insuredAddress) : null)),
        recs.map((c) => c.effectiveDate ?? null), recs.map((c) => c.expirationDate ?? null), recs.map((c) => c.messageId),
      ],
    );
  }

  private async upsertDiagnoses(em: EntityManager, input: (DiagnosisRecord & { messageId: string })[], encounters: Map<string, { id: string }>): Promise<void> {
    if (input.length === 0) return;
    const recs = lastByKey(input, (d) => JSON.stringify([d.encounterKey, d.codingSystem, d.code]));
    await rows(
      em,
      `INSERT INTO diagnosis (encounter_id, set_id, code, coding_system, description, diagnosis_type, priority, last_message_id)
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[])
       ON CONFLICT (encounter_id, coding_system, code) DO UPDATE SET
         set_id = COALESCE(EXCLUDED.set_id, diagnosis.set_id), description = COALESCE(EXCLUDED.description, diagnosis.description),
         diagnosis_type = COALESCE(EXCLUDED.diagnosis_type, diagnosis.diagnosis_type), priority = COALESCE(EXCLUDED.priority, diagnosis.priority),
         last_message_id = EXCLUDED.last_message_id`,
      [
        recs.map((d) => encounters.get(d.encounterKey)?.id ?? null), recs.map((d) => d.setId ?? null), recs.map((d) => d.code), recs.map((d) => d.codingSystem),
        recs.map((d) => d.description ?? null), recs.map((d) => d.diagnosisType ?? null), recs.map((d) => d.priority ?? null), recs.map((d) => d.messageId),
      ],
    );
  }

  private async upsertProcedures(em: EntityManager, input: (ProcedureRecord & { messageId: string })[], encounters: Map<string, { id: string }>): Promise<void> {
    if (input.length === 0) return;
    const keyOf = (p: ProcedureRecord): string => JSON.stringify([p.codingSystem, p.code, p.procedureAt ?? '']);
    const recs = lastByKey(input, (p) => p.encounterKey + keyOf(p));
    await rows(
      em,
      `INSERT INTO procedure (encounter_id, set_id, code, coding_system, description, procedure_at, procedure_key, surgeon, last_message_id)
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamp[], $7::text[], $8::jsonb[], $9::bigint[])
       ON CONFLICT (encounter_id, procedure_key) DO UPDATE SET
         set_id = COALESCE(EXCLUDED.set_id, procedure.set_id), description = COALESCE(EXCLUDED.description, procedure.description),
         surgeon = COALESCE(EXCLUDED.surgeon, procedure.surgeon), last_message_id = EXCLUDED.last_message_id`,
      [
        recs.map((p) => encounters.get(p.encounterKey)?.id ?? null), recs.map((p) => p.setId ?? null), recs.map((p) => p.code), recs.map((p) => p.codingSystem),
        recs.map((p) => p.description ?? null), recs.map((p) => p.procedureAt ?? null), recs.map(keyOf),
        recs.map((p) => (p.surgeon ? JSON.stringify(p.surgeon) : null)), recs.map((p) => p.messageId),
      ],
    );
  }

  /**
   * Inserts the charges; prices unpriced ones from the chargemaster; matches each credit to the
   * charge it reverses. Returns the number of charges per message.
   */
  private async insertCharges(
    em: EntityManager,
    input: (ChargeRecord & { messageId: string; n: number })[],
    encounters: Map<string, { id: string; status: string }>,
    warnings: string[][],
  ): Promise<number[]> {
    const counts = warnings.map(() => 0);
    if (input.length === 0) return counts;
    const unpricedCodes = [...new Set(input.filter((c) => c.amount === undefined && c.transactionCode !== undefined).map((c) => c.transactionCode as string))];
    const prices = new Map<string, { price: string; procedure_code: string | null; modifiers: string[] }>();
    if (unpricedCodes.length > 0) {
      const cm = await rows<{ transaction_code: string; price: string; procedure_code: string | null; modifiers: string[] }>(
        em,
        `SELECT transaction_code, price, procedure_code, modifiers FROM chargemaster_item WHERE transaction_code = ANY($1::text[])`,
        [unpricedCodes],
      );
      for (const r of cm) prices.set(r.transaction_code, r);
    }
    const priced = input.map((c) => {
      if (c.amount !== undefined) return { amount: c.amount, source: 'message' as const, procedureCode: c.procedureCode, modifiers: c.modifiers };
      const item = c.transactionCode === undefined ? undefined : prices.get(c.transactionCode);
      if (item) {
        const price = normalizeDecimal(item.price, 2) as string;
        return {
          amount: normalizeDecimal(multiplyDecimal(price, c.quantity), 2) as string,
          source: 'chargemaster' as const,
          procedureCode: c.procedureCode ?? item.procedure_code ?? undefined,
          modifiers: c.modifiers.length > 0 ? c.modifiers : item.modifiers,
        };
      }
      return { amount: undefined, source: 'unpriced' as const, procedureCode: c.procedureCode, modifiers: c.modifiers };
    });
    const status = input.map((c) => {
      if (c.isCredit) return 'unmatched_credit';
      return encounters.get(c.encounterKey)?.status === 'cancelled' ? 'held' : 'posted';
    });
    const inserted = await rows<{ id: string; message_id: string; ft1_index: number }>(
      em,
      `INSERT INTO charge (encounter_id, patient_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
                           transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department,
                           insurance_plan_id, diagnosis_codes, performing_provider, ordering_provider, procedure_code, procedure_code_system, modifiers,
                           ndc, is_credit, status, hold_reason, price_source)
       SELECT v.encounter_id, e.patient_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
              transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department,
              insurance_plan_id, ARRAY(SELECT json_array_elements_text(diagnosis_codes::json)), performing_provider, ordering_provider, procedure_code,
              procedure_code_system, ARRAY(SELECT json_array_elements_text(modifiers::json)), ndc, is_credit, v.status,
              CASE WHEN v.status = 'held' THEN 'encounter cancelled' END, price_source
         FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::date[], $7::date[], $8::date[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::numeric[], $14::numeric[], $15::numeric[], $16::text[], $17::text[], $18::text[], $19::jsonb[], $20::jsonb[],
                     $21::text[], $22::text[], $23::text[], $24::text[], $25::bool[], $26::text[], $27::text[]) WITH ORDINALITY
           AS v(encounter_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
                transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department, insurance_plan_id,
                diagnosis_codes, performing_provider, ordering_provider, procedure_code, procedure_code_system, modifiers, ndc, is_credit, status, price_source, ord)
         JOIN encounter e ON e.id = v.encounter_id
        ORDER BY v.ord
       ON CONFLICT (message_id, ft1_index) DO NOTHING
       RETURNING id, message_id, ft1_index`,
      [
        input.map((c) => encounters.get(c.encounterKey)?.id ?? null),
        input.map((c) => c.messageId),
        input.map((c) => c.ft1Index),
        input.map((c) => c.transactionId ?? null), input.map((c) => c.transactionBatchId ?? null),
        input.map((c) => c.serviceDate), input.map((c) => c.serviceEndDate ?? null), input.map((c) => c.postingDate ?? null),
        input.map((c) => c.transactionType), input.map((c) => c.transactionCode ?? null), input.map((c) => c.transactionCodeSystem ?? null),
        input.map((c) => c.description ?? null), input.map((c) => c.quantity), priced.map((p) => p.amount ?? null), input.map((c) => c.unitAmount ?? null),
        input.map((c) => c.department ?? null), input.map((c) => c.insurancePlanId ?? null), input.map((c) => JSON.stringify(c.diagnosisCodes)),
        input.map((c) => (c.performingProvider ? JSON.stringify(c.performingProvider) : null)),
        input.map((c) => (c.orderingProvider ? JSON.stringify(c.orderingProvider) : null)),
        priced.map((p) => p.procedureCode ?? null), input.map((c) => c.procedureCodeSystem ?? null), priced.map((p) => JSON.stringify(p.modifiers)),
        input.map((c) => c.ndc ?? null), input.map((c) => c.isCredit), status, priced.map((p) => p.source),
      ],
    );
    const idOf = new Map(inserted.map((r) => [`${r.message_id}#${r.ft1_index}`, r.id]));
    input.forEach((c, i) => {
      counts[c.n] = (counts[c.n] ?? 0) + 1;
      if (priced[i]?.source === 'unpriced') warnings[c.n]?.push(`FT1[${c.ft1Index}]: no amount and no chargemaster price: charge is unpriced`);
    });
    // Credits: reverse the matching earlier charge (same transaction id, else same code, date and
    // quantity, and amount when both are priced).
    for (const [i, c] of input.entries()) {
      if (!c.isCredit) continue;
      const creditId = idOf.get(`${c.messageId}#${c.ft1Index}`);
      if (creditId === undefined) continue;
      const amount = priced[i]?.amount;
      const matched = await rows<{ id: string }>(
        em,
        `WITH target AS (
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
        [encounters.get(c.encounterKey)?.id ?? null, c.transactionId ?? null, c.procedureCode ?? c.transactionCode ?? null, c.serviceDate, c.quantity, amount ?? null, creditId],
      );
      if (matched.length === 0) warnings[c.n]?.push(`FT1[${c.ft1Index}]: credit matches no posted charge: kept as an unmatched credit for review`);
    }
    return counts;
  }

  /** Loads a stored message for reprocessing, locking it. */
  async lockForReprocess(em: EntityManager, id: string): Promise<{ id: string; raw: Buffer; charset: string; status: MessageStatus; source: string; connection_id: string | null } | undefined> {
    const r = await rows<{ id: string; raw: Buffer; charset: string; status: MessageStatus; source: string; connection_id: string | null }>(
      em,
      `SELECT id, raw, charset, status, source, connection_id FROM inbound_message WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return r[0];
  }

  /** Records the outcome of a reprocess run on the same row. */
  async updateOutcome(em: EntityManager, id: string, p: PreparedMessage): Promise<void> {
    await rows(
      em,
      `UPDATE inbound_message SET status = $2, ack_code = $3, error = $4, error_location = $5, warnings = $6::text[], attempts = attempts + 1, processed_at = now(),
              control_id = $7, sending_application = $8, sending_facility = $9, message_type = $10, trigger_event = $11, version = $12
        WHERE id = $1`,
      [id, p.status, p.ackCode, p.error ?? null, p.errorLocation ?? null, p.mapped && p.mapped.warnings.length > 0 ? p.mapped.warnings : null,
        p.controlId, p.sendingApplication, p.sendingFacility, p.messageType, p.triggerEvent, p.version],
    );
  }
}
