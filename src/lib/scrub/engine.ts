/**
 * Scrubbing one claim: every enabled rule for its claim type, with the payer's settings, gives
 * findings. Pure and synchronous: the code sets are in memory, the other claims' lines (for
 * duplicates) are passed in.
 */
import type { CodeSets } from '../codes/codesets';
import type { Claim837 } from '../x12';
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
      ...(charge.ndc ? { drug: { ndc: charge.ndc, quantity: charge.quantity, unit: 'UN' as const } } : {}),
    }],
    subscriber: { memberId: '', payerResponsibility: 'P', relationship: '18', claimFilingIndicator: 'CI', last: '' },
    frequency: '1',
  } as unknown as Claim837;
  const findings = scrubClaim({ claim, today }, codes, defaultSetting, CHARGE_RULE_SET);
  for (const f of findings) delete f.line;
  return findings;
}
