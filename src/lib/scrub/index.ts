export { historyKey, RULES, RULES_BY_ID, serviceSpan } from './rules';
export { ageOn, CHARGE_RULES, defaultSetting, scrubCharge, scrubClaim, type ChargeToScrub, type SettingsOf } from './engine';
export type { Finding, HistoryRow, OtherLine, Rule, RuleSetting, ScrubInput, Severity } from './types';
