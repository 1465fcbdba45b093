import { createHash } from 'node:crypto';
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

interface PgClient {
  query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}
const statementNames = new Map<string, string>();
const connectionIds = new WeakMap<object, number>();
let nextConnectionId = 1;

/**
 * Runs one intake statement as a named prepared statement on the transaction's connection: these
 * statements are few, fixed and run thousands of times, and planning them (about 1.5 ms each on
 * a small machine) would otherwise cost more than executing them. The name carries a connection
 * number because pglite-socket shares one backend between its client connections.
 */
/**
 * Whether named statements may be used: not on PGlite, whose socket server multiplexes every
 * client connection onto one backend session (a statement one client prepared would clash with
 * another's). Learned once, from the server's version string.
 */
let namedStatements: Promise<boolean> | undefined;

async function rows<T extends Row>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const runner = em.queryRunner;
  if (!runner) throw new Error('a transaction manager was expected');
  namedStatements ??= runner.query('SELECT version() AS v').then((r: { v: string }[]) => !String(r[0]?.v).includes('PGlite'));
  const client = (runner as unknown as { databaseConnection?: PgClient & object }).databaseConnection;
  if (client === undefined || !(await namedStatements)) {
    const r = await runner.query(sql, params, true);
    return r.records as T[];
  }
  let base = statementNames.get(sql);
  if (base === undefined) {
    base = 'hc' + createHash('sha1').update(sql).digest('hex').slice(0, 16);
    statementNames.set(sql, base);
  }
  let conn = connectionIds.get(client);
  if (conn === undefined) {
    conn = nextConnectionId++;
    connectionIds.set(client, conn);
    // The intake statements take JSON documents: their plans do not depend on the values, and
    // re-planning them for every execution (a custom plan) costs several milliseconds a group.
    await client.query({ name: '', text: 'SET plan_cache_mode = force_generic_plan', values: [] });
  }
  const r = await client.query({ name: `${base}_${conn}`, text: sql, values: params });
  return r.rows as T[];
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

interface SeenMessage extends Row {
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
  /** Reserved message id of each item. */
  ids: string[];
  plans: ({ kind: 'original'; reused: boolean } | { kind: 'duplicate'; ofExisting: SeenMessage } | { kind: 'duplicate-in-batch'; of: number })[];
  /** The original's id for a duplicate, else null. */
  originalOf: (i: number) => string | null;
}

