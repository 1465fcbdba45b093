import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { fromCents, toCents } from '../../lib/decimal';
import { CodeSetsService } from '../scrubber/codesets.service';
import { adjudicate, type BalanceCents, type LineStatus, type PaymentClaimStatus } from './adjudication';
import { RemittanceRepository } from './remittance.repository';
import { CLAIM_STATUS_WORDS } from './remittance.service';

/** Claim adjustment group codes in words (X12 CARC groups). */
export const GROUP_WORDS: Record<string, string> = {
  CO: 'contractual obligation (the provider writes it off; not billed to the patient)',
  PR: 'patient responsibility',
  OA: 'other adjustment',
  PI: 'payer-initiated reduction (not billed to the patient)',
  CR: 'correction or reversal (4010 code)',
};

export interface PaymentView {
  id: string;
  transactionId: string;
  traceNumber: string;
  paymentDate: string | null;
  payerName: string;
  status: string;
  statusText: string;
  charge: string;
  paid: string;
  patientResponsibility: string | null;
  payerClaimControlNumber: string | null;
  ownPayer: boolean;
  reversal: boolean;
  /** A later reversal undid this payment. */
  reversed: boolean;
  matchMethod: string | null;
  interest: string | null;
  adjustments: { level: 'claim' | 'line'; lineControlNumber: string | null; group: string; groupText: string; reason: string; reasonText: string; reasonStatus: string; amount: string; quantity: string | null }[];
  remarks: { code: string; text: string; status: string }[];
  lines: { id: string; lineControlNumber: string | null; claimLineId: string | null; procedure: string; charge: string; paid: string; allowed: string | null; underpaid: string | null; units: string; serviceDate: string | null; matchNote: string | null; remarks: { code: string; text: string; status: string }[] }[];
}

export interface ClaimMoney {
  payments: PaymentView[];
  /**
   * The payer balance, and what the practice wrote off in the work queue: a write-off gives up
   * pursuing an amount the payer's adjustments (CO, OA, PI) already took off the balance, so it is
   * shown beside `outstanding`, not subtracted again.
   */
  balance: Record<keyof BalanceCents, string> & { writtenOff: string };
  /** The status the payments give (what posting set, unless the claim was replaced). */
  paymentStatus: PaymentClaimStatus | null;
  lineStatuses: { lineId: string; status: LineStatus; paid: string }[];
}

