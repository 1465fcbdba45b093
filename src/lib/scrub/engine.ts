/**
 * Scrubbing one claim: every enabled rule for its claim type, with the payer's settings, gives
 * findings. Pure and synchronous: the code sets are in memory, the other claims' lines (for
 * duplicates) are passed in.
 */
import type { CodeSets } from '../codes/codesets';
import { RULES } from './rules';
import type { Emit, Finding, Rule, RuleContext, RuleSetting, ScrubInput } from './types';

export type SettingsOf = (rule: Rule) => RuleSetting;

/** A rule's own defaults. */
export const defaultSetting: SettingsOf = (rule) => ({ enabled: true, severity: rule.severity, params: rule.params });

/** Whole years from a birth date to a date (YYYY-MM-DD both). */
export function ageOn(birthDate: string, date: string): number {
  let age = Number(date.slice(0, 4)) - Number(birthDate.slice(0, 4));
  if (date.slice(5) < birthDate.slice(5)) age--;
  return age;
}

export function scrubClaim(input: ScrubInput, codes: CodeSets, settingsOf: SettingsOf = defaultSetting, rules: readonly Rule[] = RULES): Finding[] {
  const c = input.claim;
  const birth = c.patient ? c.patient.birthDate : c.subscriber.birthDate;
  const validBirth = birth !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(birth) ? birth : undefined;
  const findings: Finding[] = [];
  const ctx: RuleContext = {
    ...input,
    codes,
    params: {},
    ageOn: (date) => (validBirth === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(date) ? undefined : ageOn(validBirth, date)),
    sex: c.patient ? c.patient.sex : c.subscriber.sex,
  };
  for (const rule of rules) {
    if (!rule.claimTypes.includes(c.type)) continue;
    const setting = settingsOf(rule);
    if (!setting.enabled) continue;
    ctx.params = setting.params;
    const emit: Emit = (f) => {
      // A rule may grade a finding itself (a documentation-only case is a warning); a payer's
      // setting that changes the rule's severity applies to every finding of the rule.
      const severity = setting.severity !== rule.severity ? setting.severity : (f.severity ?? rule.severity);
      findings.push({ ruleId: rule.id, severity, carc: f.carc ?? rule.carc, message: f.message, loop: f.loop, ...(f.line !== undefined ? { line: f.line } : {}), ...(f.value !== undefined ? { value: f.value } : {}) });
    };
    rule.check(ctx, emit);
  }
  return findings;
}
