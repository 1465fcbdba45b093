import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { AckCode } from '../../lib/hl7v2';
import { logger } from '../../common/logger';
import type { MessageStatus } from './inbound-message.entity';
import type { ChargeRecord, EncounterRecord, MappedMessage, ProcedureRecord, Update } from './mapping/records';
import type { PreparedMessage, StoredMessage } from './intake.types';

/** A failure worth retrying: the database is unreachable, or a concurrent writer got there first. */
export class TransientStoreError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'TransientStoreError';
  }
}


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
  namedStatements ??= runner.query('SELECT version() AS v').then(
    (r: { v: string }[]) => !String(r[0]?.v).includes('PGlite'),
    (e: unknown) => {
      namedStatements = undefined; // ask again next time (the database may have been down)
      throw e;
    },
  );
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
 * the expected numbers of new message rows, patients and encounters. Returns the charges written
 * (credits are matched afterwards) and the ids of the patients and encounters by natural key.
 */
const ONE_STATEMENT_SQL = `
WITH pv AS (
  SELECT * FROM json_to_recordset($1::json) AS v(patient_key text, mrn text, mrn_authority text, message_id bigint, ${PATIENT_COLUMNS.map((c) => `${c} text`).join(', ')})
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
    FROM json_to_recordset($2::json) AS v(encounter_key text, key_source text, patient_key text, message_id bigint, ${ENC_NAMES.map((c) => `${c} text`).join(', ')})
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
    FROM json_to_recordset($3::json) AS v(coverage_key text, patient_key text, encounter_key text, set_id int, payer_id text, payer_name text,
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
    FROM json_to_recordset($4::json) AS v(encounter_key text, set_id int, code text, coding_system text, description text, diagnosis_type text, priority int, message_id bigint)
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
    FROM json_to_recordset($5::json) AS v(encounter_key text, set_id int, code text, coding_system text, description text, procedure_at timestamp,
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
         CASE WHEN cardinality(v.modifiers) > 0 THEN v.modifiers ELSE COALESCE(cm.modifiers, '{}') END, v.ndc, v.is_credit,
         -- A credit waits for its match (made after this statement); charges of a cancelled encounter are held.
         CASE WHEN v.is_credit THEN 'unmatched_credit' WHEN enc.status = 'cancelled' THEN 'held' ELSE 'posted' END,
         CASE WHEN NOT v.is_credit AND enc.status = 'cancelled' THEN 'encounter cancelled' END,
         CASE WHEN v.amount IS NOT NULL THEN 'message' WHEN cm.price IS NOT NULL THEN 'chargemaster' ELSE 'unpriced' END
    FROM json_to_recordset($6::json) AS v(o int, encounter_key text, message_id bigint, ft1_index int, transaction_id text, transaction_batch_id text,
           service_date date, service_end_date date, posting_date date, transaction_type text, transaction_code text, transaction_code_system text,
           description text, quantity numeric, amount numeric, unit_amount numeric, department text, insurance_plan_id text, diagnosis_codes text[],
           performing_provider jsonb, ordering_provider jsonb, procedure_code text, procedure_code_system text, modifiers text[], ndc text,
           is_credit boolean)
    JOIN enc ON enc.encounter_key = v.encounter_key
    LEFT JOIN chargemaster_item cm ON v.amount IS NULL AND cm.transaction_code = v.transaction_code
   ORDER BY v.o
  ON CONFLICT (message_id, ft1_index) DO NOTHING
  RETURNING id, message_id, ft1_index, price_source, is_credit, encounter_id, amount
), unpriced AS (
  SELECT message_id, array_agg('FT1[' || ft1_index || ']: no amount and no chargemaster price: charge is unpriced' ORDER BY ft1_index) AS warnings
    FROM ch WHERE price_source = 'unpriced' GROUP BY message_id
), mv AS (
  SELECT v.*, pat.id AS patient_id, enc.id AS encounter_id, v.warnings || COALESCE(u.warnings, '{}') AS all_warnings
    FROM json_to_recordset($7::json) AS v(id bigint, source text, connection_id text, control_id text, sending_application text, sending_facility text,
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
       (SELECT json_agg(json_build_object('id', id::text, 'm', message_id::text, 'n', ft1_index, 's', price_source, 'credit', is_credit,
                                          'e', encounter_id::text, 'amount', amount::text)) FROM ch) AS charges,
       (SELECT json_object_agg(patient_key, id::text) FROM pat) AS patient_ids,
       (SELECT json_object_agg(encounter_key, id::text) FROM enc) AS encounter_ids,
       -- Another instance inserted one of these rows after our look-up: fail the whole statement
       -- (nothing is kept) with a serialization failure, which the caller retries.
       CASE WHEN originals <> $8 OR patients <> $9 OR encounters <> $10 THEN hl7c_retry('concurrent intake of the same rows') END AS retry
  FROM counts`;