interface EncounterRef {
  id: string;
  status: string;
  patientId: string;
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


/** Encounter columns with update semantics (NULL keeps, '' clears), their SQL type and their value. */
const ENCOUNTER_COLUMNS = [
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

const unpricedWarning = (ft1: number): string => `FT1[${ft1}]: no amount and no chargemaster price: charge is unpriced`;

/** The ACK code stored on a message row: a duplicate repeats its original's. */
function ackCodeOf(items: PreparedMessage[], plans: GroupPlan['plans'], i: number): AckCode {
  const p = plans[i];
  if (p?.kind === 'duplicate') return p.ofExisting.ack_code ?? 'AA';
  if (p?.kind === 'duplicate-in-batch') return items[p.of]?.ackCode ?? 'AA';
  return (items[i] as PreparedMessage).ackCode;
}


const PATIENT_COLUMNS = ['identifiers', 'family_name', 'given_name', 'middle_name', 'name_suffix', 'birth_date', 'sex', 'address', 'phone', 'account_number'] as const;
const PATIENT_TYPES: Record<(typeof PATIENT_COLUMNS)[number], string> = {
  identifiers: 'jsonb', family_name: 'text', given_name: 'text', middle_name: 'text', name_suffix: 'text', birth_date: 'date', sex: 'text', address: 'jsonb', phone: 'text', account_number: 'text',
};
const ENC_NAMES = ENCOUNTER_COLUMNS.map((c) => c[0]);
const encounterInsertValue = (c: string, t: string): string => (c === 'status' ? `COALESCE(NULLIF(status, ''), 'active')` : `NULLIF(${c}, '')::${t}`);

/**
 * The whole group in one statement (see storeInOneStatement). Data-modifying CTEs run once each;
 * later ones use earlier ones' RETURNING rows (patient ids for encounters, encounter ids and
 * statuses for coverages, diagnoses and charges, both for the message rows). Parameters: $1..$7
 * JSON documents (patients, encounters, coverages, diagnoses, procedures, charges, messages), $8..$10
 * the expected numbers of new message rows, patients and encounters.
 */
const ONE_STATEMENT_SQL = `
WITH pv AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(patient_key text, mrn text, mrn_authority text, message_id bigint, ${PATIENT_COLUMNS.map((c) => `${c} text`).join(', ')})
), pins AS (
  INSERT INTO patient (patient_key, mrn, mrn_authority, last_message_id, ${PATIENT_COLUMNS.join(', ')})
  SELECT patient_key, mrn, mrn_authority, message_id, ${PATIENT_COLUMNS.map((c) => `NULLIF(${c}, '')::${PATIENT_TYPES[c]}`).join(', ')} FROM pv ORDER BY patient_key
  ON CONFLICT (patient_key) DO NOTHING
  RETURNING id, patient_key, merged_into_id
), pupd AS (
  UPDATE patient p SET ${PATIENT_COLUMNS.map((c) => `${c} = CASE WHEN pv.${c} IS NULL THEN p.${c} ELSE NULLIF(pv.${c}, '')::${PATIENT_TYPES[c]} END`).join(', ')},
         last_message_id = pv.message_id, updated_at = now()
    FROM pv WHERE p.patient_key = pv.patient_key
  RETURNING p.id, p.patient_key, p.merged_into_id
), pat AS (
  SELECT patient_key, COALESCE(merged_into_id, id) AS id FROM pins
  UNION ALL SELECT patient_key, COALESCE(merged_into_id, id) FROM pupd
), ev AS (
  SELECT v.*, pat.id AS patient_id
    FROM jsonb_to_recordset($2::jsonb) AS v(encounter_key text, key_source text, patient_key text, message_id bigint, ${ENC_NAMES.map((c) => `${c} text`).join(', ')})
    JOIN pat USING (patient_key)
), eold AS (
  SELECT e.id, e.status FROM encounter e JOIN ev ON ev.encounter_key = e.encounter_key
), eins AS (
  INSERT INTO encounter (encounter_key, key_source, patient_id, last_message_id, ${ENC_NAMES.join(', ')})
  SELECT encounter_key, key_source, patient_id, message_id, ${ENCOUNTER_COLUMNS.map(([c, t]) => encounterInsertValue(c, t)).join(', ')} FROM ev ORDER BY encounter_key
  ON CONFLICT (encounter_key) DO NOTHING
  RETURNING id, encounter_key, status, patient_id
), eupd AS (
  UPDATE encounter e SET ${ENCOUNTER_COLUMNS.map(([c, t]) => `${c} = CASE WHEN ev.${c} IS NULL THEN e.${c} ELSE NULLIF(ev.${c}, '')::${t} END`).join(', ')},
         patient_id = ev.patient_id, last_message_id = ev.message_id, updated_at = now()
    FROM ev WHERE e.encounter_key = ev.encounter_key
  RETURNING e.id, e.encounter_key, e.status, e.patient_id
), enc AS (
  SELECT id, encounter_key, status, patient_id, NULL::text AS old_status FROM eins
  UNION ALL SELECT u.id, u.encounter_key, u.status, u.patient_id, o.status FROM eupd u JOIN eold o ON o.id = u.id
), hold AS (
  -- A11 cancel admit: the encounter's charges are held; a later admit releases them.
  UPDATE charge c SET status = 'held', hold_reason = 'encounter cancelled'
    FROM enc WHERE c.encounter_id = enc.id AND enc.status = 'cancelled' AND enc.old_status IS DISTINCT FROM 'cancelled' AND c.status = 'posted'
  RETURNING 1
), release AS (
  UPDATE charge c SET status = 'posted', hold_reason = NULL
    FROM enc WHERE c.encounter_id = enc.id AND enc.old_status = 'cancelled' AND enc.status <> 'cancelled' AND c.status = 'held' AND c.hold_reason = 'encounter cancelled'
  RETURNING 1
), cov AS (
  INSERT INTO coverage (coverage_key, patient_id, encounter_id, set_id, payer_id, payer_name, plan_id, plan_type, group_number, group_name, member_id,
                        insured_name, insured_relationship, insured_birth_date, insured_address, effective_date, expiration_date, last_message_id)
  SELECT v.coverage_key, pat.id, enc.id, v.set_id, v.payer_id, v.payer_name, v.plan_id, v.plan_type, v.group_number, v.group_name, v.member_id,
         v.insured_name, v.insured_relationship, v.insured_birth_date, v.insured_address, v.effective_date, v.expiration_date, v.message_id
    FROM jsonb_to_recordset($3::jsonb) AS v(coverage_key text, patient_key text, encounter_key text, set_id int, payer_id text, payer_name text,
           plan_id text, plan_type text, group_number text, group_name text, member_id text, insured_name jsonb, insured_relationship text,
           insured_birth_date date, insured_address jsonb, effective_date date, expiration_date date, message_id bigint)
    JOIN pat ON pat.patient_key = v.patient_key LEFT JOIN enc ON enc.encounter_key = v.encounter_key
   ORDER BY v.coverage_key
  ON CONFLICT (coverage_key) DO UPDATE SET
    patient_id = EXCLUDED.patient_id, encounter_id = EXCLUDED.encounter_id, payer_id = EXCLUDED.payer_id, payer_name = EXCLUDED.payer_name,
    plan_id = EXCLUDED.plan_id, plan_type = EXCLUDED.plan_type, group_number = EXCLUDED.group_number, group_name = EXCLUDED.group_name,
    member_id = EXCLUDED.member_id, insured_name = EXCLUDED.insured_name, insured_relationship = EXCLUDED.insured_relationship,
    insured_birth_date = EXCLUDED.insured_birth_date, insured_address = EXCLUDED.insured_address, effective_date = EXCLUDED.effective_date,
    expiration_date = EXCLUDED.expiration_date, last_message_id = EXCLUDED.last_message_id, updated_at = now()
  RETURNING 1
), dx AS (
  INSERT INTO diagnosis (encounter_id, set_id, code, coding_system, description, diagnosis_type, priority, last_message_id)
  SELECT enc.id, v.set_id, v.code, v.coding_system, v.description, v.diagnosis_type, v.priority, v.message_id
    FROM jsonb_to_recordset($4::jsonb) AS v(encounter_key text, set_id int, code text, coding_system text, description text, diagnosis_type text, priority int, message_id bigint)
    JOIN enc ON enc.encounter_key = v.encounter_key
   ORDER BY enc.id, v.coding_system, v.code
  ON CONFLICT (encounter_id, coding_system, code) DO UPDATE SET
    set_id = COALESCE(EXCLUDED.set_id, diagnosis.set_id), description = COALESCE(EXCLUDED.description, diagnosis.description),
    diagnosis_type = COALESCE(EXCLUDED.diagnosis_type, diagnosis.diagnosis_type), priority = COALESCE(EXCLUDED.priority, diagnosis.priority),
    last_message_id = EXCLUDED.last_message_id
  RETURNING 1
), pr AS (
  INSERT INTO procedure (encounter_id, set_id, code, coding_system, description, procedure_at, procedure_key, surgeon, last_message_id)
  SELECT enc.id, v.set_id, v.code, v.coding_system, v.description, v.procedure_at, v.procedure_key, v.surgeon, v.message_id
    FROM jsonb_to_recordset($5::jsonb) AS v(encounter_key text, set_id int, code text, coding_system text, description text, procedure_at timestamp,
           procedure_key text, surgeon jsonb, message_id bigint)
    JOIN enc ON enc.encounter_key = v.encounter_key
   ORDER BY enc.id, v.procedure_key
  ON CONFLICT (encounter_id, procedure_key) DO UPDATE SET
    set_id = COALESCE(EXCLUDED.set_id, procedure.set_id), description = COALESCE(EXCLUDED.description, procedure.description),
    surgeon = COALESCE(EXCLUDED.surgeon, procedure.surgeon), last_message_id = EXCLUDED.last_message_id
  RETURNING 1
), ch AS (
  INSERT INTO charge (encounter_id, patient_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
                      transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department,
                      insurance_plan_id, diagnosis_codes, performing_provider, ordering_provider, procedure_code, procedure_code_system, modifiers,
                      ndc, is_credit, status, hold_reason, price_source)
  SELECT enc.id, enc.patient_id, v.message_id, v.ft1_index, v.transaction_id, v.transaction_batch_id, v.service_date, v.service_end_date, v.posting_date,
         v.transaction_type, v.transaction_code, v.transaction_code_system, v.description, v.quantity,
         COALESCE(v.amount, round(cm.price * v.quantity, 2)), v.unit_amount, v.department, v.insurance_plan_id, v.diagnosis_codes,
         v.performing_provider, v.ordering_provider, COALESCE(v.procedure_code, cm.procedure_code), v.procedure_code_system,
         CASE WHEN cardinality(v.modifiers) > 0 THEN v.modifiers ELSE COALESCE(cm.modifiers, '{}') END, v.ndc, false,
         CASE WHEN enc.status = 'cancelled' THEN 'held' ELSE 'posted' END,
         CASE WHEN enc.status = 'cancelled' THEN 'encounter cancelled' END,
         CASE WHEN v.amount IS NOT NULL THEN 'message' WHEN cm.price IS NOT NULL THEN 'chargemaster' ELSE 'unpriced' END
    FROM jsonb_to_recordset($6::jsonb) AS v(o int, encounter_key text, message_id bigint, ft1_index int, transaction_id text, transaction_batch_id text,
           service_date date, service_end_date date, posting_date date, transaction_type text, transaction_code text, transaction_code_system text,
           description text, quantity numeric, amount numeric, unit_amount numeric, department text, insurance_plan_id text, diagnosis_codes text[],
           performing_provider jsonb, ordering_provider jsonb, procedure_code text, procedure_code_system text, modifiers text[], ndc text)
    JOIN enc ON enc.encounter_key = v.encounter_key
    LEFT JOIN chargemaster_item cm ON v.amount IS NULL AND cm.transaction_code = v.transaction_code
   ORDER BY v.o
  ON CONFLICT (message_id, ft1_index) DO NOTHING
  RETURNING message_id, ft1_index, price_source
), unpriced AS (
  SELECT message_id, array_agg('FT1[' || ft1_index || ']: no amount and no chargemaster price: charge is unpriced' ORDER BY ft1_index) AS warnings
    FROM ch WHERE price_source = 'unpriced' GROUP BY message_id
), mv AS (
  SELECT v.*, pat.id AS patient_id, enc.id AS encounter_id, v.warnings || COALESCE(u.warnings, '{}') AS all_warnings
    FROM jsonb_to_recordset($7::jsonb) AS v(id bigint, source text, connection_id text, control_id text, sending_application text, sending_facility text,
           message_type text, trigger_event text, version text, batch_control_id text, content_hash text, raw text, charset text, status text,
           ack_code text, error text, error_location text, control_id_reused boolean, warnings text[], duplicate_of_id bigint, patient_key text,
           encounter_key text)
    LEFT JOIN pat ON pat.patient_key = v.patient_key
    LEFT JOIN enc ON enc.encounter_key = v.encounter_key
    LEFT JOIN unpriced u ON u.message_id = v.id
), orig AS (
  INSERT INTO inbound_message (id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                               batch_control_id, content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused, warnings,
                               patient_id, encounter_id, processed_at)
  SELECT id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
         decode(content_hash, 'base64'), decode(raw, 'base64'), charset, status, ack_code, error, error_location, control_id_reused,
         NULLIF(all_warnings, '{}'), patient_id, encounter_id, now()
    FROM mv WHERE duplicate_of_id IS NULL ORDER BY id
  ON CONFLICT (control_id, sending_application, sending_facility, content_hash) WHERE duplicate_of_id IS NULL DO NOTHING
  RETURNING 1
), dup AS (
  INSERT INTO inbound_message (id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                               batch_control_id, content_hash, raw, charset, status, ack_code, duplicate_of_id, processed_at)
  SELECT id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
         decode(content_hash, 'base64'), decode(raw, 'base64'), charset, 'duplicate', ack_code, duplicate_of_id, now()
    FROM mv WHERE duplicate_of_id IS NOT NULL ORDER BY id
  RETURNING 1
), counts AS (
  SELECT (SELECT count(*) FROM orig) AS originals, (SELECT count(*) FROM pat) AS patients, (SELECT count(*) FROM enc) AS encounters,
         (SELECT count(*) FROM dup) AS duplicates, (SELECT count(*) FROM hold) + (SELECT count(*) FROM release) + (SELECT count(*) FROM cov)
           + (SELECT count(*) FROM dx) + (SELECT count(*) FROM pr) AS other
)
SELECT originals::text, patients::text, encounters::text,
       (SELECT json_agg(json_build_object('m', message_id, 'n', ft1_index, 's', price_source)) FROM ch) AS charges,
       -- Another instance inserted one of these rows after our look-up: fail the whole statement
       -- (nothing is kept) with a serialization failure, which the caller retries.
       CASE WHEN originals <> $8 OR patients <> $9 OR encounters <> $10 THEN hl7c_retry('concurrent intake of the same rows') END AS retry
  FROM counts`;

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
        const simple = items.every((it) => !it.mapped || (it.mapped.merges.length === 0 && it.mapped.charges.every((c) => !c.isCredit)));
        if (simple) return await this.storeInOneStatement(items);
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
    const group = await this.planGroup(em, items);
    const { ids, plans, originalOf } = group;

    // 2. Apply what the processed originals carry (patients, encounters, coverages, charges…).
    const applyIdx = items.map((it, i) => ({ it, i })).filter(({ it, i }) => plans[i]?.kind === 'original' && it.status === 'processed' && it.mapped?.action === 'apply');
    const outcome = await this.applyDerived({
      em,
      messageIds: applyIdx.map(({ i }) => ids[i] as string),
      mapped: applyIdx.map(({ it }) => it.mapped as MappedMessage),
    });
    const applied = new Map<number, { patientId?: string; encounterId?: string; warnings: string[]; charges: number }>();
    applyIdx.forEach(({ i }, n) => {
      applied.set(i, { patientId: outcome.patientIds[n], encounterId: outcome.encounterIds[n], warnings: outcome.warnings[n] ?? [], charges: outcome.charges[n] ?? 0 });
    });
    const warningsOf = (i: number): string[] => [...(items[i]?.mapped?.warnings ?? []), ...(applied.get(i)?.warnings ?? [])];

    // 3. The message rows, originals and duplicates (nothing is dropped), last and in one statement.
    //    The unique index decides the race with another instance storing the same message: if one
    //    of ours is refused, the whole group is rolled back and retried, and will then be a duplicate.
    const doc = items.map((it, i) => {
      const p = plans[i];
      const original = p?.kind === 'original';
      return {
        id: ids[i], source: it.source, connection_id: it.connectionId, control_id: it.controlId, sending_application: it.sendingApplication,
        sending_facility: it.sendingFacility, message_type: it.messageType, trigger_event: it.triggerEvent, version: it.version,
        batch_control_id: it.batchControlId, content_hash: it.contentHash.toString('base64'), raw: it.raw.toString('base64'), charset: it.charset,
        status: it.status,
        ack_code: ackCodeOf(items, plans, i),
        error: it.error, error_location: it.errorLocation, control_id_reused: original && p.reused,
        warnings: original ? warningsOf(i) : [], duplicate_of_id: originalOf(i),
        patient_id: applied.get(i)?.patientId, encounter_id: applied.get(i)?.encounterId,
      };
    });
    const inserted = await rows<{ n: string }>(
      em,
      `WITH v AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(
           id bigint, source text, connection_id text, control_id text, sending_application text, sending_facility text, message_type text,
           trigger_event text, version text, batch_control_id text, content_hash text, raw text, charset text, status text, ack_code text,
           error text, error_location text, control_id_reused boolean, warnings text[], duplicate_of_id bigint, patient_id bigint, encounter_id bigint)
       ), orig AS (
         INSERT INTO inbound_message (id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                                      batch_control_id, content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused, warnings,
                                      patient_id, encounter_id, processed_at)
         SELECT id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
                decode(content_hash, 'base64'), decode(raw, 'base64'), charset, status, ack_code, error, error_location, control_id_reused,
                NULLIF(warnings, '{}'), patient_id, encounter_id, now()
           FROM v WHERE duplicate_of_id IS NULL ORDER BY id
         ON CONFLICT (control_id, sending_application, sending_facility, content_hash) WHERE duplicate_of_id IS NULL DO NOTHING
         RETURNING 1
       ), dup AS (
         INSERT INTO inbound_message (id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                                      batch_control_id, content_hash, raw, charset, status, ack_code, duplicate_of_id, processed_at)
         SELECT id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
                decode(content_hash, 'base64'), decode(raw, 'base64'), charset, 'duplicate', ack_code, duplicate_of_id, now()
           FROM v WHERE duplicate_of_id IS NOT NULL ORDER BY id
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM orig)::text AS n`,
      [JSON.stringify(doc)],
    );
    const originals = plans.filter((p) => p.kind === 'original').length;
    if (Number(inserted[0]?.n ?? 0) !== originals) throw new ConcurrentInsert('concurrent insert of the same message');

    return items.map((it, i) => this.resultOf(items, plans, ids, i, applied.get(i)?.charges ?? 0, warningsOf(i)));
  }

