/**
 * The statement that stores a whole group of messages, and the encoding of its parameters.
 *
 * Records travel as JSON arrays of arrays (one inner array per row, columns by position) in jsonb
 * parameters, and the raw message bytes with their content hashes as one bytea parameter that the
 * rows point into by offset. Measured on a 30-message group of DFT^P03s: reading 150 charge rows
 * from keyed JSON objects with json_to_recordset cost 2.4 ms, from positional jsonb 0.6 ms; raw
 * messages as base64 inside the JSON cost 1.0 ms, as one binary bytea 0.1 ms.
 */
import type { PreparedMessage } from './intake.types';
import type { ChargeRecord, CoverageRecord, DiagnosisRecord, EncounterRecord, PatientRecord, ProcedureRecord, Update } from './mapping/records';

/**
 * A record with the message it comes from (its 1-based position in the group) and, for records
 * that belong to a patient or an encounter, that parent's 1-based position in its own record set:
 * the statement finds a parent's id by position in an array, not by joining on the key.
 */
export interface Tagged<R> {
  r: R;
  ord: number;
  pat?: number;
  enc?: number;
}

/**
 * A column of a record set: its name in SQL, its SQL type, and its value for a record (given the
 * record, the record as tagged, and the record's own 0-based position in the set).
 */
interface Column<R> {
  name: string;
  type: string;
  value: (r: R, t: Tagged<R>, i: number) => unknown;
}

/** A record set: the SQL that reads it from its parameter, and the parameter's text for some records. */
export interface RecordSet<R> {
  /**
   * A sub-select with one column per Column, and `rn`, the record's 1-based position in the set,
   * to be used as `FROM ${sql} AS v`.
   */
  sql: string;
  encode(records: Tagged<R>[]): string;
}

function recordSet<R>(param: number, columns: Column<R>[]): RecordSet<R> {
  const pick = (c: Column<R>, i: number): string => {
    if (c.type === 'text') return `e->>${i}`;
    // JSON null is the jsonb value 'null', not SQL NULL; '""' is kept (it means "clear" in updates).
    if (c.type === 'jsonb') return `NULLIF(e->${i}, 'null'::jsonb)`;
    // A message of the group by its 1-based position: its id from the statement's ids CTE.
    if (c.type === 'message') return `(SELECT a FROM ids)[(e->>${i})::int]`;
    return `(e->>${i})::${c.type}`;
  };
  return {
    sql: `(SELECT ${columns.map((c, i) => `${pick(c, i)} AS ${c.name}`).join(', ')}, rn FROM jsonb_array_elements($${param}::jsonb) WITH ORDINALITY AS x(e, rn))`,
    encode: (records) =>
      JSON.stringify(
        records.map((t, i) => {
          // Built by push, not `new Array(n)`: JSON.stringify takes a slow path for holey arrays.
          const row: unknown[] = [];
          for (let c = 0; c < columns.length; c++) row.push((columns[c] as Column<R>).value(t.r, t, i) ?? null);
          return row;
        }),
      ),
  };
}

/** A PostgreSQL array literal of text values (read with `::text[]`). */
export function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/** Update semantics (see Update) in a parameter: null keeps, '' clears, a value sets. */
function tri<T>(v: Update<T>): T | '' | null {
  return v === undefined ? null : v === null ? '' : v;
}

/** A column whose update keeps, clears or sets (see Update): its SQL type and its value. */
type TriColumn<R> = readonly [name: string, type: string, value: (r: R) => Update<unknown>];

const PATIENT_TRI: TriColumn<PatientRecord>[] = [
  ['identifiers', 'jsonb', (r) => r.identifiers],
  ['family_name', 'text', (r) => r.familyName],
  ['given_name', 'text', (r) => r.givenName],
  ['middle_name', 'text', (r) => r.middleName],
  ['name_suffix', 'text', (r) => r.nameSuffix],
  ['birth_date', 'date', (r) => r.birthDate],
  ['sex', 'text', (r) => r.sex],
  ['address', 'jsonb', (r) => r.address],
  ['phone', 'text', (r) => r.phone],
  ['account_number', 'text', (r) => r.accountNumber],
];