/** What the API and the CLI read about remittances: transactions, unmatched payments, a claim's money. */
@Injectable()
export class RemittanceQueries {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repository: RemittanceRepository,
    private readonly codeSets: CodeSetsService,
  ) {}

  private async describe(): Promise<{ carc: (code: string) => { text: string; status: string }; rarc: (code: string) => { text: string; status: string } }> {
    const codes = await this.codeSets.adjustmentCodes();
    return { carc: (c) => codes.words('carc', c), rarc: (c) => codes.words('rarc', c) };
  }

  async list(f: { payerId?: string; from?: string; to?: string; limit: number; offset: number }): Promise<{ items: unknown[]; total: number }> {
    const where = `($1::text IS NULL OR p.payer_id = $1 OR $1 = ANY(t.payer_ids)) AND ($2::date IS NULL OR t.payment_date >= $2::date) AND ($3::date IS NULL OR t.payment_date <= $3::date)`;
    const params = [f.payerId ?? null, f.from ?? null, f.to ?? null];
    const [items, total] = await Promise.all([
      this.dataSource.query<{ id: string; file_id: string; trace_number: string; payer_name: string; payer_id: string | null; trace_payer_id: string; payment_method: string; handling_code: string; payment_amount: string; credit_debit: string; payment_date: string | null; claim_count: number; unmatched: number; unbalanced: number; duplicate_of_id: string | null; posted_at: Date }[]>(
        `SELECT t.id, t.file_id, t.trace_number, t.payer_name, p.payer_id, t.trace_payer_id, t.payment_method, t.handling_code, t.payment_amount::text, t.credit_debit,
                to_char(t.payment_date, 'YYYY-MM-DD') AS payment_date, t.claim_count, t.duplicate_of_id, t.posted_at,
                (SELECT count(*)::int FROM claim_payment cp WHERE cp.transaction_id = t.id AND cp.match_status <> 'matched') AS unmatched,
                (SELECT count(*)::int FROM remittance_exception x WHERE x.transaction_id = t.id AND x.kind IN ('line_unbalanced', 'claim_unbalanced', 'transaction_unbalanced')) AS unbalanced
           FROM remittance_transaction t LEFT JOIN practice_payer p ON p.id = t.payer_row_id
          WHERE ${where} ORDER BY t.payment_date DESC NULLS LAST, t.id DESC LIMIT $4 OFFSET $5`,
        [...params, f.limit, f.offset],
      ),
      this.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM remittance_transaction t LEFT JOIN practice_payer p ON p.id = t.payer_row_id WHERE ${where}`, params),
    ]);
    return {
      items: items.map((t) => ({
        id: t.id, fileId: t.file_id, traceNumber: t.trace_number, payerName: t.payer_name, payerId: t.payer_id ?? t.trace_payer_id, method: t.payment_method, handling: t.handling_code,
        amount: t.credit_debit === 'D' ? `-${t.payment_amount}` : t.payment_amount, paymentDate: t.payment_date, claimPayments: t.claim_count, unmatched: t.unmatched, balanced: t.unbalanced === 0,
        duplicateOf: t.duplicate_of_id, postedAt: t.posted_at.toISOString(),
      })),
      total: total[0]?.n ?? 0,
    };
  }

  async transaction(id: string, page: { limit: number; offset: number }): Promise<unknown> {
    const [t] = await this.dataSource.query<Record<string, unknown>[]>(
      `SELECT t.id, t.file_id, t.control_number, t.version, t.handling_code, t.payment_amount::text, t.credit_debit, t.payment_method, t.payment_format, to_char(t.payment_date, 'YYYY-MM-DD') AS payment_date,
              t.trace_number, t.trace_payer_id, to_char(t.production_date, 'YYYY-MM-DD') AS production_date, t.payer_name, t.payer_ids, p.payer_id, p.key AS payer_key, t.payee_name, t.payee_id_qualifier,
              t.payee_id, t.claim_count, t.unreadable_count, t.paid_total::text, t.provider_adjustment_total::text, t.imbalance::text, t.interest_total::text, t.interest_plb_total::text,
              t.duplicate_of_id, t.warnings, t.posted_at, f.file_name, f.received_at
         FROM remittance_transaction t JOIN remittance_file f ON f.id = t.file_id LEFT JOIN practice_payer p ON p.id = t.payer_row_id WHERE t.id = $1`,
      [id],
    );
    if (!t) return undefined;
    const [claims, plb, exceptions] = await Promise.all([
      this.dataSource.query<Record<string, unknown>[]>(
        `SELECT cp.id, cp.position, cp.patient_control_number, cp.claim_id, c.status AS claim_status, cp.match_status, cp.match_method, cp.match_note, cp.status_code, cp.charge::text, cp.paid::text,
                cp.patient_responsibility::text, cp.payer_claim_control_number, cp.own_payer, cp.reverses_payment_id, cp.imbalance::text
           FROM claim_payment cp LEFT JOIN claim c ON c.id = cp.claim_id WHERE cp.transaction_id = $1 ORDER BY cp.id LIMIT $2 OFFSET $3`,
        [id, page.limit, page.offset],
      ),
      this.dataSource.query<Record<string, unknown>[]>(
        `SELECT pa.id, pa.provider_id, to_char(pa.fiscal_period_date, 'YYYY-MM-DD') AS fiscal_period_date, pa.reason_code, pa.reference, pa.amount::text, pa.claim_id, c.patient_control_number
           FROM provider_adjustment pa LEFT JOIN claim c ON c.id = pa.claim_id WHERE pa.transaction_id = $1 ORDER BY pa.id`,
        [id],
      ),
      this.dataSource.query<Record<string, unknown>[]>(
        `SELECT kind, position, claim_payment_id, service_payment_id, message, difference::text FROM remittance_exception WHERE transaction_id = $1 ORDER BY id`,
        [id],
      ),
    ]);
    const unbalanced = exceptions.filter((x) => ['line_unbalanced', 'claim_unbalanced', 'transaction_unbalanced'].includes(x.kind as string));
    return {
      id: t.id, fileId: t.file_id, fileName: t.file_name, receivedAt: (t.received_at as Date).toISOString(), rawFile: `/api/remittances/files/${String(t.file_id)}/raw`,
      controlNumber: t.control_number, version: t.version, payment: { handling: t.handling_code, amount: t.payment_amount, creditDebit: t.credit_debit, method: t.payment_method, format: t.payment_format, date: t.payment_date },
      traceNumber: t.trace_number, payerTraceId: t.trace_payer_id, productionDate: t.production_date, payerName: t.payer_name, payerIds: t.payer_ids, payerId: t.payer_id, payerKey: t.payer_key,
      payee: { name: t.payee_name, idQualifier: t.payee_id_qualifier, id: t.payee_id }, duplicateOf: t.duplicate_of_id, warnings: t.warnings,
      totals: { claimPayments: t.claim_count, unreadable: t.unreadable_count, paid: t.paid_total, providerAdjustments: t.provider_adjustment_total, interest: t.interest_total, interestPlb: t.interest_plb_total },
      balancing: {
        balanced: unbalanced.length === 0,
        transaction: { rule: 'ΣCLP04 - ΣPLB = BPR02', difference: t.imbalance },
        failures: unbalanced.map((x) => ({ kind: x.kind, position: x.position, claimPaymentId: x.claim_payment_id, servicePaymentId: x.service_payment_id, message: x.message, difference: x.difference })),
      },
      exceptions: exceptions.map((x) => ({ kind: x.kind, position: x.position, claimPaymentId: x.claim_payment_id, servicePaymentId: x.service_payment_id, message: x.message, difference: x.difference })),
      providerAdjustments: plb.map((p) => ({ id: p.id, providerId: p.provider_id, fiscalPeriodDate: p.fiscal_period_date, reason: p.reason_code, reference: p.reference, amount: p.amount, claimId: p.claim_id, patientControlNumber: p.patient_control_number })),
      claimPayments: claims.map((c) => ({
        id: c.id, position: c.position, patientControlNumber: c.patient_control_number, claimId: c.claim_id, claimStatus: c.claim_status, matchStatus: c.match_status, matchMethod: c.match_method,
        matchNote: c.match_note, status: c.status_code, statusText: CLAIM_STATUS_WORDS[c.status_code as string] ?? null, charge: c.charge, paid: c.paid, patientResponsibility: c.patient_responsibility,
        payerClaimControlNumber: c.payer_claim_control_number, ownPayer: c.own_payer, reversesPaymentId: c.reverses_payment_id, imbalance: c.imbalance,
      })),
      claimPaymentsPage: { limit: page.limit, offset: page.offset, total: t.claim_count },
    };
  }

  async file(id: string): Promise<{ id: string; fileName: string | null; status: string; error: string | null; errorLocation: string | null; size: number; sha256: string; receivedAt: string; receivedBy: string; summary: unknown } | undefined> {
    const [f] = await this.dataSource.query<{ id: string; file_name: string | null; status: string; error: string | null; error_location: string | null; size_bytes: string; sha: string; received_at: Date; received_by: string; summary: unknown }[]>(
      `SELECT id, file_name, status, error, error_location, size_bytes::text, encode(content_sha256, 'hex') AS sha, received_at, received_by, summary FROM remittance_file WHERE id = $1`,
      [id],
    );
    if (!f) return undefined;
    return { id: f.id, fileName: f.file_name, status: f.status, error: f.error, errorLocation: f.error_location, size: Number(f.size_bytes), sha256: f.sha, receivedAt: f.received_at.toISOString(), receivedBy: f.received_by, summary: f.summary };
  }

  /** The file's exact bytes, part by part. */
  async *fileBytes(id: string): AsyncGenerator<Buffer> {
    for (let part = 1; ; part++) {
      const [row] = await this.dataSource.query<{ bytes: Buffer }[]>(`SELECT bytes FROM remittance_file_part WHERE file_id = $1 AND part = $2`, [id, part]);
      if (!row) return;
      yield row.bytes;
    }
  }

  /** The unmatched queue: claim payments no claim took, and service payments of matched claims no line took. */
  async unmatched(page: { limit: number; offset: number }): Promise<{ items: unknown[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.dataSource.query<{ kind: string; id: string; claim_payment_id: string; transaction_id: string; trace_number: string; payer_name: string; payment_date: string | null; match_status: string; note: string | null; pcn: string; icn: string | null; claim_id: string | null; candidates: string[]; code: string | null; charge: string | null; paid: string | null; status_code: string | null }[]>(
        `SELECT * FROM (
           SELECT 'claim' AS kind, cp.id, cp.id AS claim_payment_id, cp.transaction_id, t.trace_number, t.payer_name, to_char(t.payment_date, 'YYYY-MM-DD') AS payment_date, cp.match_status,
                  cp.match_note AS note, cp.patient_control_number AS pcn, cp.payer_claim_control_number AS icn, cp.claim_id, cp.candidate_claim_ids::text[] AS candidates, NULL AS code,
                  cp.charge::text, cp.paid::text, cp.status_code
             FROM claim_payment cp JOIN remittance_transaction t ON t.id = cp.transaction_id WHERE cp.match_status <> 'matched'
           UNION ALL
           SELECT 'line', sp.id, sp.claim_payment_id, cp.transaction_id, t.trace_number, t.payer_name, to_char(t.payment_date, 'YYYY-MM-DD'), 'unmatched', sp.match_note, cp.patient_control_number,
                  cp.payer_claim_control_number, cp.claim_id, '{}'::text[], sp.qualifier || ':' || sp.procedure_code || COALESCE(':' || array_to_string(NULLIF(sp.modifiers, '{}'), ':'), ''),
                  sp.charge::text, sp.paid::text, cp.status_code
             FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id JOIN remittance_transaction t ON t.id = cp.transaction_id
            WHERE sp.claim_line_id IS NULL AND cp.match_status = 'matched'
         ) q ORDER BY transaction_id, claim_payment_id, kind, id LIMIT $1 OFFSET $2`,
        [page.limit, page.offset],
      ),
      this.dataSource.query<{ n: string }[]>(
        `SELECT ((SELECT count(*) FROM claim_payment WHERE match_status <> 'matched') + (SELECT count(*) FROM service_payment sp JOIN claim_payment cp ON cp.id = sp.claim_payment_id
                 WHERE sp.claim_line_id IS NULL AND cp.match_status = 'matched'))::text AS n`,
      ),
    ]);
    return {
      items: rows.map((r) => ({
        kind: r.kind, id: r.id, claimPaymentId: r.claim_payment_id, transactionId: r.transaction_id, traceNumber: r.trace_number, payerName: r.payer_name, paymentDate: r.payment_date,
        reason: r.match_status, note: r.note, patientControlNumber: r.pcn, payerClaimControlNumber: r.icn, claimId: r.claim_id, candidateClaimIds: r.candidates, procedure: r.code,
        charge: r.charge, paid: r.paid, status: r.status_code, matchWith: r.kind === 'claim' ? (r.match_status === 'unreadable' ? null : { claimId: 'a claim id' }) : { claimLineId: 'a line id of the claim' },
      })),
      total: Number(total[0]?.n ?? 0),
    };
  }

  /** A claim's payments, balance and line statuses (for GET /api/claims/:id). */
  async claimMoney(claimId: string): Promise<ClaimMoney> {
    const [claim] = await this.dataSource.query<{ total_charge: string }[]>(`SELECT total_charge::text FROM claim WHERE id = $1`, [claimId]);
    const lines = await this.dataSource.query<{ id: string; line_number: number; charge: string; service_date: string }[]>(
      `SELECT id, line_number, charge_amount::text AS charge, to_char(service_date, 'YYYY-MM-DD') AS service_date FROM claim_line WHERE claim_id = $1 ORDER BY line_number`,
      [claimId],
    );
    const rows = await this.dataSource.query<{ id: string; transaction_id: string; trace_number: string; payment_date: string | null; payer_name: string; status_code: string; charge: string; paid: string; patient_responsibility: string | null; payer_claim_control_number: string | null; own_payer: boolean; reverses_payment_id: string | null; reversed: boolean; match_method: string | null; interest: string | null; remarks: string[] }[]>(
      `SELECT cp.id, cp.transaction_id, t.trace_number, to_char(t.payment_date, 'YYYY-MM-DD') AS payment_date, t.payer_name, cp.status_code, cp.charge::text, cp.paid::text,
              cp.patient_responsibility::text, cp.payer_claim_control_number, cp.own_payer, cp.reverses_payment_id,
              EXISTS (SELECT 1 FROM claim_payment r WHERE r.reverses_payment_id = cp.id) AS reversed, cp.match_method, cp.interest::text, cp.remarks
         FROM claim_payment cp JOIN remittance_transaction t ON t.id = cp.transaction_id WHERE cp.claim_id = $1 ORDER BY cp.id`,
      [claimId],
    );
    const ids = rows.map((r) => r.id);
    const services = ids.length === 0 ? [] : await this.dataSource.query<{ id: string; claim_payment_id: string; line_control_number: string | null; claim_line_id: string | null; control_number: string | null; qualifier: string; procedure_code: string; modifiers: string[]; charge: string; paid: string; allowed: string | null; underpaid: string | null; units: string; service_date: string | null; match_note: string | null; remarks: string[] }[]>(
      `SELECT sp.id, sp.claim_payment_id, sp.line_control_number, sp.claim_line_id, cl.control_number, sp.qualifier, sp.procedure_code, sp.modifiers, sp.charge::text, sp.paid::text, sp.allowed::text,
              sp.underpaid::text, sp.units::text, to_char(sp.service_date, 'YYYY-MM-DD') AS service_date, sp.match_note, sp.remarks
         FROM service_payment sp LEFT JOIN claim_line cl ON cl.id = sp.claim_line_id WHERE sp.claim_payment_id = ANY($1::bigint[]) ORDER BY sp.id`,
      [ids],
    );
    const adjustments = ids.length === 0 ? [] : await this.dataSource.query<{ claim_payment_id: string; service_payment_id: string | null; group_code: string; reason_code: string; amount: string; quantity: string | null }[]>(
      `SELECT claim_payment_id, service_payment_id, group_code, reason_code, amount::text, quantity::text FROM payment_adjustment WHERE claim_payment_id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    const d = await this.describe();
    const serviceById = new Map(services.map((s) => [s.id, s]));
    const payments: PaymentView[] = rows.map((r) => ({
      id: r.id, transactionId: r.transaction_id, traceNumber: r.trace_number, paymentDate: r.payment_date, payerName: r.payer_name, status: r.status_code,
      statusText: CLAIM_STATUS_WORDS[r.status_code] ?? `status ${r.status_code}`, charge: r.charge, paid: r.paid, patientResponsibility: r.patient_responsibility,
      payerClaimControlNumber: r.payer_claim_control_number, ownPayer: r.own_payer, reversal: r.status_code === '22', reversed: r.reversed, matchMethod: r.match_method, interest: r.interest,
      adjustments: adjustments.filter((a) => a.claim_payment_id === r.id).map((a) => {
        const svc = a.service_payment_id === null ? undefined : serviceById.get(a.service_payment_id);
        const why = d.carc(a.reason_code);
        return {
          level: a.service_payment_id === null ? 'claim' : 'line', lineControlNumber: svc ? (svc.control_number ?? svc.line_control_number) : null, group: a.group_code,
          groupText: GROUP_WORDS[a.group_code] ?? 'unknown group code', reason: a.reason_code, reasonText: why.text, reasonStatus: why.status, amount: a.amount, quantity: a.quantity,
        } as const;
      }),
      remarks: [...new Set([...r.remarks, ...services.filter((s) => s.claim_payment_id === r.id).flatMap((s) => s.remarks)])].map((code) => ({ code, ...d.rarc(code) })),
      lines: services.filter((s) => s.claim_payment_id === r.id).map((s) => ({
        id: s.id, lineControlNumber: s.line_control_number, claimLineId: s.claim_line_id, procedure: `${s.qualifier}:${s.procedure_code}${s.modifiers.length > 0 ? `:${s.modifiers.join(':')}` : ''}`, charge: s.charge,
        paid: s.paid, allowed: s.allowed, underpaid: s.underpaid, units: s.units, serviceDate: s.service_date, matchNote: s.match_note, remarks: s.remarks.map((code) => ({ code, ...d.rarc(code) })),
      })),
    }));
    const posted = (await this.repository.payments(this.dataSource.manager, [claimId])).get(claimId) ?? [];
    const result = adjudicate(toCents(claim?.total_charge ?? '0') ?? 0, lines.map((l) => ({ id: l.id, lineNumber: l.line_number, chargeCents: toCents(l.charge) ?? 0, serviceDate: l.service_date })), posted);
    const b = result.balance;
    const [wo] = await this.dataSource.query<{ amount: string }[]>(`SELECT coalesce(sum(amount), 0)::text AS amount FROM write_off WHERE claim_id = $1`, [claimId]);
    const writtenOff = toCents(wo?.amount ?? '0') ?? 0;
    return {
      payments,
      balance: {
        billed: fromCents(b.billed), paid: fromCents(b.paid), contractual: fromCents(b.contractual), patientResponsibility: fromCents(b.patientResponsibility), otherAdjusted: fromCents(b.otherAdjusted),
        outstanding: fromCents(b.outstanding), otherPayersPaid: fromCents(b.otherPayersPaid), interest: fromCents(b.interest), writtenOff: fromCents(writtenOff),
      },
      paymentStatus: result.status ?? null,
      lineStatuses: result.lines.map((l) => ({ lineId: l.lineId, status: l.status, paid: fromCents(l.paidCents) })),
    };
  }

  async denials(f: { payerId?: string; carc?: string; status?: string; claimId?: string; limit: number; offset: number }): Promise<{ items: unknown[]; total: number }> {
    const where = `($1::text IS NULL OR p.payer_id = $1) AND ($2::text IS NULL OR d.carcs @> jsonb_build_array(jsonb_build_object('reason', $2::text))) AND ($3::text IS NULL OR d.status = $3)
                   AND ($4::bigint IS NULL OR d.claim_id = $4::bigint)`;
    const params = [f.payerId ?? null, f.carc ?? null, f.status ?? null, f.claimId ?? null];
    const [rows, total] = await Promise.all([
      this.dataSource.query<{ id: string; claim_id: string; patient_control_number: string; claim_line_id: string | null; line_number: number | null; control_number: string | null; procedure_code: string | null; payer_id: string | null; payer_name: string | null; kind: string; status: string; carcs: { group: string; reason: string; amount: string }[]; rarcs: string[]; billed: string; paid: string; amount: string; service_date: string | null; denied_on: string | null; first_payment_id: string; last_payment_id: string; resolution: string | null; created_at: Date; updated_at: Date }[]>(
        `SELECT d.id, d.claim_id, c.patient_control_number, d.claim_line_id, cl.line_number, cl.control_number, cl.procedure_code, p.payer_id, p.name AS payer_name, d.kind, d.status, d.carcs, d.rarcs,
                d.billed::text, d.paid::text, d.amount::text, to_char(d.service_date, 'YYYY-MM-DD') AS service_date, to_char(d.denied_on, 'YYYY-MM-DD') AS denied_on, d.first_payment_id,
                d.last_payment_id, d.resolution, d.created_at, d.updated_at
           FROM denial d JOIN claim c ON c.id = d.claim_id LEFT JOIN claim_line cl ON cl.id = d.claim_line_id LEFT JOIN practice_payer p ON p.id = d.payer_row_id
          WHERE ${where} ORDER BY d.id DESC LIMIT $5 OFFSET $6`,
        [...params, f.limit, f.offset],
      ),
      this.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM denial d LEFT JOIN practice_payer p ON p.id = d.payer_row_id WHERE ${where}`, params),
    ]);
    const d = await this.describe();
    return {
      items: rows.map((r) => ({
        id: r.id, claimId: r.claim_id, patientControlNumber: r.patient_control_number, claimLineId: r.claim_line_id, lineNumber: r.line_number, lineControlNumber: r.control_number,
        procedureCode: r.procedure_code, payerId: r.payer_id, payerName: r.payer_name, kind: r.kind, status: r.status,
        carcs: r.carcs.map((a) => ({ ...a, groupText: GROUP_WORDS[a.group] ?? 'unknown group code', reasonText: d.carc(a.reason).text, reasonStatus: d.carc(a.reason).status })),
        rarcs: r.rarcs.map((code) => ({ code, ...d.rarc(code) })), billed: r.billed, paid: r.paid, amount: r.amount, serviceDate: r.service_date, deniedOn: r.denied_on,
        firstPaymentId: r.first_payment_id, lastPaymentId: r.last_payment_id, resolution: r.resolution, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
      })),
      total: total[0]?.n ?? 0,
    };
  }
}
