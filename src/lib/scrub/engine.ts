/**
 * Scrubbing one claim: every enabled rule for its claim type, with the payer's settings, gives
 * findings. Pure and synchronous: the code sets are in memory, the other claims' lines (for
 * duplicates) are passed in.
 */
import type { CodeSets, FeeScheduleLookup } from '../codes/codesets';
import { normalizeNdc } from '../codes/ndc';
import type { Claim837, ServiceLine } from '../x12';
import { diagnosisDate, RULES } from './rules';
import type { DiagnosisInfo, Emit, Finding, Rule, RuleContext, RuleSetting, ScrubInput } from './types';

export type SettingsOf = (rule: Rule) => RuleSetting;

const DEFAULTS = new Map<Rule, RuleSetting>();
/** A rule's own defaults (one object per rule). */
export const defaultSetting: SettingsOf = (rule) => {
  let s = DEFAULTS.get(rule);
  if (!s) DEFAULTS.set(rule, (s = { enabled: true, severity: rule.severity, params: rule.params }));
  return s;
};

/** Whole years from a birth date to a date (YYYY-MM-DD both). */
export function ageOn(birthDate: string, date: string): number {
  let age = Number(date.slice(0, 4)) - Number(birthDate.slice(0, 4));
  if (date.slice(5) < birthDate.slice(5)) age--;
  return age;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** The rules of each claim type, in order (filtered once per rule list). */
const BY_TYPE = new WeakMap<readonly Rule[], Map<string, Rule[]>>();
function rulesFor(rules: readonly Rule[], type: string): Rule[] {
  let byType = BY_TYPE.get(rules);
  if (!byType) BY_TYPE.set(rules, (byType = new Map<string, Rule[]>()));
  let list = byType.get(type);
  if (!list) byType.set(type, (list = rules.filter((r) => (r.claimTypes as readonly string[]).includes(type))));
  return list;
}

/**
 * The enabled rules of a claim type with their settings, worked out once per settings function
 * (a payer's settings are one function for as long as they do not change).
 */
const ENABLED = new WeakMap<SettingsOf, Map<string, [Rule, RuleSetting][]>>();
function enabledRules(rules: readonly Rule[], type: string, settingsOf: SettingsOf): [Rule, RuleSetting][] {
  if (rules !== RULES) return rulesFor(rules, type).map((r) => [r, settingsOf(r)] as [Rule, RuleSetting]).filter(([, st]) => st.enabled);
  let byType = ENABLED.get(settingsOf);
  if (!byType) ENABLED.set(settingsOf, (byType = new Map<string, [Rule, RuleSetting][]>()));
  let list = byType.get(type);
  if (!list) byType.set(type, (list = rulesFor(rules, type).map((r) => [r, settingsOf(r)] as [Rule, RuleSetting]).filter(([, st]) => st.enabled)));
  return list;
}

export function scrubClaim(input: ScrubInput, codes: CodeSets, settingsOf: SettingsOf = defaultSetting, rules: readonly Rule[] = RULES): Finding[] {
  const c = input.claim;
  const birth = c.patient ? c.patient.birthDate : c.subscriber.birthDate;
  const validBirth = birth !== undefined && ISO_DATE.test(birth) ? birth : undefined;
  const findings: Finding[] = [];
  const dx: (DiagnosisInfo | undefined)[] = [];
  let fees: Map<ServiceLine, FeeScheduleLookup | undefined> | undefined;
  const ctx: RuleContext = {
    claim: c,
    today: input.today,
    otherLines: input.otherLines,
    history: input.history,
    codes,
    params: {},
    ageOn: (date) => (validBirth === undefined || !ISO_DATE.test(date) ? undefined : ageOn(validBirth, date)),
    sex: c.patient ? c.patient.sex : c.subscriber.sex,
    dx: (i) => {
      let d = dx[i];
      if (!d) {
        const code = c.diagnoses[i] as string;
        const date = diagnosisDate(ctx, i);
        dx[i] = d = { code, key: code.includes('.') ? code.replace('.', '').toUpperCase() : code.toUpperCase(), date, icd: codes.icd10cm(code, date) };
      }
      return d;
    },
    fee: (line) => {
      if (!line.procedureCode) return undefined;
      fees ??= new Map();
      let f = fees.get(line);
      if (f === undefined) fees.set(line, (f = codes.feeSchedule(line.procedureCode, '', line.serviceDate)));
      return f;
    },
  };
  let rule: Rule | undefined;
  let setting: RuleSetting | undefined;
  const emit: Emit = (f) => {
    const r = rule as Rule;
    const st = setting as RuleSetting;
    // A rule may grade a finding itself (a documentation-only case is a warning); a payer's
    // setting that changes the rule's severity applies to every finding of the rule.
    const severity = st.severity !== r.severity ? st.severity : (f.severity ?? r.severity);
    const finding: Finding = { ruleId: r.id, severity, carc: f.carc ?? r.carc, message: f.message, loop: f.loop };
    if (f.line !== undefined) finding.line = f.line;
    if (f.value !== undefined) finding.value = f.value;
    findings.push(finding);
  };
  for (const [r, st] of enabledRules(rules, c.type, settingsOf)) {
    rule = r;
    setting = st;
    ctx.params = st.params;
    r.check(ctx, emit);
  }
  return findings;
}

/** The rules that judge a charge on its own (code, modifiers, units, amount, NDC, its diagnoses). */
export const CHARGE_RULES: readonly string[] = [
  'dx-code-valid', 'dx-billable', 'dx-year-loaded', 'proc-code-valid', 'proc-fee-schedule-status', 'modifier-valid', 'modifier-pctc', 'modifier-bilateral',
  'modifier-multiple-procedure', 'modifier-surgeons', 'modifier-assistant', 'units-valid', 'charge-positive', 'ndc-format', 'ndc-required',
];
const CHARGE_RULE_SET = RULES.filter((r) => CHARGE_RULES.includes(r.id));

/** A charge as intake stored it. */
export interface ChargeToScrub {
  serviceDate: string;
  procedureCode: string | null;
  modifiers: string[];
  quantity: string;
  amount: string | null;
  ndc: string | null;
  diagnosisCodes: string[];
}

/**
 * Line-level findings for one charge as soon as it arrives, before any claim: the charge as the
 * one line of a professional claim (institutional when it has only a transaction code), with the
 * rules' default settings (the payer is not known yet). Findings carry no line number.
 */
export function scrubCharge(charge: ChargeToScrub, codes: CodeSets, today: string): Finding[] {
  const claim = {
    type: charge.procedureCode ? 'professional' : 'institutional',
    diagnoses: charge.diagnosisCodes.map((d) => d.replace('.', '').toUpperCase()),
    lines: [{
      controlNumber: '1', procedureCode: charge.procedureCode ?? undefined, modifiers: charge.modifiers, charge: charge.amount ?? '0', unit: 'UN', quantity: charge.quantity,
      diagnosisPointers: charge.diagnosisCodes.map((_, i) => i + 1).slice(0, 4), serviceDate: charge.serviceDate,
      // The claim carries the NDC in 5-4-2 form (10-digit forms are converted when it is built).
      ...(charge.ndc ? { drug: { ndc: normalizeNdc(charge.ndc) ?? charge.ndc, quantity: charge.quantity, unit: 'UN' as const } } : {}),
    }],
    subscriber: { memberId: '', payerResponsibility: 'P', relationship: '18', claimFilingIndicator: 'CI', last: '' },
    frequency: '1',
  } as unknown as Claim837;
  const findings = scrubClaim({ claim, today }, codes, defaultSetting, CHARGE_RULE_SET);
  for (const f of findings) delete f.line;
  return findings;
}
