import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { metrics } from '../../common/metrics';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { CodeSets } from '../../lib/codes/codesets';
import { defaultSetting, RULES, RULES_BY_ID, scrubClaim, serviceSpan, type Finding, type HistoryRow, type OtherLine, type Rule, type RuleSetting, type Severity, type SettingsOf } from '../../lib/scrub';
import type { Claim837 } from '../../lib/x12';
import { CodeSetsService } from './codesets.service';
import { ScrubberRepository, type ClaimToScrub, type OverrideRow, type RuleSettingRow, type StoredFinding } from './scrubber.repository';

/** The rule that learns from our own denials. */
const PAYER_HISTORY = 'payer-history';

export class ScrubError extends Error {
  constructor(
    readonly code: 'not_found' | 'conflict' | 'bad_request',
    message: string,
  ) {
    super(message);
  }
}

export interface ScrubOutcome {
  claimId: string;
  version: number;
  /** The status after the scrub (held when an error is unresolved or the claim cannot be built). */
  status: string;
  errors: number;
  warnings: number;
  overridden: number;
  findings: StoredFinding[];
}

/** Settings for each payer row: a payer's own row over the all-payers row over the rule's defaults. */
export type PayerSettings = (payerRowId: string | null) => SettingsOf;

export function resolveSettings(rows: readonly RuleSettingRow[]): PayerSettings {
  const all = new Map<string, RuleSettingRow>();
  const byPayer = new Map<string, RuleSettingRow>();
  for (const r of rows) (r.payerId === null ? all : byPayer).set(r.payerId === null ? r.ruleId : `${r.ruleId}|${r.payerId}`, r);
  const perPayer = new Map<string | null, SettingsOf>();
  return (payerRowId) => {
    let of = perPayer.get(payerRowId);
    if (of) return of;
    const resolved = new Map<Rule, RuleSetting>();
    of = (rule: Rule): RuleSetting => {
      let s = resolved.get(rule);
      if (s) return s;
      const g = all.get(rule.id);
      const p = payerRowId === null ? undefined : byPayer.get(`${rule.id}|${payerRowId}`);
      s = !g && !p ? defaultSetting(rule) : { enabled: p?.enabled ?? g?.enabled ?? true, severity: p?.severity ?? g?.severity ?? rule.severity, params: { ...rule.params, ...(g?.params ?? {}), ...(p?.params ?? {}) } };
      resolved.set(rule, s);
      return s;
    };
    perPayer.set(payerRowId, of);
    return of;
  };
}

/** The override that covers a finding (the newest, when several do): same rule, and the same line and value where it names them. */
export function overrideFor(f: Finding, overrides: readonly OverrideRow[]): OverrideRow | undefined {
  for (let i = overrides.length - 1; i >= 0; i--) {
    const o = overrides[i] as OverrideRow;
    if (o.ruleId === f.ruleId && (o.lineNumber === null || o.lineNumber === (f.line ?? null)) && (o.value === null || o.value === (f.value ?? null))) return o;
  }
  return undefined;
}

function summary(findings: readonly StoredFinding[]): string {
  const open = findings.filter((f) => f.severity === 'error' && f.overrideId === null);
  const first = open.slice(0, 3).map((f) => `${f.ruleId}${f.line !== undefined ? ` line ${f.line}` : ''} (${f.loop}): ${f.message}`);
  return `scrubber: ${first.join('; ')}${open.length > 3 ? `; and ${open.length - 3} more` : ''}`;
}

/**
 * The scrubber: findings for claims from the rules, the code sets and the payers' settings;
 * stored per claim version; a claim with an unresolved error is held, and released when the
 * error is fixed (the claim rebuilt) or overridden.
 */
@Injectable()
export class ScrubberService {
  private readonly log = logger('scrubber');
  /** The date the rules compare with (timely filing): SCRUB_AS_OF, else today (UTC). */
  today: () => string;

  constructor(
    private readonly repository: ScrubberRepository,
    private readonly codeSets: CodeSetsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const asOf = config.SCRUB_AS_OF;
    this.today = asOf !== undefined ? () => asOf : () => new Date().toISOString().slice(0, 10);
  }

  codes(): Promise<CodeSets> {
    return this.codeSets.get();
  }

  async settings(em?: EntityManager): Promise<PayerSettings> {
    return resolveSettings(await this.repository.settings(em));
  }

