import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Finding, HistoryRow, OtherLine, Severity } from '../../lib/scrub';
import type { Claim837 } from '../../lib/x12';

export interface RuleSettingRow {
  ruleId: string;
  payerId: string | null;
  /** The practice setup's payer id (payerId column), for display. */
  payerKey: string | null;
  enabled: boolean | null;
  severity: Severity | null;
  params: Record<string, unknown> | null;
  updatedBy: string;
  updatedAt: string;
}

export interface ClaimToScrub {
  id: string;
  status: string;
  version: number;
  payerId: string | null;
  patientId: string;
  payload: Claim837;
  problems: unknown[];
}

export interface OverrideRow {
  id: string;
  ruleId: string;
  lineNumber: number | null;
  value: string | null;
  reason: string;
  actor: string;
  createdAt: string;
}

export interface StoredFinding extends Finding {
  overrideId: string | null;
}

/** Statuses of claims that no longer bill anything (not looked at for duplicates). */
const DEAD = ['cancelled', 'replaced', 'rejected', 'payer_rejected'];

@Injectable()
export class ScrubberRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  async settings(em?: EntityManager): Promise<RuleSettingRow[]> {
    const rows = await (em ?? this.dataSource).query<{ rule_id: string; payer_id: string | null; payer_key: string | null; enabled: boolean | null; severity: Severity | null; params: Record<string, unknown> | null; updated_by: string; updated_at: Date }[]>(
      `SELECT s.rule_id, s.payer_id::text, p.payer_id AS payer_key, s.enabled, s.severity, s.params, s.updated_by, s.updated_at
         FROM scrub_rule_setting s LEFT JOIN practice_payer p ON p.id = s.payer_id ORDER BY s.rule_id, s.payer_id NULLS FIRST`,
    );
    return rows.map((r) => ({ ruleId: r.rule_id, payerId: r.payer_id, payerKey: r.payer_key, enabled: r.enabled, severity: r.severity, params: r.params, updatedBy: r.updated_by, updatedAt: r.updated_at.toISOString() }));
  }

  /** The practice payer row for a payer id of the setup (payers[].payerId) or a row id. */
  async payerRow(payer: string): Promise<string | undefined> {
    const [row] = await this.dataSource.query<{ id: string }[]>(`SELECT id::text FROM practice_payer WHERE payer_id = $1 OR key = $1 ORDER BY id LIMIT 1`, [payer]);
    return row?.id;
  }

  async saveSetting(ruleId: string, payerRowId: string | null, s: { enabled?: boolean; severity?: Severity; params?: Record<string, unknown> }, actor: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO scrub_rule_setting (rule_id, payer_id, enabled, severity, params, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (rule_id, COALESCE(payer_id, 0)) DO UPDATE SET
         enabled = COALESCE(EXCLUDED.enabled, scrub_rule_setting.enabled), severity = COALESCE(EXCLUDED.severity, scrub_rule_setting.severity),
         params = COALESCE(scrub_rule_setting.params, '{}'::jsonb) || COALESCE(EXCLUDED.params, '{}'::jsonb), updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [ruleId, payerRowId, s.enabled ?? null, s.severity ?? null, s.params === undefined ? null : JSON.stringify(s.params), actor],
    );
  }

  /** Claims by id, locked when `lock` (those being re-scrubbed). */
  async claims(em: EntityManager, ids: readonly string[], lock: boolean): Promise<ClaimToScrub[]> {
    const rows = await em.query<{ id: string; status: string; version: number; payer_id: string | null; patient_id: string; payload: Claim837; problems: unknown[] }[]>(
      `SELECT id::text, status, version, payer_id::text, patient_id::text, payload, problems FROM claim WHERE id = ANY($1::bigint[]) ORDER BY id${lock ? ' FOR UPDATE' : ''}`,
      [ids],
    );
    return rows.map((r) => ({ id: r.id, status: r.status, version: r.version, payerId: r.payer_id, patientId: r.patient_id, payload: r.payload, problems: r.problems }));
  }

  /** Unbatched claims whose findings are not for their current version (built before, or changed since). */
  async stale(limit: number): Promise<string[]> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id::text FROM claim WHERE status IN ('held', 'ready') AND scrubbed_version IS DISTINCT FROM version ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Unbatched claims (optionally of one payer row), for a re-scrub after a rule setting changed. */
  async unbatched(payerRowId: string | null, limit: number): Promise<string[]> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT id::text FROM claim WHERE status IN ('held', 'ready') AND ($1::bigint IS NULL OR payer_id = $1) ORDER BY id LIMIT $2`,
      [payerRowId, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * The patient's lines on other live claims to the same payer within a date range (duplicate
   * checks): the same service billed to the next payer (a secondary claim) is no duplicate.
   */
  async otherLines(em: EntityManager, patientId: string, claimId: string | null, payerRowId: string | null, from: string, to: string): Promise<OtherLine[]> {
    if (from === '' || to === '') return [];
    const rows = await em.query<{ claim_id: string; service_date: string; procedure_code: string; modifiers: string[] }[]>(
      `SELECT c.id::text AS claim_id, to_char(l.service_date, 'YYYY-MM-DD') AS service_date, l.procedure_code, l.modifiers
         FROM claim c JOIN claim_line l ON l.claim_id = c.id
        WHERE c.patient_id = $1 AND ($2::bigint IS NULL OR c.id <> $2) AND c.status <> ALL($3::text[]) AND c.frequency <> '8'
          AND c.payer_id IS NOT DISTINCT FROM $6::bigint AND l.procedure_code IS NOT NULL AND l.service_date BETWEEN $4 AND $5`,
      [patientId, claimId, DEAD, from, to, payerRowId],
    );
    return rows.map((r) => ({ claimId: r.claim_id, serviceDate: r.service_date, procedureCode: r.procedure_code, modifiers: r.modifiers }));
  }

  /** The payers' history (payer-history) for some procedure codes, lines first answered on or after a date, by payer row. */
  async history(em: EntityManager, payerRowIds: readonly string[], procedureCodes: readonly string[], since: string): Promise<Map<string, HistoryRow[]>> {
    const out = new Map<string, HistoryRow[]>();
    if (payerRowIds.length === 0 || procedureCodes.length === 0) return out;
    const rows = await em.query<{ payer_row_id: string; procedure_code: string; modifiers: string; dx_category: string; answered_on: string; carc: string; lines: number }[]>(
      `SELECT payer_row_id::text, procedure_code, modifiers, dx_category, to_char(answered_on, 'YYYY-MM-DD') AS answered_on, carc, lines
         FROM denial_pattern WHERE payer_row_id = ANY($1::bigint[]) AND procedure_code = ANY($2::text[]) AND answered_on >= $3::date`,
      [payerRowIds, procedureCodes, since],
    );
    for (const r of rows) {
      let list = out.get(r.payer_row_id);
      if (list === undefined) out.set(r.payer_row_id, (list = []));
      list.push({ procedureCode: r.procedure_code, modifiers: r.modifiers, dxCategory: r.dx_category, answeredOn: r.answered_on, carc: r.carc, lines: r.lines });
    }
    return out;
  }

  /**
   * Brings the payers' history up to date for the days these claims were answered on (all of it
   * when null), in its own transaction (migrations/…-DenialPatterns.ts).
   */
  async refreshHistory(claimIds: readonly string[] | null): Promise<{ rows: number; milliseconds: number }> {
    const started = Date.now();
    const [r] = await this.dataSource.query<{ rows: number }[]>(`SELECT hl7c_denial_pattern_refresh($1::bigint[]) AS rows`, [claimIds]);
    return { rows: r?.rows ?? 0, milliseconds: Date.now() - started };
  }

  async overrides(em: EntityManager | undefined, claimIds: readonly string[]): Promise<Map<string, OverrideRow[]>> {
    const rows = await (em ?? this.dataSource).query<{ id: string; claim_id: string; rule_id: string; line_number: number | null; value: string | null; reason: string; actor: string; created_at: Date }[]>(
      `SELECT id::text, claim_id::text, rule_id, line_number, value, reason, actor, created_at FROM claim_finding_override WHERE claim_id = ANY($1::bigint[]) ORDER BY id`,
      [claimIds],
    );
    const out = new Map<string, OverrideRow[]>();
    for (const r of rows) {
      const list = out.get(r.claim_id) ?? [];
      list.push({ id: r.id, ruleId: r.rule_id, lineNumber: r.line_number, value: r.value, reason: r.reason, actor: r.actor, createdAt: r.created_at.toISOString() });
      out.set(r.claim_id, list);
    }
    return out;
  }

  async addOverride(em: EntityManager, claimId: string, o: { ruleId: string; lineNumber: number | null; value: string | null; reason: string }, actor: string): Promise<string> {
    const [row] = await em.query<{ id: string }[]>(
      `INSERT INTO claim_finding_override (claim_id, rule_id, line_number, value, reason, actor) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`,
      [claimId, o.ruleId, o.lineNumber, o.value, o.reason, actor],
    );
    return (row as { id: string }).id;
  }

  /** Replaces the findings of one claim version, and marks the claim scrubbed at that version. */
  async storeFindings(em: EntityManager, claimId: string, version: number, findings: StoredFinding[]): Promise<void> {
    await em.query(`DELETE FROM claim_finding WHERE claim_id = $1 AND claim_version = $2`, [claimId, version]);
    if (findings.length > 0) {
      await em.query(
        `INSERT INTO claim_finding (claim_id, claim_version, rule_id, severity, line_number, loop, value, message, carc, override_id)
         SELECT $1, $2, f.rule_id, f.severity, f.line_number, f.loop, f.value, f.message, f.carc, f.override_id
           FROM jsonb_to_recordset($3::jsonb) AS f(rule_id text, severity text, line_number int, loop text, value text, message text, carc text, override_id bigint)`,
        [claimId, version, JSON.stringify(findings.map((f) => ({ rule_id: f.ruleId, severity: f.severity, line_number: f.line ?? null, loop: f.loop, value: f.value ?? null, message: f.message, carc: f.carc, override_id: f.overrideId })))],
      );
    }
    await em.query(`UPDATE claim SET scrubbed_version = $2 WHERE id = $1`, [claimId, version]);
  }

  async setStatus(em: EntityManager, claimId: string, from: string, to: string, reason: string, actor: string): Promise<void> {
    await em.query(`UPDATE claim SET status = $2, updated_at = now() WHERE id = $1`, [claimId, to]);
    await em.query(`INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor) VALUES ($1, $2, $3, $4, $5)`, [claimId, from, to, reason, actor]);
  }

  /** The stored findings of a claim's current version, with their overrides. */
  async findingsOf(claimId: string): Promise<{ version: number; scrubbedVersion: number | null; findings: (StoredFinding & { override: OverrideRow | null })[]; overrides: OverrideRow[] }> {
    const [c] = await this.dataSource.query<{ version: number; scrubbed_version: number | null }[]>(`SELECT version, scrubbed_version FROM claim WHERE id = $1`, [claimId]);
    const overrides = (await this.overrides(undefined, [claimId])).get(claimId) ?? [];
    if (!c) return { version: 0, scrubbedVersion: null, findings: [], overrides };
    const rows = await this.dataSource.query<{ rule_id: string; severity: Severity; line_number: number | null; loop: string; value: string | null; message: string; carc: string; override_id: string | null }[]>(
      `SELECT rule_id, severity, line_number, loop, value, message, carc, override_id::text FROM claim_finding WHERE claim_id = $1 AND claim_version = $2 ORDER BY id`,
      [claimId, c.scrubbed_version ?? c.version],
    );
    return {
      version: c.version,
      scrubbedVersion: c.scrubbed_version,
      overrides,
      findings: rows.map((r) => ({
        ruleId: r.rule_id, severity: r.severity, loop: r.loop, message: r.message, carc: r.carc, overrideId: r.override_id,
        ...(r.line_number !== null ? { line: r.line_number } : {}), ...(r.value !== null ? { value: r.value } : {}),
        override: overrides.find((o) => o.id === r.override_id) ?? null,
      })),
    };
  }

  /** Counts of current findings by rule, payer and severity (overridden ones apart). */
  async summary(): Promise<{ ruleId: string; payerId: string | null; severity: Severity; findings: number; claims: number; overridden: number }[]> {
    const rows = await this.dataSource.query<{ rule_id: string; payer_id: string | null; severity: Severity; findings: string; claims: string; overridden: string }[]>(
      `SELECT f.rule_id, p.payer_id, f.severity, count(*)::text AS findings, count(DISTINCT f.claim_id)::text AS claims, count(f.override_id)::text AS overridden
         FROM claim_finding f JOIN claim c ON c.id = f.claim_id AND c.scrubbed_version = f.claim_version
         LEFT JOIN practice_payer p ON p.id = c.payer_id
        WHERE c.status NOT IN ('cancelled', 'replaced')
        GROUP BY f.rule_id, p.payer_id, f.severity ORDER BY count(*) DESC, f.rule_id`,
    );
    return rows.map((r) => ({ ruleId: r.rule_id, payerId: r.payer_id, severity: r.severity, findings: Number(r.findings), claims: Number(r.claims), overridden: Number(r.overridden) }));
  }
}