  /**
   * The common case in two round trips: the dedupe look-up, then one statement that upserts the
   * group's patients, encounters, coverages, diagnoses and procedures, inserts its charges (priced
   * from the chargemaster in the same statement) and finally its message rows. A single statement
   * is atomic and durable on its own (autocommit), so no BEGIN/COMMIT round trips are needed; it
   * checks its own counts and fails as a whole (SQLSTATE 40001, retried) if another instance got
   * to one of its rows first. Groups with credits or merges take the transaction path.
   */
  private async storeInOneStatement(items: PreparedMessage[]): Promise<StoredMessage[]> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const em = runner.manager;
      const { ids, plans, originalOf } = await this.planGroup(em, items);
      const applyIdx = items.map((it, i) => ({ it, i })).filter(({ it, i }) => plans[i]?.kind === 'original' && it.status === 'processed' && it.mapped?.action === 'apply');
      const tagged = <T>(pick: (m: MappedMessage) => T[]): (T & { messageId: string })[] =>
        applyIdx.flatMap(({ it, i }) => pick(it.mapped as MappedMessage).map((r) => ({ ...r, messageId: ids[i] as string })));
      const patients = fold(tagged((m) => m.patients));
      const encounters = fold(tagged((m) => m.encounters));
      const coverages = lastByKey(tagged((m) => m.coverages), (c) => `${c.ownerKey}#${c.setId}`);
      const diagnoses = lastByKey(tagged((m) => m.diagnoses), (d) => JSON.stringify([d.encounterKey, d.codingSystem, d.code]));
      const procKey = (p: ProcedureRecord): string => JSON.stringify([p.codingSystem, p.code, p.procedureAt ?? '']);
      const procedures = lastByKey(tagged((m) => m.procedures), (p) => p.encounterKey + procKey(p));
      const charges = tagged((m) => m.charges);
      const firstOf = new Map(applyIdx.map(({ it, i }) => [i, { patientKey: it.mapped?.patients[0]?.key, encounterKey: it.mapped?.encounters[0]?.key }]));
      const originals = plans.filter((p) => p.kind === 'original').length;