/** What one run of the group statement wrote. */
interface GroupOutcome {
  charges: { id: string; m: string; n: number; s: string; credit: boolean; e: string; amount: string | null }[];
  patientIds: Record<string, string>;
  encounterIds: Record<string, string>;
}

const unmatchedCreditWarning = (ft1: number): string => `FT1[${ft1}]: credit matches no posted charge: kept as an unmatched credit for review`;

/**
 * Every query of the intake path. A group of messages is stored with one statement
 * (ONE_STATEMENT_SQL) that writes what they map to and then the message rows, with no round trip
 * per row. Groups with credits or A40 merges wrap that statement in a transaction with the steps
 * that must follow it (matching credits to charges, moving a merged patient's records). Nothing
 * here decides HL7 semantics; the mapper did that.
 */
@Injectable()
export class IntakeRepository {
  private readonly log = logger('intake.repository');

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a group. A data error that one message causes does not fail the others: the group is
   * retried one message at a time and that message is stored as `error`.
   */
  async store(items: PreparedMessage[]): Promise<StoredMessage[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const simple = items.every((it) => !it.mapped || (it.mapped.merges.length === 0 && it.mapped.charges.every((c) => !c.isCredit)));
        if (simple) return await this.storeInOneStatement(items);
        return await this.dataSource.transaction((em) => this.storeInTransaction(em, items));
      } catch (e) {
        if ((pgCode(e) === '40P01' || pgCode(e) === '40001') && attempt < 5) continue;
        if (isTransient(e)) throw new TransientStoreError('database unavailable', e);
        if (isDataError(e) && items.length > 1) return this.storeOneByOne(items);
        if (isDataError(e) && items.length === 1) {
          const only = items[0] as PreparedMessage;
          this.log.warn({ event: 'store_data_error', sqlstate: pgCode(e), controlId: only.controlId });
          return this.storeInOneStatement([
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
   * The common case in two round trips: the dedupe look-up, then the group statement. A single
   * statement is atomic and durable on its own (autocommit), so no BEGIN/COMMIT round trips.
   */
  private async storeInOneStatement(items: PreparedMessage[]): Promise<StoredMessage[]> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const group = await this.planGroup(runner.manager, items);
      const all = items.map((_, i) => i);
      const out = await this.runGroup(runner.manager, items, group, all, true);
      return this.results(items, group, [out], new Map());
    } finally {
      await runner.release();
    }
  }

  /**
   * Groups with credits or merges (and batch containers being reprocessed): in a transaction the
   * caller holds. Messages up to an A40 are stored, then the merge, then the rest, so that results
   * are those of processing one message after the other. Credits are matched at the end.
   */
  async storeInTransaction(em: EntityManager, items: PreparedMessage[]): Promise<StoredMessage[]> {
    const group = await this.planGroup(em, items);
    const outcomes: GroupOutcome[] = [];
    let run: number[] = [];
    for (let i = 0; i <= items.length; i++) {
      const merges = i < items.length && group.plans[i]?.kind === 'original' ? (items[i]?.mapped?.merges ?? []) : [];
      if (i === items.length || merges.length > 0) {
        if (run.length > 0) outcomes.push(await this.runGroup(em, items, group, run, true));
        run = [];
      }
      if (i === items.length) break;
      if (merges.length > 0) {
        const out = await this.runGroup(em, items, group, [i], true);
        outcomes.push(out);
        for (const m of merges) await this.merge(em, out.patientIds, m.survivorKey, m.priorKeys);
      } else {
        run.push(i);
      }
    }
    const unmatched = await this.matchCredits(em, items, group.ids, outcomes);
    for (const [messageId, warnings] of unmatched) {
      await rows(em, `UPDATE inbound_message SET warnings = COALESCE(warnings, '{}') || $2::text[] WHERE id = $1`, [messageId, warnings]);
    }
    return this.results(items, group, outcomes, unmatched);
  }

  /** What became of each item, from the plan and what the group statement(s) wrote. */
  private results(items: PreparedMessage[], group: GroupPlan, outcomes: GroupOutcome[], unmatched: Map<string, string[]>): StoredMessage[] {
    const perMessage = new Map<string, { n: number; unpriced: number[] }>();
    for (const o of outcomes) {
      for (const c of o.charges) {
        const e = perMessage.get(c.m) ?? { n: 0, unpriced: [] };
        e.n++;
        if (c.s === 'unpriced') e.unpriced.push(c.n);
        perMessage.set(c.m, e);
      }
    }
    return items.map((it, i) => {
      const id = group.ids[i] as string;
      const applied = perMessage.get(id);
      const warnings = [...(it.mapped?.warnings ?? []), ...(applied?.unpriced ?? []).map(unpricedWarning), ...(unmatched.get(id) ?? [])];
      return this.resultOf(items, group.plans, group.ids, i, applied?.n ?? 0, warnings);
    });
  }

  /**
   * Runs the group statement for the items at `indices`. With `insertMessages` false (reprocessing
   * a stored message) the message rows are left alone.
   */
  private async runGroup(em: EntityManager, items: PreparedMessage[], group: GroupPlan, indices: number[], insertMessages: boolean): Promise<GroupOutcome> {
    const { ids, plans, originalOf } = group;
    const applyIdx = indices.filter((i) => {
      const it = items[i];
      return plans[i]?.kind === 'original' && it !== undefined && it.status === 'processed' && it.mapped?.action === 'apply';
    });
    const tagged = <T>(pick: (m: MappedMessage) => T[]): (T & { messageId: string })[] =>
      applyIdx.flatMap((i) => pick(items[i]?.mapped as MappedMessage).map((r) => ({ ...r, messageId: ids[i] as string })));
    const patients = fold(tagged((m) => m.patients));
    const encounters = fold(tagged((m) => m.encounters));
    const coverages = lastByKey(tagged((m) => m.coverages), (c) => `${c.ownerKey}#${c.setId}`);
    const diagnoses = lastByKey(tagged((m) => m.diagnoses), (d) => JSON.stringify([d.encounterKey, d.codingSystem, d.code]));
    const procKey = (p: ProcedureRecord): string => JSON.stringify([p.codingSystem, p.code, p.procedureAt ?? '']);
    const procedures = lastByKey(tagged((m) => m.procedures), (p) => p.encounterKey + procKey(p));
    const charges = tagged((m) => m.charges);
    const messages = insertMessages ? indices : [];
    const originals = messages.filter((i) => plans[i]?.kind === 'original').length;

    const result = await rows<{ charges: GroupOutcome['charges'] | null; patient_ids: Record<string, string> | null; encounter_ids: Record<string, string> | null }>(
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
          modifiers: c.modifiers, ndc: c.ndc, is_credit: c.isCredit,
        }))),
        JSON.stringify(messages.map((i) => {
          const it = items[i] as PreparedMessage;
          const p = plans[i];
          const original = p?.kind === 'original';
          return {
            id: ids[i], source: it.source, connection_id: it.connectionId, control_id: it.controlId, sending_application: it.sendingApplication,
            sending_facility: it.sendingFacility, message_type: it.messageType, trigger_event: it.triggerEvent, version: it.version,
            batch_control_id: it.batchControlId, content_hash: it.contentHash.toString('base64'), raw: it.raw.toString('base64'), charset: it.charset,
            status: it.status, ack_code: ackCodeOf(items, plans, i), error: it.error, error_location: it.errorLocation,
            control_id_reused: original && p.reused, warnings: original ? (it.mapped?.warnings ?? []) : [], duplicate_of_id: originalOf(i),
            patient_key: it.mapped?.patients[0]?.key, encounter_key: it.mapped?.encounters[0]?.key,
          };
        })),
        originals,
        patients.length,
        encounters.length,
      ],
    );
    const row = result[0];
    return { charges: row?.charges ?? [], patientIds: row?.patient_ids ?? {}, encounterIds: row?.encounter_ids ?? {} };
  }

  /**
   * Credits reverse the matching earlier charge: the same transaction id, else the same code, date
   * and quantity (and amount when both are priced). Returns the warnings of credits left unmatched.
   */
  private async matchCredits(em: EntityManager, items: PreparedMessage[], ids: string[], outcomes: GroupOutcome[]): Promise<Map<string, string[]>> {
    const records = new Map<string, ChargeRecord>();
    items.forEach((it, i) => {
      for (const c of it.mapped?.charges ?? []) records.set(`${ids[i] as string}#${c.ft1Index}`, c);
    });
    const unmatched = new Map<string, string[]>();
    for (const credit of outcomes.flatMap((o) => o.charges).filter((c) => c.credit)) {
      const c = records.get(`${credit.m}#${credit.n}`);
      if (!c) continue;
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
        [credit.e, c.transactionId ?? null, c.procedureCode ?? c.transactionCode ?? null, c.serviceDate, c.quantity, credit.amount, credit.id],
      );
      if (matched.length === 0) unmatched.set(credit.m, [...(unmatched.get(credit.m) ?? []), unmatchedCreditWarning(credit.n)]);
    }
    return unmatched;
  }

  /** A40: the prior patients point at the survivor, and their encounters, coverages and charges move to it. */
  private async merge(em: EntityManager, patientIds: Record<string, string>, survivorKey: string, priorKeys: string[]): Promise<void> {
    const survivor = patientIds[survivorKey];
    if (survivor === undefined || priorKeys.length === 0) return;
    const prior = await rows<{ id: string }>(
      em,
      `UPDATE patient SET merged_into_id = $1, updated_at = now() WHERE patient_key = ANY($2::text[]) AND id <> $1 RETURNING id`,
      [survivor, priorKeys],
    );
    if (prior.length === 0) return;
    const priorIds = prior.map((p) => p.id);
    await rows(em, `UPDATE patient SET merged_into_id = $1 WHERE merged_into_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await rows(em, `UPDATE encounter SET patient_id = $1, updated_at = now() WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await rows(em, `UPDATE coverage SET patient_id = $1 WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
    await rows(em, `UPDATE charge SET patient_id = $1 WHERE patient_id = ANY($2::bigint[])`, [survivor, priorIds]);
  }

  /**
   * Reprocessing: applies a message already stored (in error) in the caller's transaction and
   * records its new outcome on the same row. Nothing was applied before (errors are all-or-nothing).
   */
  async reapply(em: EntityManager, id: string, p: PreparedMessage): Promise<{ charges: number; warnings: string[] }> {
    const group: GroupPlan = { ids: [id], plans: [{ kind: 'original', reused: false }], originalOf: () => null };
    const out = p.status === 'processed' && p.mapped?.action === 'apply' ? await this.runGroup(em, [p], group, [0], false) : undefined;
    const outcomes = out ? [out] : [];
    for (const m of p.mapped?.merges ?? []) if (out) await this.merge(em, out.patientIds, m.survivorKey, m.priorKeys);
    const unmatched = await this.matchCredits(em, [p], [id], outcomes);
    const [result] = this.results([p], group, outcomes, unmatched);
    const patientKey = p.mapped?.patients[0]?.key;
    const encounterKey = p.mapped?.encounters[0]?.key;
    await rows(
      em,
      `UPDATE inbound_message SET status = $2, ack_code = $3, error = $4, error_location = $5, warnings = $6::text[], attempts = attempts + 1, processed_at = now(),
              control_id = $7, sending_application = $8, sending_facility = $9, message_type = $10, trigger_event = $11, version = $12,
              patient_id = $13, encounter_id = $14
        WHERE id = $1`,
      [id, p.status, p.ackCode, p.error ?? null, p.errorLocation ?? null, result && result.warnings.length > 0 ? result.warnings : null,
        p.controlId, p.sendingApplication, p.sendingFacility, p.messageType, p.triggerEvent, p.version,
        (patientKey === undefined ? undefined : out?.patientIds[patientKey]) ?? null, (encounterKey === undefined ? undefined : out?.encounterIds[encounterKey]) ?? null],
    );
    return { charges: result?.charges ?? 0, warnings: result?.warnings ?? [] };
  }

  /** Ids of every message in error, oldest first. */
  async errorIds(): Promise<string[]> {
    const r: { id: string }[] = await this.dataSource.query(`SELECT id FROM inbound_message WHERE status = 'error' ORDER BY id`);
    return r.map((x) => x.id);
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

}