const ENCOUNTER_TRI: TriColumn<EncounterRecord>[] = [
  ['visit_number', 'text', (r) => r.visitNumber],
  ['account_number', 'text', (r) => r.accountNumber],
  ['status', 'text', (r) => r.status],
  ['patient_class', 'text', (r) => r.patientClass],
  ['admit_type', 'text', (r) => r.admitType],
  ['admit_source', 'text', (r) => r.admitSource],
  ['hospital_service', 'text', (r) => r.hospitalService],
  ['financial_class', 'text', (r) => r.financialClass],
  ['facility', 'text', (r) => r.facility],
  ['location', 'jsonb', (r) => r.location],
  ['attending_provider', 'jsonb', (r) => r.attendingProvider],
  ['referring_provider', 'jsonb', (r) => r.referringProvider],
  ['admitting_provider', 'jsonb', (r) => r.admittingProvider],
  ['admit_at', 'timestamp', (r) => r.admitAt],
  ['discharge_at', 'timestamp', (r) => r.dischargeAt],
  ['discharge_disposition', 'text', (r) => r.dischargeDisposition],
  ['guarantor', 'jsonb', (r) => r.guarantor],
];

/** In the parameter, a keep/clear/set column is text (jsonb for jsonb): '' or '""' clears. */
function triColumns<R>(cols: TriColumn<R>[]): Column<R>[] {
  return cols.map(([name, type, value]) => ({ name, type: type === 'jsonb' ? 'jsonb' : 'text', value: (r: R) => tri(value(r)) }));
}
/** The value to insert for a keep/clear/set column `c` of source `s`. */
function insertValue(s: string, c: string, type: string): string {
  return type === 'jsonb' ? `NULLIF(${s}.${c}, '""'::jsonb)` : `NULLIF(${s}.${c}, '')::${type}`;
}
/** The value to update a keep/clear/set column to: the stored one (`t`.c) when kept. */
function updateValue(s: string, t: string, c: string, type: string): string {
  return `CASE WHEN ${s}.${c} IS NULL THEN ${t}.${c} ELSE ${insertValue(s, c, type)} END`;
}

/** A message row: the prepared message's envelope fields, and where its bytes are in the bytes parameter. */
export interface MessageRow
  extends Pick<PreparedMessage, 'source' | 'connectionId' | 'controlId' | 'sendingApplication' | 'sendingFacility' | 'messageType' | 'triggerEvent' | 'version' | 'batchControlId' | 'charset' | 'error' | 'errorLocation'> {
  /** 1-based offsets into the bytes parameter. */
  hashAt: number;
  rawAt: number;
  rawLength: number;
  status: string;
  ackCode: string;
  controlIdReused: boolean;
  warnings: string[];
  duplicateOfId: string | null;
}

const col = <R>(name: string, type: string, value: (r: R, t: Tagged<R>, i: number) => unknown): Column<R> => ({ name, type, value });
/** The id of the message a record comes from. */
const messageOf = <R>(name: string): Column<R> => ({ name, type: 'message', value: (_r, t) => t.ord });
/** The position of the record's patient in the patients set (see Tagged). */
const patientOf = <R>(): Column<R> => ({ name: 'pat', type: 'int', value: (_r, t) => t.pat });
/** The position of the record's encounter in the encounters set (see Tagged). */
const encounterOf = <R>(): Column<R> => ({ name: 'enc', type: 'int', value: (_r, t) => t.enc });

export const PATIENTS = recordSet<PatientRecord>(1, [
  col('patient_key', 'text', (r) => r.key),
  col('mrn', 'text', (r) => r.mrn),
  col('mrn_authority', 'text', (r) => r.mrnAuthority),
  messageOf('message_id'),
  ...triColumns(PATIENT_TRI),
]);

export const ENCOUNTERS = recordSet<EncounterRecord>(2, [
  col('encounter_key', 'text', (r) => r.key),
  col('key_source', 'text', (r) => r.keySource),
  patientOf(),
  messageOf('message_id'),
  ...triColumns(ENCOUNTER_TRI),
]);

export const COVERAGES = recordSet<CoverageRecord>(3, [
  col('coverage_key', 'text', (c) => `${c.ownerKey}#${c.setId}`),
  patientOf(),
  encounterOf(),
  col('set_id', 'int', (c) => c.setId),
  col('payer_id', 'text', (c) => c.payerId),
  col('payer_name', 'text', (c) => c.payerName),
  col('plan_id', 'text', (c) => c.planId),
  col('plan_type', 'text', (c) => c.planType),
  col('group_number', 'text', (c) => c.groupNumber),
  col('group_name', 'text', (c) => c.groupName),
  col('member_id', 'text', (c) => c.memberId),
  col('insured_name', 'jsonb', (c) => c.insuredName),
  col('insured_relationship', 'text', (c) => c.insuredRelationship),
  col('insured_birth_date', 'date', (c) => c.insuredBirthDate),
  col('insured_address', 'jsonb', (c) => c.insuredAddress),
  col('effective_date', 'date', (c) => c.effectiveDate),
  col('expiration_date', 'date', (c) => c.expirationDate),
  messageOf('message_id'),
]);