      const result = await rows<{ originals: string; patients: string; encounters: string; charges: { m: string | number; n: number; s: string }[] | null }>(
        em,
        ONE_STATEMENT_SQL,
        [
          JSON.stringify(patients.map((r) => ({
            patient_key: r.key, mrn: r.mrn, mrn_authority: r.mrnAuthority, message_id: r.messageId, identifiers: triJson(r.identifiers),
            family_name: tri(r.familyName), given_name: tri(r.givenName), middle_name: tri(r.middleName), name_suffix: tri(r.nameSuffix),
            birth_date: tri(r.birthDate), sex: tri(r.sex), address: triJson(r.address), phone: tri(r.phone), account_number: tri(r.accountNumber),
          }))),
          JSON.stringify(encounters.map((r) => {
            const row: Record<string, string | null> = { encounter_key: r.key, key_source: r.keySource, patient_key: r.patientKey, message_id: r.messageId };
            for (const [c, , f] of ENCOUNTER_COLUMNS) row[c] = f(r);
            return row;
          })),
          JSON.stringify(coverages.map((c) => ({
            coverage_key: `${c.ownerKey}#${c.setId}`, patient_key: c.patientKey, encounter_key: c.encounterKey, set_id: c.setId, payer_id: c.payerId,
            payer_name: c.payerName, plan_id: c.planId, plan_type: c.planType, group_number: c.groupNumber, group_name: c.groupName, member_id: c.memberId,
            insured_name: c.insuredName, insured_relationship: c.insuredRelationship, insured_birth_date: c.insuredBirthDate, insured_address: c.insuredAddress,
            effective_date: c.effectiveDate, expiration_date: c.expirationDate, message_id: c.messageId,
          }))),
          JSON.stringify(diagnoses.map((d) => ({
            encounter_key: d.encounterKey, set_id: d.setId, code: d.code, coding_system: d.codingSystem, description: d.description,
            diagnosis_type: d.diagnosisType, priority: d.priority, message_id: d.messageId,
          }))),
          JSON.stringify(procedures.map((p) => ({
            encounter_key: p.encounterKey, set_id: p.setId, code: p.code, coding_system: p.codingSystem, description: p.description,
            procedure_at: p.procedureAt, procedure_key: procKey(p), surgeon: p.surgeon, message_id: p.messageId,
          }))),
          JSON.stringify(charges.map((c, o) => ({
            o, encounter_key: c.encounterKey, message_id: c.messageId, ft1_index: c.ft1Index, transaction_id: c.transactionId,
            transaction_batch_id: c.transactionBatchId, service_date: c.serviceDate, service_end_date: c.serviceEndDate, posting_date: c.postingDate,
            transaction_type: c.transactionType, transaction_code: c.transactionCode, transaction_code_system: c.transactionCodeSystem,
            description: c.description, quantity: c.quantity, amount: c.amount, unit_amount: c.unitAmount, department: c.department,
            insurance_plan_id: c.insurancePlanId, diagnosis_codes: c.diagnosisCodes, performing_provider: c.performingProvider,
            ordering_provider: c.orderingProvider, procedure_code: c.procedureCode, procedure_code_system: c.procedureCodeSystem,
            modifiers: c.modifiers, ndc: c.ndc,
          }))),
          JSON.stringify(items.map((it, i) => {
            const p = plans[i];
            const original = p?.kind === 'original';
            return {
              id: ids[i], source: it.source, connection_id: it.connectionId, control_id: it.controlId, sending_application: it.sendingApplication,
              sending_facility: it.sendingFacility, message_type: it.messageType, trigger_event: it.triggerEvent, version: it.version,
              batch_control_id: it.batchControlId, content_hash: it.contentHash.toString('base64'), raw: it.raw.toString('base64'), charset: it.charset,
              status: it.status, ack_code: ackCodeOf(items, plans, i), error: it.error, error_location: it.errorLocation,
              control_id_reused: original && p.reused, warnings: original ? (it.mapped?.warnings ?? []) : [], duplicate_of_id: originalOf(i),
              patient_key: firstOf.get(i)?.patientKey, encounter_key: firstOf.get(i)?.encounterKey,
            };
          })),
          originals,
          patients.length,
          encounters.length,
        ],
      );
      const row = result[0];
      const perMessage = new Map<string, { n: number; unpriced: number[] }>();
      for (const c of row?.charges ?? []) {
        const e = perMessage.get(String(c.m)) ?? { n: 0, unpriced: [] };
        e.n++;
        if (c.s === 'unpriced') e.unpriced.push(c.n);
        perMessage.set(String(c.m), e);
      }
      return items.map((it, i) => {
        const applied = perMessage.get(ids[i] as string);
        return this.resultOf(items, plans, ids, i, applied?.n ?? 0, [...(it.mapped?.warnings ?? []), ...(applied?.unpriced ?? []).map(unpricedWarning)]);
      });
    } finally {
      await runner.release();
    }
  }

  /** What became of item i. */
  private resultOf(items: PreparedMessage[], plans: GroupPlan['plans'], ids: string[], i: number, charges: number, warnings: string[]): StoredMessage {
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
    return { messageId, status: it.status, ackCode: it.ackCode, error: it.error, errorLocation: it.errorLocation, controlIdReused: p?.kind === 'original' && p.reused, warnings, charges };
  }

  /**
   * One round trip: earlier originals from the same senders with the same control ids (for dedupe),
   * and an id for every message of the group (so that everything derived from a message can be
   * written before the message row itself, which comes last). Then each message is classified.
   */
  private async planGroup(em: EntityManager, items: PreparedMessage[]): Promise<GroupPlan> {
    const lookup = await rows<SeenMessage>(
      em,
      `SELECT 'id' AS kind, nextval('inbound_message_id_seq')::text AS id, NULL AS sending_application, NULL AS sending_facility, NULL AS control_id,
              NULL::bytea AS content_hash, NULL AS status, NULL AS ack_code, NULL AS error, NULL AS error_location
         FROM generate_series(1, $2::int)
       UNION ALL
       SELECT 'seen', m.id::text, m.sending_application, m.sending_facility, m.control_id, m.content_hash, m.status, m.ack_code, m.error, m.error_location
         FROM inbound_message m
        WHERE m.control_id = ANY($1::text[]) AND m.duplicate_of_id IS NULL`,
      // control_id = ANY(...) is an index condition on uq_inbound_message_original's leading column
      // whatever the statistics say; sender application and facility are compared below.
      [[...new Set(items.map((i) => i.controlId))], items.length],
    );
    const reserved = lookup.filter((r) => r.kind === 'id').map((r) => r.id);
    const senders = new Set(items.map((i) => JSON.stringify([i.sendingApplication, i.sendingFacility, i.controlId])));
    const existing = lookup.filter((r) => r.kind === 'seen' && senders.has(JSON.stringify([r.sending_application, r.sending_facility, r.control_id])));
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

    const ids = reserved;
    const originalOf = (i: number): string | null => {
      const p = plans[i];
      if (p?.kind === 'duplicate') return p.ofExisting.id;
      if (p?.kind === 'duplicate-in-batch') return ids[p.of] as string;
      return null;
    };
    return { ids, plans, originalOf };

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
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(patient_key text, mrn text, mrn_authority text, message_id bigint, ${cols.map((c) => `${c} text`).join(', ')})
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
        JSON.stringify(
          recs.map((r) => ({
            patient_key: r.key, mrn: r.mrn, mrn_authority: r.mrnAuthority, message_id: r.messageId, identifiers: triJson(r.identifiers),
            family_name: tri(r.familyName), given_name: tri(r.givenName), middle_name: tri(r.middleName), name_suffix: tri(r.nameSuffix),
            birth_date: tri(r.birthDate), sex: tri(r.sex), address: triJson(r.address), phone: tri(r.phone), account_number: tri(r.accountNumber),
          })),
        ),
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
  ): Promise<Map<string, EncounterRef>> {
    const map = new Map<string, EncounterRef>();
    if (input.length === 0) return map;
    const recs = fold(input);
    const cols = ENCOUNTER_COLUMNS;
    const names = cols.map((c) => c[0]);
    const insertValue = (c: string, t: string): string => (c === 'status' ? `COALESCE(NULLIF(status, ''), 'active')` : `NULLIF(${c}, '')::${t}`);
    const result = await rows<{ id: string; encounter_key: string; status: string; patient_id: string; old_status: string | null }>(
      em,
      `WITH v AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(encounter_key text, key_source text, patient_id bigint, message_id bigint, ${names.map((c) => `${c} text`).join(', ')})
       ), old AS (
         SELECT e.id, e.status FROM encounter e JOIN v ON v.encounter_key = e.encounter_key
       ), ins AS (
         INSERT INTO encounter (encounter_key, key_source, patient_id, last_message_id, ${names.join(', ')})
         SELECT encounter_key, key_source, patient_id, message_id, ${cols.map(([c, t]) => insertValue(c, t)).join(', ')} FROM v
         ON CONFLICT (encounter_key) DO NOTHING
         RETURNING id, encounter_key, status, patient_id
       ), upd AS (
         UPDATE encounter e SET ${cols.map(([c, t]) => `${c} = CASE WHEN v.${c} IS NULL THEN e.${c} ELSE NULLIF(v.${c}, '')::${t} END`).join(', ')},
                patient_id = v.patient_id, last_message_id = v.message_id, updated_at = now()
           FROM v WHERE e.encounter_key = v.encounter_key
         RETURNING e.id, e.encounter_key, e.status, e.patient_id
       )
       SELECT ins.*, NULL::text AS old_status FROM ins
       UNION ALL SELECT upd.*, old.status AS old_status FROM upd JOIN old ON old.id = upd.id`,
      [
        JSON.stringify(
          recs.map((r) => {
            const row: Record<string, string | null> = { encounter_key: r.key, key_source: r.keySource, patient_id: patients.get(r.patientKey) ?? null, message_id: r.messageId };
            for (const [c, , f] of cols) row[c] = f(r);
            return row;
          }),
        ),
      ],
    );
    if (result.length !== recs.length) throw new ConcurrentInsert('concurrent encounter insert');
    const cancelled: string[] = [];
    const reinstated: string[] = [];
    for (const r of result) {
      map.set(r.encounter_key, { id: r.id, status: r.status, patientId: r.patient_id });
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
    encounters: Map<string, EncounterRef>,
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
    // One JSON document for the whole group: JSON.stringify and the server's JSON parser are far
    // cheaper than serializing thirty parameter arrays element by element.
    const doc = input.map((c, i) => {
      const p = priced[i] as (typeof priced)[number];
      const enc = encounters.get(c.encounterKey);
      return {
        o: i, encounter_id: enc?.id, patient_id: enc?.patientId, message_id: c.messageId, ft1_index: c.ft1Index,
        transaction_id: c.transactionId, transaction_batch_id: c.transactionBatchId, service_date: c.serviceDate, service_end_date: c.serviceEndDate,
        posting_date: c.postingDate, transaction_type: c.transactionType, transaction_code: c.transactionCode, transaction_code_system: c.transactionCodeSystem,
        description: c.description, quantity: c.quantity, amount: p.amount, unit_amount: c.unitAmount, department: c.department,
        insurance_plan_id: c.insurancePlanId, diagnosis_codes: c.diagnosisCodes, performing_provider: c.performingProvider, ordering_provider: c.orderingProvider,
        procedure_code: p.procedureCode, procedure_code_system: c.procedureCodeSystem, modifiers: p.modifiers, ndc: c.ndc, is_credit: c.isCredit,
        status: status[i], price_source: p.source,
      };
    });
    const inserted = await rows<{ id: string; message_id: string; ft1_index: number }>(
      em,
      `INSERT INTO charge (encounter_id, patient_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
                           transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department,
                           insurance_plan_id, diagnosis_codes, performing_provider, ordering_provider, procedure_code, procedure_code_system, modifiers,
                           ndc, is_credit, status, hold_reason, price_source)
       SELECT encounter_id, patient_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
              transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department,
              insurance_plan_id, diagnosis_codes, performing_provider, ordering_provider, procedure_code, procedure_code_system, modifiers,
              ndc, is_credit, status, CASE WHEN status = 'held' THEN 'encounter cancelled' END, price_source
         FROM jsonb_to_recordset($1::jsonb) AS v(
                o int, encounter_id bigint, patient_id bigint, message_id bigint, ft1_index int, transaction_id text, transaction_batch_id text,
                service_date date, service_end_date date, posting_date date, transaction_type text, transaction_code text, transaction_code_system text,
                description text, quantity numeric, amount numeric, unit_amount numeric, department text, insurance_plan_id text, diagnosis_codes text[],
                performing_provider jsonb, ordering_provider jsonb, procedure_code text, procedure_code_system text, modifiers text[], ndc text,
                is_credit boolean, status text, price_source text)
        ORDER BY o
       ON CONFLICT (message_id, ft1_index) DO NOTHING
       RETURNING id, message_id, ft1_index`,
      [JSON.stringify(doc)],
    );
    const idOf = new Map(inserted.map((r) => [`${r.message_id}#${r.ft1_index}`, r.id]));
    input.forEach((c, i) => {
      counts[c.n] = (counts[c.n] ?? 0) + 1;
      if (priced[i]?.source === 'unpriced') warnings[c.n]?.push(unpricedWarning(c.ft1Index));
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
  async updateOutcome(em: EntityManager, id: string, p: PreparedMessage, applied?: { patientId?: string; encounterId?: string; warnings: string[] }): Promise<void> {
    const warnings = [...(p.mapped?.warnings ?? []), ...(applied?.warnings ?? [])];
    await rows(
      em,
      `UPDATE inbound_message SET status = $2, ack_code = $3, error = $4, error_location = $5, warnings = $6::text[], attempts = attempts + 1, processed_at = now(),
              control_id = $7, sending_application = $8, sending_facility = $9, message_type = $10, trigger_event = $11, version = $12,
              patient_id = $13, encounter_id = $14
        WHERE id = $1`,
      [id, p.status, p.ackCode, p.error ?? null, p.errorLocation ?? null, warnings.length > 0 ? warnings : null,
        p.controlId, p.sendingApplication, p.sendingFacility, p.messageType, p.triggerEvent, p.version, applied?.patientId ?? null, applied?.encounterId ?? null],
    );
  }
}
