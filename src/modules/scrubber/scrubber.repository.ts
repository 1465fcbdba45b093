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
    return (await this.otherLinesMany(em, [{ patientId, claimId, payerRowId, from, to }]))[0] as OtherLine[];
  }

  /** otherLines for many claims in one query, in the order asked. */
  async otherLinesMany(em: EntityManager, refs: readonly { patientId: string; claimId: string | null; payerRowId: string | null; from: string; to: string }[]): Promise<OtherLine[][]> {
    const out: OtherLine[][] = refs.map(() => []);
    const asked = refs.map((r, i) => ({ ...r, i })).filter((r) => r.from !== '' && r.to !== '');
    if (asked.length === 0) return out;
    const rows = await em.query<{ i: number; claim_id: string; service_date: string; procedure_code: string; modifiers: string[] }[]>(
      `SELECT r.i, c.id::text AS claim_id, to_char(l.service_date, 'YYYY-MM-DD') AS service_date, l.procedure_code, l.modifiers
         FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::bigint[], $5::date[], $6::date[]) AS r(i, patient_id, claim_id, payer_id, d_from, d_to)
         JOIN claim c ON c.patient_id = r.patient_id AND (r.claim_id IS NULL OR c.id <> r.claim_id) AND c.status <> ALL($7::text[]) AND c.frequency <> '8'
                     AND c.payer_id IS NOT DISTINCT FROM r.payer_id
         JOIN claim_line l ON l.claim_id = c.id AND l.procedure_code IS NOT NULL AND l.service_date BETWEEN r.d_from AND r.d_to
        ORDER BY r.i, c.id, l.line_number`,
      [asked.map((r) => r.i), asked.map((r) => r.patientId), asked.map((r) => r.claimId), asked.map((r) => r.payerRowId), asked.map((r) => r.from), asked.map((r) => r.to), DEAD],
    );
    for (const r of rows) (out[r.i] as OtherLine[]).push({ claimId: r.claim_id, serviceDate: r.service_date, procedureCode: r.procedure_code, modifiers: r.modifiers });
    return out;
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
   * Brings the payers' history up to date for these claims' lines (all of it when null), in its
   * own transaction, with the claims an earlier refresh failed to bring (migrations/…-DenialPatternLines.ts).
   */
  async refreshHistory(claimIds: readonly string[] | null): Promise<{ rows: number; milliseconds: number }> {
    const started = Date.now();
    const [r] = await this.dataSource.query<{ rows: number }[]>(`SELECT hl7c_denial_pattern_refresh($1::bigint[]) AS rows`, [claimIds]);
    return { rows: r?.rows ?? 0, milliseconds: Date.now() - started };
  }

  /** Claims whose history refresh failed: the next refresh takes them. */
  async historyPending(claimIds: readonly string[]): Promise<void> {
    await this.dataSource.query(`INSERT INTO denial_pattern_pending (claim_id) SELECT unnest($1::bigint[])`, [claimIds]);
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

  /** Replaces the findings of claim versions, and marks each claim scrubbed at that version. */
  async storeFindings(em: EntityManager, items: readonly { claimId: string; version: number; findings: readonly StoredFinding[] }[]): Promise<void> {
    if (items.length === 0) return;
    const ids = items.map((x) => x.claimId);
    const versions = items.map((x) => x.version);
    await em.query(
      `DELETE FROM claim_finding f USING unnest($1::bigint[], $2::int[]) AS x(claim_id, version) WHERE f.claim_id = x.claim_id AND f.claim_version = x.version`,
      [ids, versions],
    );
    const rows = items.flatMap((x) => x.findings.map((f) => ({
      claim_id: x.claimId, claim_version: x.version, rule_id: f.ruleId, severity: f.severity, line_number: f.line ?? null, loop: f.loop, value: f.value ?? null, message: f.message, carc: f.carc, override_id: f.overrideId,
    })));
    if (rows.length > 0) {
      await em.query(
        `INSERT INTO claim_finding (claim_id, claim_version, rule_id, severity, line_number, loop, value, message, carc, override_id)
         SELECT f.claim_id, f.claim_version, f.rule_id, f.severity, f.line_number, f.loop, f.value, f.message, f.carc, f.override_id
           FROM jsonb_to_recordset($1::jsonb) AS f(claim_id bigint, claim_version int, rule_id text, severity text, line_number int, loop text, value text, message text, carc text, override_id bigint)`,
        [JSON.stringify(rows)],
      );
    }
    await em.query(`UPDATE claim c SET scrubbed_version = x.version FROM unnest($1::bigint[], $2::int[]) AS x(id, version) WHERE c.id = x.id`, [ids, versions]);
  }

  /** Moves claims to new statuses, each with its event. */
  async setStatus(em: EntityManager, changes: readonly { claimId: string; from: string; to: string; reason: string }[], actor: string): Promise<void> {
    if (changes.length === 0) return;
    const ids = changes.map((c) => c.claimId);
    const to = changes.map((c) => c.to);
    await em.query(`UPDATE claim c SET status = x.status, updated_at = now() FROM unnest($1::bigint[], $2::text[]) AS x(id, status) WHERE c.id = x.id`, [ids, to]);
    await em.query(
      `INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor) SELECT x.id, x.from_status, x.to_status, x.reason, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS x(id, from_status, to_status, reason, n) ORDER BY x.n`,
      [ids, changes.map((c) => c.from), to, changes.map((c) => c.reason), actor],
    );
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