export const DIAGNOSES = recordSet<DiagnosisRecord>(4, [
  encounterOf(),
  col('set_id', 'int', (d) => d.setId),
  col('code', 'text', (d) => d.code),
  col('coding_system', 'text', (d) => d.codingSystem),
  col('description', 'text', (d) => d.description),
  col('diagnosis_type', 'text', (d) => d.diagnosisType),
  col('priority', 'int', (d) => d.priority),
  messageOf('message_id'),
]);

/** Identity of a procedure within its encounter. */
export const procedureKey = (p: ProcedureRecord): string => JSON.stringify([p.codingSystem, p.code, p.procedureAt ?? '']);

export const PROCEDURES = recordSet<ProcedureRecord>(13, [
  encounterOf(),
  col('set_id', 'int', (p) => p.setId),
  col('code', 'text', (p) => p.code),
  col('coding_system', 'text', (p) => p.codingSystem),
  col('description', 'text', (p) => p.description),
  col('procedure_at', 'timestamp', (p) => p.procedureAt),
  col('procedure_key', 'text', procedureKey),
  col('surgeon', 'jsonb', (p) => p.surgeon),
  messageOf('message_id'),
]);

/** Charges in the order they were sent (`rn`), which is the order of their ids. */
export const CHARGES = recordSet<ChargeRecord>(5, [
  encounterOf(),
  messageOf('message_id'),
  col('ft1_index', 'int', (c) => c.ft1Index),
  col('transaction_id', 'text', (c) => c.transactionId),
  col('transaction_batch_id', 'text', (c) => c.transactionBatchId),
  col('service_date', 'date', (c) => c.serviceDate),
  col('service_end_date', 'date', (c) => c.serviceEndDate),
  col('posting_date', 'date', (c) => c.postingDate),
  col('transaction_type', 'text', (c) => c.transactionType),
  col('transaction_code', 'text', (c) => c.transactionCode),
  col('transaction_code_system', 'text', (c) => c.transactionCodeSystem),
  col('description', 'text', (c) => c.description),
  col('quantity', 'numeric', (c) => c.quantity),
  col('amount', 'numeric', (c) => c.amount),
  col('price_source', 'text', (c) => c.priceSource),
  col('unit_amount', 'numeric', (c) => c.unitAmount),
  col('department', 'text', (c) => c.department),
  col('insurance_plan_id', 'text', (c) => c.insurancePlanId),
  col('diagnosis_codes', 'text[]', (c) => textArrayLiteral(c.diagnosisCodes)),
  col('performing_provider', 'jsonb', (c) => c.performingProvider),
  col('ordering_provider', 'jsonb', (c) => c.orderingProvider),
  col('procedure_code', 'text', (c) => c.procedureCode),
  col('procedure_code_system', 'text', (c) => c.procedureCodeSystem),
  col('modifiers', 'text[]', (c) => textArrayLiteral(c.modifiers)),
  col('ndc', 'text', (c) => c.ndc),
  col('is_credit', 'boolean', (c) => c.isCredit),
]);

export const MESSAGES = recordSet<MessageRow>(6, [
  col('ord', 'int', (_m, t) => t.ord),
  messageOf('id'),
  col('source', 'text', (m) => m.source),
  col('connection_id', 'text', (m) => m.connectionId),
  col('control_id', 'text', (m) => m.controlId),
  col('sending_application', 'text', (m) => m.sendingApplication),
  col('sending_facility', 'text', (m) => m.sendingFacility),
  col('message_type', 'text', (m) => m.messageType),
  col('trigger_event', 'text', (m) => m.triggerEvent),
  col('version', 'text', (m) => m.version),
  col('batch_control_id', 'text', (m) => m.batchControlId),
  col('hash_at', 'int', (m) => m.hashAt),
  col('raw_at', 'int', (m) => m.rawAt),
  col('raw_length', 'int', (m) => m.rawLength),
  col('charset', 'text', (m) => m.charset),
  col('status', 'text', (m) => m.status),
  col('ack_code', 'text', (m) => m.ackCode),
  col('error', 'text', (m) => m.error),
  col('error_location', 'text', (m) => m.errorLocation),
  col('control_id_reused', 'boolean', (m) => m.controlIdReused),
  col('warnings', 'text[]', (m) => textArrayLiteral(m.warnings)),
  col('duplicate_of_id', 'bigint', (m) => m.duplicateOfId),
  patientOf(),
  encounterOf(),
]);

