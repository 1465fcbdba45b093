export { RULES, RULES_BY_ID } from './rules';
export { ageOn, defaultSetting, scrubClaim, type SettingsOf } from './engine';
export type { Finding, OtherLine, Rule, RuleSetting, ScrubInput, Severity } from './types';
