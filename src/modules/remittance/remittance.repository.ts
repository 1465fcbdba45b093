import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { CandidateClaim, CandidateLine } from './matching';
import type { PostedPayment } from './adjudication';
import { toCents } from '../../lib/decimal';
import type { ServicePayment835 } from '../../lib/x12';

type Q = <T>(sql: string, params?: unknown[]) => Promise<T[]>;
const qOf = (em: EntityManager): Q => (sql, params) => em.query(sql, params ?? []);

/** A bulk-insert column: name and SQL type (text[] values are array literals, jsonb values JSON). */
export type BulkColumn = readonly [name: string, type: string];

/** A PostgreSQL array literal of text values (read with `::text[]`). */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * Rows as positional JSON arrays in one jsonb parameter, read back with jsonb_array_elements: one
 * round trip per table per batch of claims (the intake's measured encoding).
 */
async function bulkInsert(em: EntityManager, table: string, columns: readonly BulkColumn[], rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const pick = ([, type]: BulkColumn, i: number): string => (type === 'text' ? `e->>${i}` : type === 'jsonb' ? `NULLIF(e->${i}, 'null'::jsonb)` : `(e->>${i})::${type}`);
  await em.query(`INSERT INTO ${table} (${columns.map(([n]) => n).join(', ')}) SELECT ${columns.map(pick).join(', ')} FROM jsonb_array_elements($1::jsonb) AS x(e)`, [JSON.stringify(rows)]);
}

export const CLAIM_PAYMENT_COLUMNS: readonly BulkColumn[] = [
  ['id', 'bigint'], ['transaction_id', 'bigint'], ['position', 'int'], ['claim_id', 'bigint'], ['payer_row_id', 'bigint'], ['own_payer', 'boolean'], ['match_status', 'text'],
  ['match_method', 'text'], ['match_note', 'text'], ['candidate_claim_ids', 'bigint[]'], ['patient_control_number', 'text'], ['status_code', 'text'], ['charge', 'numeric'],
  ['paid', 'numeric'], ['patient_responsibility', 'numeric'], ['filing_indicator', 'text'], ['payer_claim_control_number', 'text'], ['facility_code', 'text'], ['frequency', 'text'],
  ['drg', 'text'], ['statement_from', 'date'], ['statement_to', 'date'], ['payment_date', 'date'], ['interest', 'numeric'], ['remarks', 'text[]'], ['crossover', 'boolean'], ['reverses_payment_id', 'bigint'],
  ['imbalance', 'numeric'], ['patient_responsibility_difference', 'numeric'], ['details', 'jsonb'],
];
export const SERVICE_PAYMENT_COLUMNS: readonly BulkColumn[] = [
  ['id', 'bigint'], ['claim_payment_id', 'bigint'], ['position', 'int'], ['claim_line_id', 'bigint'], ['match_method', 'text'], ['match_note', 'text'], ['qualifier', 'text'],
  ['procedure_code', 'text'], ['modifiers', 'text[]'], ['revenue_code', 'text'], ['charge', 'numeric'], ['paid', 'numeric'], ['units', 'numeric'], ['original', 'jsonb'],
  ['line_control_number', 'text'], ['service_date', 'date'], ['service_end_date', 'date'], ['allowed', 'numeric'], ['expected_allowed', 'numeric'], ['underpaid', 'numeric'],
  ['remarks', 'text[]'], ['imbalance', 'numeric'], ['details', 'jsonb'],
];
export const ADJUSTMENT_COLUMNS: readonly BulkColumn[] = [['claim_payment_id', 'bigint'], ['service_payment_id', 'bigint'], ['group_code', 'text'], ['reason_code', 'text'], ['amount', 'numeric'], ['quantity', 'numeric']];
export const EXCEPTION_COLUMNS: readonly BulkColumn[] = [['transaction_id', 'bigint'], ['claim_payment_id', 'bigint'], ['service_payment_id', 'bigint'], ['position', 'int'], ['kind', 'text'], ['message', 'text'], ['difference', 'numeric']];
export const PROVIDER_ADJUSTMENT_COLUMNS: readonly BulkColumn[] = [['transaction_id', 'bigint'], ['position', 'int'], ['provider_id', 'text'], ['fiscal_period_date', 'date'], ['reason_code', 'text'], ['reference', 'text'], ['amount', 'numeric'], ['claim_id', 'bigint']];

export interface ClaimToPost {
  id: string;
  patientControlNumber: string;
  status: string;
  payerRowId: string | null;
  totalCharge: string;
}

export interface PayerRow {
  id: string;
  payerId: string;
  name: string;
  remitIds: string[];
}

export interface ExistingDenial {
  id: string;
  claimId: string;
  claimLineId: string | null;
  status: string;
}

export interface DenialRow {
  claimId: string;
  claimLineId: string | null;
  payerRowId: string | null;
  kind: string;
  carcs: { group: string; reason: string; amount: string }[];
  rarcs: string[];
  billed: string;
  paid: string;
  amount: string;
  serviceDate: string | null;
  deniedOn: string | null;
  paymentId: string;
}

/** Every query of 835 import and posting; all run in the caller's transaction. */
@Injectable()
export class RemittanceRepository {
  constructor(readonly dataSource: DataSource) {}

  transaction<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** One import posts at a time (per database): held until the transaction ends. */
  async lockImports(em: EntityManager): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock($1)', [REMITTANCE_IMPORT_LOCK]);
  }

  async fileBySha(em: EntityManager, sha: Buffer): Promise<{ id: string; status: string; summary: Record<string, unknown>; error: string | null; error_location: string | null; parts: number } | undefined> {
    const [row] = await qOf(em)<{ id: string; status: string; summary: Record<string, unknown>; error: string | null; error_location: string | null; parts: number }>(
      `SELECT id, status, summary, error, error_location, (SELECT count(*)::int FROM remittance_file_part WHERE file_id = f.id) AS parts FROM remittance_file f WHERE content_sha256 = $1`,
      [sha],
    );
    return row;
  }

  async insertFile(em: EntityManager, f: { sha: Buffer; name: string | null; size: number; actor: string; status: 'posted' | 'refused'; error?: string; location?: string }): Promise<string> {
    const [row] = await qOf(em)<{ id: string }>(
      `INSERT INTO remittance_file (content_sha256, file_name, size_bytes, status, error, error_location, received_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [f.sha, f.name, f.size, f.status, f.error ?? null, f.location ?? null, f.actor],
    );
    return (row as { id: string }).id;
  }

  async insertPart(em: EntityManager, fileId: string, part: number, bytes: Buffer): Promise<void> {
    await em.query(`INSERT INTO remittance_file_part (file_id, part, bytes) VALUES ($1, $2, $3)`, [fileId, part, bytes]);
  }

  async finishFile(em: EntityManager, fileId: string, status: 'posted' | 'refused', summary: unknown, error?: { message: string; location: string }): Promise<void> {
    await em.query(`UPDATE remittance_file SET status = $2, summary = $3, error = $4, error_location = $5 WHERE id = $1`, [fileId, status, JSON.stringify(summary), error?.message ?? null, error?.location ?? null]);
  }

  /** The claims a file's payments were posted to. */
  async claimsOfFile(fileId: string): Promise<string[]> {
    const rows = await this.dataSource.query<{ claim_id: string }[]>(
      `SELECT DISTINCT cp.claim_id::text AS claim_id FROM claim_payment cp JOIN remittance_transaction t ON t.id = cp.transaction_id WHERE t.file_id = $1 AND cp.claim_id IS NOT NULL`,
      [fileId],
    );
    return rows.map((r) => r.claim_id);
  }

  async payers(em: EntityManager): Promise<PayerRow[]> {
    return (await qOf(em)<{ id: string; payer_id: string; name: string; remit_ids: string[] }>(`SELECT id, payer_id, name, remit_ids FROM practice_payer ORDER BY id`)).map((p) => ({
      id: p.id, payerId: p.payer_id, name: p.name, remitIds: p.remit_ids,
    }));
  }

  /** The ERA already posted with this payer id, trace number, amount and date. */
  async postedEra(em: EntityManager, k: { payerTraceId: string; trace: string; amount: string; date: string | null }): Promise<string | undefined> {
    const [row] = await qOf(em)<{ id: string }>(
      `SELECT id FROM remittance_transaction WHERE trace_payer_id = $1 AND trace_number = $2 AND payment_amount = $3 AND payment_date IS NOT DISTINCT FROM $4::date AND duplicate_of_id IS NULL`,
      [k.payerTraceId, k.trace, k.amount, k.date],
    );
    return row?.id;
  }

  /** n new ids of a sequence, in order. */
  async reserveIds(em: EntityManager, sequence: 'claim_payment_id_seq' | 'service_payment_id_seq' | 'remittance_transaction_id_seq', n: number): Promise<string[]> {
    if (n === 0) return [];
    const rows = await qOf(em)<{ id: string }>(`SELECT nextval('${sequence}')::text AS id FROM generate_series(1, $1::int)`, [n]);
    return rows.map((r) => r.id);
  }

  /** Claims by patient control number; `payerRowId`: the paying payer (other payers are read for claims it is not the payer of). */
  async claimsByPcn(em: EntityManager, pcns: string[], payerRowId?: string | null): Promise<CandidateClaim[]> {
    if (pcns.length === 0) return [];
    return this.candidates(em, `c.patient_control_number = ANY($1::text[])`, [pcns], payerRowId);
  }

  /** Claims a payer claim number (CLP07) was seen on: the claim's REF*1K, or an earlier matched claim payment's. */
  async claimsByIcn(em: EntityManager, icns: string[], payerRowId?: string | null): Promise<(CandidateClaim & { icn: string })[]> {
    if (icns.length === 0) return [];
    const rows = await qOf(em)<{ id: string; icn: string }>(
      `SELECT id, payer_claim_control_number AS icn FROM claim WHERE payer_claim_control_number = ANY($1::text[])
        UNION SELECT claim_id, payer_claim_control_number FROM claim_payment WHERE payer_claim_control_number = ANY($1::text[]) AND claim_id IS NOT NULL`,
      [icns],
    );
    if (rows.length === 0) return [];
    const claims = new Map((await this.candidates(em, `c.id = ANY($1::bigint[])`, [[...new Set(rows.map((r) => r.id))]], payerRowId)).map((c) => [c.id, c]));
    return rows.flatMap((r) => {
      const c = claims.get(r.id);
      return c ? [{ ...c, icn: r.icn }] : [];
    });
  }

  /**
   * Claims with what matching reads. The ids of their other payers (2330B, in the claim's payload)
   * are read only for claims paid by a payer other than their own (a crossover or a mismatch):
   * reading every payload would cost more than the rest of matching.
   */
  private async candidates(em: EntityManager, where: string, params: unknown[], payerRowId?: string | null): Promise<CandidateClaim[]> {
    const rows = await qOf(em)<{ id: string; patient_control_number: string; status: string; payer_id: string | null; other: string[] | null }>(
      `SELECT c.id, c.patient_control_number, c.status, c.payer_id,
              CASE WHEN $${params.length + 1}::bigint IS NOT NULL AND c.payer_id IS DISTINCT FROM $${params.length + 1}::bigint
                   THEN (SELECT array_agg(o->'payer'->>'id') FROM jsonb_array_elements(c.payload->'otherCoverage') o) END AS other
         FROM claim c WHERE ${where}`,
      [...params, payerRowId ?? null],
    );
    return rows.map((r) => ({ id: r.id, patientControlNumber: r.patient_control_number, status: r.status, payerRowId: r.payer_id, otherPayerIds: r.other ?? [] }));
  }

  async claimLines(em: EntityManager, claimIds: string[]): Promise<(CandidateLine & { claimId: string; lineNumber: number; charge: string })[]> {
    if (claimIds.length === 0) return [];
    const rows = await qOf(em)<{ id: string; claim_id: string; line_number: number; control_number: string; procedure_code: string | null; modifiers: string[]; revenue_code: string | null; quantity: string; charge: string; service_date: string; service_end_date: string | null }>(
      `SELECT id, claim_id, line_number, control_number, procedure_code, modifiers, revenue_code, quantity::text, charge_amount::text AS charge,
              to_char(service_date, 'YYYY-MM-DD') AS service_date, to_char(service_end_date, 'YYYY-MM-DD') AS service_end_date
         FROM claim_line WHERE claim_id = ANY($1::bigint[]) ORDER BY claim_id, line_number`,
      [claimIds],
    );
    return rows.map((r) => ({
      id: r.id, claimId: r.claim_id, lineNumber: r.line_number, controlNumber: r.control_number, procedureCode: r.procedure_code, modifiers: r.modifiers, revenueCode: r.revenue_code,
      quantity: r.quantity, charge: r.charge, serviceDate: r.service_date, serviceEndDate: r.service_end_date,
    }));
  }

  /** Locks the claims being posted (in id order, so two writers never wait on each other in a circle). */
  async lockClaims(em: EntityManager, ids: string[]): Promise<Map<string, ClaimToPost>> {
    if (ids.length === 0) return new Map();
    const rows = await qOf(em)<{ id: string; patient_control_number: string; status: string; payer_id: string | null; total_charge: string }>(
      `SELECT id, patient_control_number, status, payer_id, total_charge::text FROM claim WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, { id: r.id, patientControlNumber: r.patient_control_number, status: r.status, payerRowId: r.payer_id, totalCharge: r.total_charge }]));
  }

  async feeSchedule(em: EntityManager, payerRowId: string): Promise<Map<string, string>> {
    const rows = await qOf(em)<{ code: string; modifier: string; allowed: string }>(`SELECT code, modifier, allowed::text FROM practice_fee_schedule WHERE payer_id = $1`, [payerRowId]);
    return new Map(rows.map((r) => [r.modifier === '' ? r.code : `${r.code}|${r.modifier}`, r.allowed]));
  }

  insertClaimPayments(em: EntityManager, rows: unknown[][]): Promise<void> {
    return bulkInsert(em, 'claim_payment', CLAIM_PAYMENT_COLUMNS, rows);
  }

  insertServicePayments(em: EntityManager, rows: unknown[][]): Promise<void> {
    return bulkInsert(em, 'service_payment', SERVICE_PAYMENT_COLUMNS, rows);
  }

  insertAdjustments(em: EntityManager, rows: unknown[][]): Promise<void> {
    return bulkInsert(em, 'payment_adjustment', ADJUSTMENT_COLUMNS, rows);
  }

  insertExceptions(em: EntityManager, rows: unknown[][]): Promise<void> {
    return bulkInsert(em, 'remittance_exception', EXCEPTION_COLUMNS, rows);
  }

  insertProviderAdjustments(em: EntityManager, rows: unknown[][]): Promise<void> {
    return bulkInsert(em, 'provider_adjustment', PROVIDER_ADJUSTMENT_COLUMNS, rows);
  }

  async insertTransaction(em: EntityManager, t: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(t);
    await em.query(`INSERT INTO remittance_transaction (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => t[c]));
  }

  /** Claims a PLB reference (PLB03-2) names: by patient control number or payer claim number. */
  async claimsByReference(em: EntityManager, refs: string[]): Promise<Map<string, string[]>> {
    if (refs.length === 0) return new Map();
    const rows = await qOf(em)<{ ref: string; id: string }>(
      `SELECT patient_control_number AS ref, id FROM claim WHERE patient_control_number = ANY($1::text[])
        UNION SELECT payer_claim_control_number, id FROM claim WHERE payer_claim_control_number = ANY($1::text[])
        UNION SELECT payer_claim_control_number, claim_id FROM claim_payment WHERE payer_claim_control_number = ANY($1::text[]) AND claim_id IS NOT NULL`,
      [refs],
    );
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.ref, [...new Set([...(out.get(r.ref) ?? []), r.id])]);
    return out;
  }

  /**
   * The payments posted on these claims (matched), with their lines and adjustments, in posting
   * order; `below` leaves out ids from that one up (the batch being posted, already in memory).
   */
  async payments(em: EntityManager, claimIds: string[], below?: string): Promise<Map<string, PostedPayment[]>> {
    const out = new Map<string, PostedPayment[]>();
    if (claimIds.length === 0) return out;
    const q = qOf(em);
    const cps = await q<{ id: string; claim_id: string; status_code: string; own_payer: boolean; crossover: boolean; reverses_payment_id: string | null; payer_claim_control_number: string | null; charge: string; paid: string; interest: string | null; payment_date: string | null; remarks: string[] }>(
      `SELECT cp.id, cp.claim_id, cp.status_code, cp.own_payer, cp.crossover, cp.reverses_payment_id, cp.payer_claim_control_number, cp.charge::text, cp.paid::text, cp.interest::text,
              to_char(cp.payment_date, 'YYYY-MM-DD') AS payment_date, cp.remarks
         FROM claim_payment cp
        WHERE cp.claim_id = ANY($1::bigint[]) AND ($2::bigint IS NULL OR cp.id < $2::bigint) ORDER BY cp.id`,
      [claimIds, below ?? null],
    );
    if (cps.length === 0) return out;
    const ids = cps.map((c) => c.id);
    const [sps, adjs] = [
      await q<{ id: string; claim_payment_id: string; claim_line_id: string | null; charge: string; paid: string; underpaid: string | null; remarks: string[]; qualifier: string; procedure_code: string; modifiers: string[]; revenue_code: string | null; units: string }>(
        `SELECT id, claim_payment_id, claim_line_id, charge::text, paid::text, underpaid::text, remarks, qualifier, procedure_code, modifiers, revenue_code, units::text
           FROM service_payment WHERE claim_payment_id = ANY($1::bigint[]) ORDER BY id`,
        [ids],
      ),
      await q<{ claim_payment_id: string; service_payment_id: string | null; group_code: string; reason_code: string; amount: string }>(
        `SELECT claim_payment_id, service_payment_id, group_code, reason_code, amount::text FROM payment_adjustment WHERE claim_payment_id = ANY($1::bigint[]) ORDER BY id`,
        [ids],
      ),
    ];
    const c = (v: string | null): number => (v === null ? 0 : (toCents(v) as number));
    const byId = new Map<string, PostedPayment>();
    for (const r of cps) {
      const p: PostedPayment = {
        id: r.id, statusCode: r.status_code, ownPayer: r.own_payer, crossover: r.crossover, reversesId: r.reverses_payment_id, payerClaimControlNumber: r.payer_claim_control_number,
        chargeCents: c(r.charge), paidCents: c(r.paid),
        interestCents: c(r.interest), paymentDate: r.payment_date, remarks: r.remarks, adjustments: [], services: [],
      };
      byId.set(r.id, p);
      out.set(r.claim_id, [...(out.get(r.claim_id) ?? []), p]);
    }
    const services = new Map<string, PostedPayment['services'][number]>();
    for (const s of sps) {
      const svc = {
        id: s.id, claimLineId: s.claim_line_id, chargeCents: c(s.charge), paidCents: c(s.paid), underpaidCents: c(s.underpaid), remarks: s.remarks, adjustments: [],
        procedure: { qualifier: s.qualifier, code: s.procedure_code, modifiers: s.modifiers }, revenueCode: s.revenue_code ?? undefined, units: s.units,
      };
      services.set(s.id, svc);
      byId.get(s.claim_payment_id)?.services.push(svc);
    }
    for (const a of adjs) {
      const adj = { group: a.group_code, reason: a.reason_code, amountCents: c(a.amount) };
      if (a.service_payment_id !== null) services.get(a.service_payment_id)?.adjustments.push(adj);
      else byId.get(a.claim_payment_id)?.adjustments.push(adj);
    }
    return out;
  }

  /** A claim payment with what a manual match needs, locked. */
  async paymentToMatch(em: EntityManager, id: string): Promise<{ matchStatus: string; claimId: string | null; note: string | null; statusCode: string | null; charge: string | null; paid: string | null; trace: string; payerName: string; paymentDate: string | null; txPayerRowId: string | null; txPayerId: string | null } | undefined> {
    const [r] = await qOf(em)<{ match_status: string; claim_id: string | null; match_note: string | null; status_code: string | null; charge: string | null; paid: string | null; trace_number: string; payer_name: string; payment_date: string | null; payer_row_id: string | null; payer_id: string | null }>(
      `SELECT cp.match_status, cp.claim_id, cp.match_note, cp.status_code, cp.charge::text, cp.paid::text, t.trace_number, t.payer_name, to_char(t.payment_date, 'YYYY-MM-DD') AS payment_date,
              t.payer_row_id, p.payer_id
         FROM claim_payment cp JOIN remittance_transaction t ON t.id = cp.transaction_id LEFT JOIN practice_payer p ON p.id = t.payer_row_id WHERE cp.id = $1 FOR UPDATE OF cp`,
      [id],
    );
    return r && {
      matchStatus: r.match_status, claimId: r.claim_id, note: r.match_note, statusCode: r.status_code, charge: r.charge, paid: r.paid, trace: r.trace_number, payerName: r.payer_name,
      paymentDate: r.payment_date, txPayerRowId: r.payer_row_id, txPayerId: r.payer_id,
    };
  }

  async matchPayment(em: EntityManager, id: string, claimId: string, ownPayer: boolean, note: string, actor: string): Promise<void> {
    await em.query(
      `UPDATE claim_payment SET claim_id = $2, match_status = 'matched', match_method = 'manual', own_payer = $3, match_note = $4, matched_by = $5, matched_at = now() WHERE id = $1`,
      [id, claimId, ownPayer, note, actor],
    );
  }

  /** A claim payment's service payments, in the shape line matching reads. */
  async servicesToMatch(em: EntityManager, claimPaymentId: string): Promise<(ServicePayment835 & { id: string })[]> {
    const rows = await qOf(em)<{ id: string; position: number; qualifier: string; procedure_code: string; modifiers: string[]; units: string; original: ServicePayment835['original'] | null; line_control_number: string | null; service_date: string | null; service_end_date: string | null; charge: string; paid: string }>(
      `SELECT id, position, qualifier, procedure_code, modifiers, units::text, original, line_control_number, to_char(service_date, 'YYYY-MM-DD') AS service_date,
              to_char(service_end_date, 'YYYY-MM-DD') AS service_end_date, charge::text, paid::text
         FROM service_payment WHERE claim_payment_id = $1 ORDER BY id`,
      [claimPaymentId],
    );
    return rows.map((r) => ({
      id: r.id, position: r.position, qualifier: r.qualifier, code: r.procedure_code, modifiers: r.modifiers, units: r.units, original: r.original ?? undefined, lineControlNumber: r.line_control_number ?? undefined,
      serviceDate: r.service_date ?? undefined, serviceEndDate: r.service_end_date ?? undefined, charge: r.charge, paid: r.paid, adjustments: [], remarks: [], pharmacyRejects: [], references: [], dates: [],
      amounts: [], quantities: [], imbalanceCents: 0,
    }));
  }

  /** Sets the lines of service payments that have none (a line is set once). */
  async matchServices(em: EntityManager, matches: { id: string; match: { lineId: string | null; method?: string; note?: string } }[], actor: string, byHand = false): Promise<void> {
    const set = matches.filter((m) => m.match.lineId !== null);
    if (set.length === 0) return;
    await em.query(
      `UPDATE service_payment sp SET claim_line_id = v.line, match_method = v.method, match_note = v.note, matched_by = $5, matched_at = now()
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS v(id, line, method, note) WHERE sp.id = v.id AND sp.claim_line_id IS NULL`,
      [set.map((m) => m.id), set.map((m) => m.match.lineId), set.map((m) => (byHand ? 'manual' : (m.match.method ?? 'procedure'))), set.map((m) => m.match.note ?? null), actor],
    );
  }

  /** A service payment with its claim payment's claim, locked. */
  async serviceToMatch(em: EntityManager, id: string): Promise<{ claimPaymentId: string; claimId: string | null; claimLineId: string | null; procedure: string; trace: string; paymentDate: string | null } | undefined> {
    const [r] = await qOf(em)<{ claim_payment_id: string; claim_id: string | null; claim_line_id: string | null; procedure: string; trace_number: string; payment_date: string | null }>(
      `SELECT sp.claim_payment_id, cp.claim_id, sp.claim_line_id, sp.qualifier || ':' || sp.procedure_code AS procedure, t.trace_number, to_char(t.payment_date, 'YYYY-MM-DD') AS payment_date
         FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id JOIN remittance_transaction t ON t.id = cp.transaction_id WHERE sp.id = $1 FOR UPDATE OF sp`,
      [id],
    );
    return r && { claimPaymentId: r.claim_payment_id, claimId: r.claim_id, claimLineId: r.claim_line_id, procedure: r.procedure, trace: r.trace_number, paymentDate: r.payment_date };
  }

  /** Moves claims to their new statuses, each change a claim_event. */
  async setClaimStatuses(em: EntityManager, changes: { id: string; from: string; to: string; reason: string; payerClaimControlNumber?: string | null }[], actor: string): Promise<void> {
    if (changes.length === 0) return;
    // The payer's claim number of its latest payment (CLP07) is kept on the claim: a correction or void carries it (REF*F8).
    await em.query(
      `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, status, icn))
       UPDATE claim c SET status = v.status, payer_claim_control_number = COALESCE(v.icn, c.payer_claim_control_number), updated_at = now() FROM v WHERE c.id = v.id`,
      [changes.map((c) => c.id), changes.map((c) => c.to), changes.map((c) => c.payerClaimControlNumber ?? null)],
    );
    await em.query(
      `INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor) SELECT id, f, t, r, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS v(id, f, t, r)`,
      [changes.map((c) => c.id), changes.map((c) => c.from), changes.map((c) => c.to), changes.map((c) => c.reason), actor],
    );
  }

  /** A claim event without a status change (a payment posted on a claim whose status it does not move). */
  async noteClaims(em: EntityManager, notes: { id: string; status: string; reason: string }[], actor: string): Promise<void> {
    if (notes.length === 0) return;
    await em.query(
      `INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor) SELECT id, s, s, r, $4 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, s, r)`,
      [notes.map((n) => n.id), notes.map((n) => n.status), notes.map((n) => n.reason), actor],
    );
  }

  async denialsOf(em: EntityManager, claimIds: string[]): Promise<ExistingDenial[]> {
    if (claimIds.length === 0) return [];
    return (await qOf(em)<{ id: string; claim_id: string; claim_line_id: string | null; status: string }>(
      `SELECT id, claim_id, claim_line_id, status FROM denial WHERE claim_id = ANY($1::bigint[])`,
      [claimIds],
    )).map((d) => ({ id: d.id, claimId: d.claim_id, claimLineId: d.claim_line_id, status: d.status }));
  }

  /** New denial records (one per claim and line), starting with the payment that made them. */
  async insertDenials(em: EntityManager, rows: DenialRow[]): Promise<void> {
    await bulkInsert(
      em,
      'denial',
      [['claim_id', 'bigint'], ['claim_line_id', 'bigint'], ['payer_row_id', 'bigint'], ['kind', 'text'], ['status', 'text'], ['carcs', 'jsonb'], ['rarcs', 'text[]'], ['billed', 'numeric'],
        ['paid', 'numeric'], ['amount', 'numeric'], ['service_date', 'date'], ['denied_on', 'date'], ['first_payment_id', 'bigint'], ['last_payment_id', 'bigint']],
      rows.map((r) => [r.claimId, r.claimLineId, r.payerRowId, r.kind, 'open', r.carcs, textArray(r.rarcs), r.billed, r.paid, r.amount, r.serviceDate, r.deniedOn, r.paymentId, r.paymentId]),
    );
  }

  /** Denial records that exist: brought up to date (and open again if they were closed). */
  async updateDenials(em: EntityManager, rows: DenialRow[]): Promise<void> {
    if (rows.length === 0) return;
    await em.query(
      `UPDATE denial d SET kind = v.e->>'kind', status = 'open', carcs = v.e->'carcs', rarcs = ARRAY(SELECT jsonb_array_elements_text(v.e->'rarcs')), billed = (v.e->>'billed')::numeric,
              paid = (v.e->>'paid')::numeric, amount = (v.e->>'amount')::numeric, denied_on = (v.e->>'deniedOn')::date, last_payment_id = (v.e->>'paymentId')::bigint,
              resolution = NULL, updated_at = now()
         FROM jsonb_array_elements($1::jsonb) AS v(e)
        WHERE d.claim_id = (v.e->>'claimId')::bigint AND d.claim_line_id IS NOT DISTINCT FROM (v.e->>'claimLineId')::bigint`,
      [JSON.stringify(rows)],
    );
  }

  async closeDenials(em: EntityManager, closes: { id: string; status: 'resolved' | 'reversed'; resolution: string; paymentId: string }[]): Promise<void> {
    if (closes.length === 0) return;
    await em.query(
      `UPDATE denial d SET status = v.s, resolution = v.r, last_payment_id = v.p, updated_at = now()
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS v(id, s, r, p) WHERE d.id = v.id`,
      [closes.map((c) => c.id), closes.map((c) => c.status), closes.map((c) => c.resolution), closes.map((c) => c.paymentId)],
    );
  }
}

/** Arbitrary constant: the advisory lock that lets one 835 import post at a time. */
export const REMITTANCE_IMPORT_LOCK = 727_003;