const P_NAMES = PATIENT_TRI.map(([c]) => c);
const E_NAMES = ENCOUNTER_TRI.map(([c]) => c);

/** Raises a serialization failure (retried by the caller) unless `n` rows were found: `ids` otherwise. */
const complete = (ids: string, n: string): string =>
  `CASE WHEN count(*) = ${n}::int THEN ${ids} ELSE ARRAY[hl7c_retry('concurrent intake of the same rows')::bigint] END`;

/**
 * The whole group in one statement. Data-modifying CTEs run once each; later ones use earlier
 * ones' RETURNING rows (patient ids for encounters, encounter ids and statuses for coverages,
 * diagnoses and charges, both for the message rows). Parameters: $1..$6 the record sets above,
 * $7 the message bytes (content hashes and raw messages, which MESSAGES rows point into), $8..$10
 * the expected numbers of new message rows, patients and encounters, $11 the ids of the group's
 * messages when they were reserved beforehand (else NULL, and $12 are taken from the sequence),
 * and $13 the procedures when the shape has them (see GroupShape).
 *
 * Records find their parent's id by the parent's position (Tagged): `pids` holds the patients'
 * ids in the order of their record set, `eids` the encounters'. Joining on the natural keys
 * instead would be a nested loop over the group's own rows (hash joins are off on the intake
 * connections, see IntakeConnections), whose cost grows with the square of the group: measured
 * at 16 messages, 3,300 key comparisons per statement. `pids` and `eids` are built by joining
 * each set to the rows written for it once; a row missing there (another instance wrote the
 * same key after this statement's snapshot) fails the statement with a serialization failure,
 * which the caller retries, before any record could take a wrong parent.
 *
 * An original (a message not marked as a duplicate) that an earlier stored original has the same
 * sender, control id and content as makes the statement fail with hl7c_seen_before() (nothing is
 * kept): the caller then looks the group up and stores it again with the resend as a duplicate.
 * Every CTE reads the snapshot of the statement's start, so this group's own rows are not seen.
 *
 * Returns the message ids, which originals reuse a stored control id, the unpriced charges and
 * the credits written (credits are matched afterwards), and the ids of the patients and
 * encounters in the order of their record sets.
 */
export function groupStatementSql(shape: GroupShape): string {
  const key = (shape.statuses ? 1 : 0) + (shape.procedures ? 2 : 0) + (shape.duplicates ? 4 : 0);
  let sql = statements[key];
  if (sql === undefined) {
    sql = buildGroupStatement(shape);
    statements[key] = sql;
  }
  return sql;
}

/**
 * What a group holds that needs parts of the statement most groups can do without. Each part left
 * out is a data-modifying CTE PostgreSQL would otherwise set up (its table and indexes opened, its
 * expressions compiled) on every execution: without the four of them a group statement of one
 * DFT^P03 took 730 instead of 865 us of PostgreSQL CPU, and of 16 about 200 us less.
 */
export interface GroupShape {
  /** An encounter record sets a status: charges may have to be held (A11) or released. */
  statuses: boolean;
  /** Procedure records (PR1). */
  procedures: boolean;
  /** Message rows of resends, stored as duplicates. */
  duplicates: boolean;
}

const statements: (string | undefined)[] = [];