  /**
   * Findings for one claim's content (nothing stored). `claimId` null: a draft not saved yet.
   * `history`: its payer's history as loaded for a batch of claims (else read for this claim).
   */
  async evaluate(em: EntityManager, claim: Claim837, ref: { claimId: string | null; patientId: string; payerRowId: string | null }, settings: PayerSettings, codes: CodeSets, history?: readonly HistoryRow[]): Promise<Finding[]> {
    const range = serviceSpan(claim);
    const otherLines = await this.repository.otherLines(em, ref.patientId, ref.claimId, ref.payerRowId, range.from, range.to);
    history ??= (await this.history(em, [{ claim, payerRowId: ref.payerRowId }], settings)).get(ref.payerRowId ?? '');
    return this.findings(claim, ref.payerRowId, otherLines, settings, codes, history);
  }

  private findings(claim: Claim837, payerRowId: string | null, otherLines: OtherLine[], settings: PayerSettings, codes: CodeSets, history: readonly HistoryRow[] | undefined): Finding[] {
    return scrubClaim({ claim, today: this.today(), otherLines, ...(history ? { history } : {}) }, codes, settings(payerRowId));
  }

  /**
   * What the claims' payers did with their procedure codes before (the payer-history rule), one
   * query for many claims; nothing for payers whose setting turns the rule off.
   */
  async history(em: EntityManager, claims: readonly { claim: Claim837; payerRowId: string | null }[], settings: PayerSettings): Promise<Map<string, HistoryRow[]>> {
    const rule = RULES_BY_ID.get(PAYER_HISTORY) as Rule;
    const payers = new Set<string>();
    const codes = new Set<string>();
    let days = 0;
    for (const c of claims) {
      if (c.payerRowId === null) continue;
      const st = settings(c.payerRowId)(rule);
      if (!st.enabled) continue;
      payers.add(c.payerRowId);
      // The rule's window (its own default when a setting gives none), as the rule reads it.
      const d = st.params.days;
      days = Math.max(days, typeof d === 'number' && Number.isFinite(d) ? d : (rule.params.days as number));
      for (const l of c.claim.lines) if (l.procedureCode) codes.add(l.procedureCode);
    }
    if (payers.size === 0 || codes.size === 0) return new Map();
    const since = new Date(Date.parse(`${this.today()}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
    return this.repository.history(em, [...payers], [...codes], since);
  }

  /** Brings the payers' history up to date after payments were posted for these claims (all claims: null). */
  async learnFromPayments(claimIds: readonly string[] | null): Promise<void> {
    if (claimIds !== null && claimIds.length === 0) return;
    let r: Awaited<ReturnType<ScrubberRepository['refreshHistory']>>;
    try {
      r = await this.repository.refreshHistory(claimIds);
    } catch (e) {
      // Kept for the next refresh (when the database can still take them).
      if (claimIds !== null) await this.repository.historyPending(claimIds).catch(() => undefined);
      throw e;
    }
    this.log.info({ event: 'payer_history_refreshed', claims: claimIds?.length ?? 'all', rows: r.rows, ms: r.milliseconds });
  }

  /**
   * Scrubs unbatched claims (held or ready) in the caller's transaction: their findings are
   * stored for their current version, and each moves to held (an unresolved error, or the
   * builder's problems) or ready. Other statuses are left alone.
   */
  async rescrub(em: EntityManager, claimIds: readonly string[], actor: string, built?: ReadonlyMap<string, number>): Promise<ScrubOutcome[]> {
    if (claimIds.length === 0) return [];
    // One query at a time on the transaction's connection; a query for all the claims, not one each.
    const codes = await this.codeSets.get(em);
    const settings = await this.settings(em);
    const claims = (await this.repository.claims(em, claimIds, true)).filter((c) => c.status === 'held' || c.status === 'ready');
    const overrides = await this.repository.overrides(em, claims.map((c) => c.id));
    const found = await this.storedFindings(em, claims, settings, codes, built);
    const out: ScrubOutcome[] = [];
    const stored: { claimId: string; version: number; findings: StoredFinding[] }[] = [];
    const moves: { claimId: string; from: string; to: string; reason: string }[] = [];
    claims.forEach((c, k) => {
      const overridesOf = overrides.get(c.id) ?? [];
      const findings: StoredFinding[] = (found[k] ?? []).map((f) => ({ ...f, overrideId: f.severity === 'error' ? (overrideFor(f, overridesOf)?.id ?? null) : null }));
      stored.push({ claimId: c.id, version: c.version, findings });
      for (const f of findings) metrics.findings.inc({ rule: f.ruleId, severity: f.severity });
      const errors = findings.filter((f) => f.severity === 'error' && f.overrideId === null).length;
      const overridden = findings.filter((f) => f.overrideId !== null).length;
      const status = c.problems.length > 0 || errors > 0 ? 'held' : 'ready';
      if (status !== c.status) {
        moves.push({ claimId: c.id, from: c.status, to: status, reason: status === 'held' ? summary(findings) : overridden > 0 ? `scrubbed: no unresolved errors (${overridden} overridden)` : 'scrubbed: no errors' });
      }
      out.push({ claimId: c.id, version: c.version, status, errors, warnings: findings.filter((f) => f.severity === 'warning').length, overridden, findings });
    });
    await this.repository.storeFindings(em, stored);
    await this.repository.setStatus(em, moves, actor);
    return out;
  }

  /**
   * Findings for stored claims, in their order: their payers' history and the patients' other
   * lines read once for all of them. `built`: claims just built by a builder, with the position of
   * their encounter in its build; each is compared with what was stored before and with the claims
   * of its own and earlier encounters, as if the encounters were built and scrubbed one by one (of
   * two duplicates on different encounters, the later one is flagged).
   */
  private async storedFindings(em: EntityManager, claims: readonly ClaimToScrub[], settings: PayerSettings, codes: CodeSets, built?: ReadonlyMap<string, number>): Promise<Finding[][]> {
    const history = await this.history(em, claims.map((c) => ({ claim: c.payload, payerRowId: c.payerId })), settings);
    const others = await this.repository.otherLinesMany(em, claims.map((c) => ({ patientId: c.patientId, claimId: c.id, payerRowId: c.payerId, ...serviceSpan(c.payload) })));
    return claims.map((c, k) => {
      const mine = built?.get(c.id);
      const otherLines = (others[k] ?? []).filter((l) => mine === undefined || (built?.get(l.claimId) ?? -1) <= mine);
      return this.findings(c.payload, c.payerId, otherLines, settings, codes, history.get(c.payerId ?? '') ?? []);
    });
  }

  /** Scrubs every unbatched claim whose findings are not for its current version (before batching). */
  async scrubStale(actor: string): Promise<number> {
    let n = 0;
    for (;;) {
      const ids = await this.repository.stale(200);
      if (ids.length === 0) return n;
      await this.repository.transaction((em) => this.rescrub(em, ids, actor));
      n += ids.length;
    }
  }

  /** A dry run over stored claims of any status: their findings now, with the status they would take. Nothing is written. */
  async dryRun(claimIds: readonly string[]): Promise<{ claimId: string; status: string; wouldBe: string; findings: (Finding & { overridden: boolean })[] }[]> {
    const [codes, settings] = await Promise.all([this.codeSets.get(), this.settings()]);
    return this.repository.transaction(async (em) => {
      const claims = await this.repository.claims(em, claimIds, false);
      const overrides = await this.repository.overrides(em, claims.map((c) => c.id));
      const found = await this.storedFindings(em, claims, settings, codes);
      return claims.map((c, k) => {
        const findings = (found[k] ?? []).map((f) => ({ ...f, overridden: f.severity === 'error' && overrideFor(f, overrides.get(c.id) ?? []) !== undefined }));
        const blocked = c.problems.length > 0 || findings.some((f) => f.severity === 'error' && !f.overridden);
        return { claimId: c.id, status: c.status, wouldBe: blocked ? 'held' : 'ready', findings };
      });
    });
  }

  /**
   * Overrides a finding of an unbatched claim (a rule on the claim, optionally one line and one
   * value), with the reason and who; the claim is scrubbed again and released when nothing else
   * holds it.
   */
  async override(claimId: string, o: { ruleId: string; line?: number; value?: string; reason: string }, actor: string): Promise<ScrubOutcome> {
    if (!RULES_BY_ID.has(o.ruleId)) throw new ScrubError('bad_request', `unknown rule "${o.ruleId}"`);
    if (o.reason.trim() === '') throw new ScrubError('bad_request', 'an override needs a reason');
    return this.repository.transaction(async (em) => {
      const [c] = await this.repository.claims(em, [claimId], true);
      if (!c) throw new ScrubError('not_found', `claim ${claimId} does not exist`);
      if (c.status !== 'held' && c.status !== 'ready') throw new ScrubError('conflict', `claim ${claimId} is ${c.status}: only unbatched claims (held, ready) take overrides`);
      const overrideId = await this.repository.addOverride(em, claimId, { ruleId: o.ruleId, lineNumber: o.line ?? null, value: o.value ?? null, reason: o.reason.trim() }, actor);
      const [outcome] = await this.rescrub(em, [claimId], actor);
      if (!outcome) throw new ScrubError('conflict', `claim ${claimId} could not be scrubbed`);
      if (!outcome.findings.some((f) => f.overrideId === overrideId)) {
        throw new ScrubError('bad_request', `no error of rule ${o.ruleId}${o.line !== undefined ? ` on line ${o.line}` : ''}${o.value !== undefined ? ` with value ${o.value}` : ''} on claim ${claimId} to override`);
      }
      this.log.info({ event: 'finding_overridden', claimId, ruleId: o.ruleId, overrideId, status: outcome.status });
      return outcome;
    });
  }

  /** Changes a rule's setting for one payer (or all), then re-scrubs the unbatched claims it touches. */
  async configure(ruleId: string, s: { payer?: string; enabled?: boolean; severity?: Severity; params?: Record<string, unknown> }, actor: string): Promise<{ rule: ReturnType<ScrubberService['describe']>; rescrubbed: number }> {
    const rule = RULES_BY_ID.get(ruleId);
    if (!rule) throw new ScrubError('not_found', `unknown rule "${ruleId}"`);
    let payerRowId: string | null = null;
    if (s.payer !== undefined) {
      payerRowId = (await this.repository.payerRow(s.payer)) ?? null;
      if (payerRowId === null) throw new ScrubError('bad_request', `no payer "${s.payer}" in the practice setup`);
    }
    for (const [k, v] of Object.entries(s.params ?? {})) {
      const d = rule.params[k];
      if (d === undefined) throw new ScrubError('bad_request', `rule ${ruleId} has no parameter "${k}" (it has: ${Object.keys(rule.params).join(', ') || 'none'})`);
      if (Array.isArray(d) ? !Array.isArray(v) || v.some((x) => typeof x !== 'string') : typeof v !== typeof d) throw new ScrubError('bad_request', `parameter "${k}" of rule ${ruleId} must be ${Array.isArray(d) ? 'a list of strings' : `a ${typeof d}`}`);
      if (typeof v === 'number') {
        const [min, max] = rule.limits?.[k] ?? [0, Number.MAX_SAFE_INTEGER];
        if (!Number.isFinite(v) || v < min || v > max) throw new ScrubError('bad_request', `parameter "${k}" of rule ${ruleId} must be a number from ${min} to ${max}`);
      }
    }
    await this.repository.saveSetting(ruleId, payerRowId, s, actor);
    const ids = await this.repository.unbatched(payerRowId, 100_000);
    for (let i = 0; i < ids.length; i += 200) await this.repository.transaction((em) => this.rescrub(em, ids.slice(i, i + 200), actor));
    this.log.info({ event: 'rule_configured', ruleId, payerRowId, rescrubbed: ids.length });
    return { rule: this.describe(rule, await this.repository.settings()), rescrubbed: ids.length };
  }

  describe(rule: Rule, settings: readonly RuleSettingRow[]) {
    return {
      id: rule.id, title: rule.title, description: rule.description, severity: rule.severity, carc: rule.carc, level: rule.level, location: rule.location, source: rule.source,
      claimTypes: rule.claimTypes, params: rule.params,
      settings: settings.filter((s) => s.ruleId === rule.id).map((s) => ({ payerId: s.payerKey, enabled: s.enabled, severity: s.severity, params: s.params, updatedBy: s.updatedBy, updatedAt: s.updatedAt })),
    };
  }

  async rules() {
    const settings = await this.repository.settings();
    const codes = await this.codeSets.get();
    return RULES.map((r) => ({ ...this.describe(r, settings), carcDescription: codes.carc(r.carc) ?? null }));
  }

  findingsOf(claimId: string) {
    return this.repository.findingsOf(claimId);
  }

  summary() {
    return this.repository.summary();
  }
}