function buildGroupStatement(shape: GroupShape): string {
  return `
WITH ids AS MATERIALIZED (
  SELECT COALESCE($11::bigint[], ARRAY(SELECT nextval('inbound_message_id_seq') FROM generate_series(1, $12::int))) AS a
), pv AS MATERIALIZED (
  SELECT * FROM ${PATIENTS.sql} AS v
), pins AS (
  INSERT INTO patient (patient_key, mrn, mrn_authority, last_message_id, ${P_NAMES.join(', ')})
  SELECT patient_key, mrn, mrn_authority, message_id, ${PATIENT_TRI.map(([c, t]) => insertValue('pv', c, t)).join(', ')} FROM pv ORDER BY patient_key
  ON CONFLICT (patient_key) DO NOTHING
  RETURNING id, patient_key, merged_into_id
), pupd AS (
  UPDATE patient p SET ${PATIENT_TRI.map(([c, t]) => `${c} = ${updateValue('pv', 'p', c, t)}`).join(', ')},
         last_message_id = pv.message_id, updated_at = now()
    FROM pv WHERE p.patient_key = pv.patient_key
  RETURNING p.id, p.patient_key, p.merged_into_id
), pat AS (
  SELECT patient_key, COALESCE(merged_into_id, id) AS id FROM pins
  UNION ALL SELECT patient_key, COALESCE(merged_into_id, id) FROM pupd
), pids AS MATERIALIZED (
  SELECT ${complete('array_agg(pat.id ORDER BY pv.rn)', '$9')} AS a FROM pv JOIN pat USING (patient_key)
), ev AS MATERIALIZED (
  SELECT v.*, (SELECT a FROM pids)[v.pat] AS patient_id FROM ${ENCOUNTERS.sql} AS v
), eold AS (
  SELECT e.id, e.status FROM encounter e JOIN ev ON ev.encounter_key = e.encounter_key
), eins AS (
  INSERT INTO encounter (encounter_key, key_source, patient_id, last_message_id, ${E_NAMES.join(', ')})
  SELECT encounter_key, key_source, patient_id, message_id,
         ${ENCOUNTER_TRI.map(([c, t]) => (c === 'status' ? `COALESCE(NULLIF(ev.status, ''), 'active')` : insertValue('ev', c, t))).join(', ')}
    FROM ev ORDER BY encounter_key
  ON CONFLICT (encounter_key) DO NOTHING
  RETURNING id, encounter_key, status, patient_id
), eupd AS (
  UPDATE encounter e SET ${ENCOUNTER_TRI.map(([c, t]) => `${c} = ${updateValue('ev', 'e', c, t)}`).join(', ')},
         patient_id = ev.patient_id, last_message_id = ev.message_id, updated_at = now()
    FROM ev WHERE e.encounter_key = ev.encounter_key
  RETURNING e.id, e.encounter_key, e.status, e.patient_id
), enc AS (
  SELECT id, encounter_key, status, patient_id, NULL::text AS old_status FROM eins
  UNION ALL SELECT u.id, u.encounter_key, u.status, u.patient_id, o.status FROM eupd u JOIN eold o ON o.id = u.id
), eids AS MATERIALIZED (
  SELECT ${complete('array_agg(enc.id ORDER BY ev.rn)', '$10')} AS id, array_agg(enc.patient_id ORDER BY ev.rn) AS patient_id,
         array_agg(enc.status = 'cancelled' ORDER BY ev.rn) AS cancelled
    FROM ev JOIN enc USING (encounter_key)
)${shape.statuses ? `, hold AS (
  -- A11 cancel admit: the encounter's charges are held; a later admit releases them.
  UPDATE charge c SET status = 'held', hold_reason = 'encounter cancelled'
    FROM enc WHERE c.encounter_id = enc.id AND enc.status = 'cancelled' AND enc.old_status IS DISTINCT FROM 'cancelled' AND c.status = 'posted'
  RETURNING 1
), release AS (
  UPDATE charge c SET status = 'posted', hold_reason = NULL
    FROM enc WHERE c.encounter_id = enc.id AND enc.old_status = 'cancelled' AND enc.status <> 'cancelled' AND c.status = 'held' AND c.hold_reason = 'encounter cancelled'
  RETURNING 1
)` : ''}, cov AS (
  INSERT INTO coverage (coverage_key, patient_id, encounter_id, set_id, payer_id, payer_name, plan_id, plan_type, group_number, group_name, member_id,
                        insured_name, insured_relationship, insured_birth_date, insured_address, effective_date, expiration_date, last_message_id)
  SELECT v.coverage_key, (SELECT a FROM pids)[v.pat], (SELECT id FROM eids)[v.enc], v.set_id, v.payer_id, v.payer_name, v.plan_id, v.plan_type,
         v.group_number, v.group_name, v.member_id, v.insured_name, v.insured_relationship, v.insured_birth_date, v.insured_address, v.effective_date,
         v.expiration_date, v.message_id
    FROM ${COVERAGES.sql} AS v
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
  SELECT encounter_id, set_id, code, coding_system, description, diagnosis_type, priority, message_id
    FROM (SELECT v.*, (SELECT id FROM eids)[v.enc] AS encounter_id FROM ${DIAGNOSES.sql} AS v) v
   ORDER BY encounter_id, coding_system, code
  ON CONFLICT (encounter_id, coding_system, code) DO UPDATE SET
    set_id = COALESCE(EXCLUDED.set_id, diagnosis.set_id), description = COALESCE(EXCLUDED.description, diagnosis.description),
    diagnosis_type = COALESCE(EXCLUDED.diagnosis_type, diagnosis.diagnosis_type), priority = COALESCE(EXCLUDED.priority, diagnosis.priority),
    last_message_id = EXCLUDED.last_message_id
  RETURNING 1
)${shape.procedures ? `, pr AS (
  INSERT INTO procedure (encounter_id, set_id, code, coding_system, description, procedure_at, procedure_key, surgeon, last_message_id)
  SELECT encounter_id, set_id, code, coding_system, description, procedure_at, procedure_key, surgeon, message_id
    FROM (SELECT v.*, (SELECT id FROM eids)[v.enc] AS encounter_id FROM ${PROCEDURES.sql} AS v) v
   ORDER BY encounter_id, procedure_key
  ON CONFLICT (encounter_id, procedure_key) DO UPDATE SET
    set_id = COALESCE(EXCLUDED.set_id, procedure.set_id), description = COALESCE(EXCLUDED.description, procedure.description),
    surgeon = COALESCE(EXCLUDED.surgeon, procedure.surgeon), last_message_id = EXCLUDED.last_message_id
  RETURNING 1
)` : ''}, ch AS (
  -- A plain insert: a message's charges are written once, with its new id (a reprocessed message
  -- had nothing applied), so (message_id, ft1_index) cannot already be there.
  INSERT INTO charge (encounter_id, patient_id, message_id, ft1_index, transaction_id, transaction_batch_id, service_date, service_end_date, posting_date,
                      transaction_type, transaction_code, transaction_code_system, description, quantity, amount, unit_amount, department,
                      insurance_plan_id, diagnosis_codes, performing_provider, ordering_provider, procedure_code, procedure_code_system, modifiers,
                      ndc, is_credit, status, hold_reason, price_source)
  SELECT v.encounter_id, v.patient_id, v.message_id, v.ft1_index, v.transaction_id, v.transaction_batch_id, v.service_date, v.service_end_date, v.posting_date,
         v.transaction_type, v.transaction_code, v.transaction_code_system, v.description, v.quantity,
         COALESCE(v.amount, round(cm.price * v.quantity, 2)), v.unit_amount, v.department, v.insurance_plan_id, v.diagnosis_codes,
         v.performing_provider, v.ordering_provider, COALESCE(v.procedure_code, cm.procedure_code), v.procedure_code_system,
         CASE WHEN cardinality(v.modifiers) > 0 THEN v.modifiers ELSE COALESCE(cm.modifiers, '{}') END, v.ndc, v.is_credit,
         -- A credit waits for its match (made after this statement); charges of a cancelled encounter are held.
         CASE WHEN v.is_credit THEN 'unmatched_credit' WHEN v.cancelled THEN 'held' ELSE 'posted' END,
         CASE WHEN NOT v.is_credit AND v.cancelled THEN 'encounter cancelled' END,
         CASE WHEN v.amount IS NOT NULL THEN v.price_source WHEN cm.price IS NOT NULL THEN 'chargemaster' ELSE 'unpriced' END
    FROM (SELECT v.*, (SELECT id FROM eids)[v.enc] AS encounter_id, (SELECT patient_id FROM eids)[v.enc] AS patient_id,
                 (SELECT cancelled FROM eids)[v.enc] AS cancelled
            FROM ${CHARGES.sql} AS v) v
    LEFT JOIN chargemaster_item cm ON v.amount IS NULL AND cm.transaction_code = v.transaction_code
   ORDER BY v.rn
  RETURNING id, message_id, ft1_index, price_source, is_credit, encounter_id, amount
), unpriced AS (
  SELECT message_id, array_agg(ft1_index ORDER BY ft1_index) AS ft1s,
         array_agg('FT1[' || ft1_index || ']: no amount and no chargemaster price: charge is unpriced' ORDER BY ft1_index) AS warnings
    FROM ch WHERE price_source = 'unpriced' GROUP BY message_id
), seen AS (
  -- Earlier originals from the same sender with the same control id: the same content is a
  -- resend, other content a reused id. Correlated look-ups per message, so that they are index
  -- conditions on uq_inbound_message_original in any plan (as a join, a plan made while the table
  -- was empty read the whole index for every message), each stopping at its first row (a sender
  -- repeating one control id has many originals with it). Scalar sub-selects with LIMIT 1, not
  -- EXISTS: the planner may run an EXISTS as a hash of every original, built at each execution.
  SELECT ord, resent FROM (
    SELECT v.ord, CASE WHEN (SELECT true FROM inbound_message m
                              WHERE m.control_id = v.control_id AND m.sending_application = v.sending_application
                                AND m.sending_facility = v.sending_facility AND m.duplicate_of_id IS NULL
                                AND m.content_hash = substring($7::bytea FROM v.hash_at FOR 32) LIMIT 1) THEN true
                       WHEN (SELECT true FROM inbound_message m
                              WHERE m.control_id = v.control_id AND m.sending_application = v.sending_application
                                AND m.sending_facility = v.sending_facility AND m.duplicate_of_id IS NULL LIMIT 1) THEN false END AS resent
      FROM ${MESSAGES.sql} AS v
     WHERE v.duplicate_of_id IS NULL
  ) s WHERE resent IS NOT NULL
), mv AS (
  SELECT v.*, substring($7::bytea FROM v.hash_at FOR 32) AS content_hash, substring($7::bytea FROM v.raw_at FOR v.raw_length) AS raw,
         (SELECT a FROM pids)[v.pat] AS patient_id, (SELECT id FROM eids)[v.enc] AS encounter_id, v.warnings || COALESCE(u.warnings, '{}') AS all_warnings
    FROM ${MESSAGES.sql} AS v
    LEFT JOIN unpriced u ON u.message_id = v.id
), orig AS (
  INSERT INTO inbound_message (id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                               batch_control_id, content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused, warnings,
                               patient_id, encounter_id, processed_at)
  SELECT id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
         content_hash, raw, charset, status, ack_code, error, error_location, control_id_reused OR ord IN (SELECT ord FROM seen),
         NULLIF(all_warnings, '{}'), patient_id, encounter_id, now()
    FROM mv WHERE duplicate_of_id IS NULL ORDER BY id
  ON CONFLICT (control_id, sending_application, sending_facility, content_hash) WHERE duplicate_of_id IS NULL DO NOTHING
  RETURNING 1
)${shape.duplicates ? `, dup AS (
  INSERT INTO inbound_message (id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version,
                               batch_control_id, content_hash, raw, charset, status, ack_code, duplicate_of_id, processed_at)
  SELECT id, source, connection_id, control_id, sending_application, sending_facility, message_type, trigger_event, version, batch_control_id,
         content_hash, raw, charset, 'duplicate', ack_code, duplicate_of_id, now()
    FROM mv WHERE duplicate_of_id IS NOT NULL ORDER BY id
  RETURNING 1
)` : ''}, counts AS (
  -- The other data-modifying CTEs (hold, release, cov, dx, pr, dup) run to completion unread.
  SELECT (SELECT count(*) FROM orig) AS originals, (SELECT count(*) FROM pat) AS patients, (SELECT count(*) FROM enc) AS encounters
)
SELECT (SELECT a::text[] FROM ids) AS message_ids, (SELECT array_agg(ord ORDER BY ord) FROM seen) AS reused,
       (SELECT json_agg(json_build_array(message_id::text, ft1s)) FROM unpriced) AS unpriced,
       (SELECT json_agg(json_build_array(id::text, message_id::text, ft1_index, encounter_id::text, amount::text)) FROM ch WHERE is_credit) AS credits,
       (SELECT a::text[] FROM pids) AS patient_ids, (SELECT id::text[] FROM eids) AS encounter_ids,
       -- Another instance inserted one of these rows after our look-up: fail the whole statement
       -- (nothing is kept) with a serialization failure, which the caller retries.
       CASE WHEN EXISTS (SELECT 1 FROM seen WHERE resent) THEN hl7c_seen_before()
            WHEN originals <> $8 OR patients <> $9 OR encounters <> $10 THEN hl7c_retry('concurrent intake of the same rows') END AS retry
  FROM counts`;
}
