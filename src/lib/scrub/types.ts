import type { CodeSets, FeeScheduleLookup, IcdLookup } from '../codes/codesets';
import type { Claim837, ClaimType, ServiceLine } from '../x12';

export type Severity = 'error' | 'warning';

/** A rule's effective configuration for one claim's payer. */
export interface RuleSetting {
  enabled: boolean;
  severity: Severity;
  params: Record<string, unknown>;
}

/** What a rule found: where, in words a biller understands, and the denial it prevents. */
export interface Finding {
  ruleId: string;
  severity: Severity;
  message: string;
  /** 1-based service line; absent for a claim-level finding. */
  line?: number;
  /** The 837 loop and element the value goes in (2300 HI01-2, 2400 SV101-3). */
  loop: string;
  /** The claim adjustment reason code a payer would deny with. */
  carc: string;
  /** The value at fault (a code, a modifier, an NPI): with the rule and line, what an override names. */
  value?: string;
}

/** A line of the same patient on another claim that is still live (for duplicate checks). */
export interface OtherLine {
  claimId: string;
  serviceDate: string;
  procedureCode: string;
  modifiers: string[];
}

/**
 * What the claim's payer did with lines we billed before (payer-history): lines first answered on
 * one day, by procedure, modifiers (sorted, joined by ':'), diagnosis category (first three
 * characters of the line's first diagnosis) and the CARC of their denial ('' for lines not denied).
 */
export interface HistoryRow {
  procedureCode: string;
  modifiers: string;
  dxCategory: string;
  answeredOn: string;
  carc: string;
  lines: number;
}

export interface ScrubInput {
  claim: Claim837;
  /** The date the claim is scrubbed (timely filing): YYYY-MM-DD, injected. */
  today: string;
  otherLines?: OtherLine[];
  /** The payer's history for the claim's procedure codes (at least the rule's window of days). */
  history?: readonly HistoryRow[];
}

export interface RuleContext extends ScrubInput {
  codes: CodeSets;
  params: Record<string, unknown>;
  /** The patient's age in whole years on a date, when the birth date is known. */
  ageOn(date: string): number | undefined;
  /** The patient's sex (F, M, U). */
  sex: string | undefined;
  /** The claim's diagnosis at index i with its date of service and ICD-10-CM look-up (computed once per claim). */
  dx(i: number): DiagnosisInfo;
  /** The fee-schedule row of a line's code (no modifier), looked up once per line; undefined without a code. */
  fee(line: ServiceLine): FeeScheduleLookup | undefined;
}

export interface DiagnosisInfo {
  /** As on the claim. */
  code: string;
  /** Without the dot, upper case. */
  key: string;
  /** The date that picks its code-set year. */
  date: string;
  icd: IcdLookup;
}

export type Emit = (f: Omit<Finding, 'ruleId' | 'severity' | 'carc'> & { severity?: Severity; carc?: string }) => void;

export interface Rule {
  /** Stable id, used in settings, overrides and findings. */
  id: string;
  title: string;
  /** What it checks, for docs/SCRUBBER.md and GET /api/rules. */
  description: string;
  severity: Severity;
  /** The CARC it prevents; '' when each finding names its own (payer-history: the payer's usual one). */
  carc: string;
  level: 'claim' | 'line';
  /** The 837 loops and elements the rule checks (each finding names its own). */
  location: string;
  /** The code set or standard the rule rests on. */
  source: string;
  claimTypes: readonly ClaimType[];
  /** Default parameters (a payer's settings may change them). */
  params: Record<string, unknown>;
  /** The range a number parameter may be set to (inclusive); a number without one must be 0 or more. */
  limits?: Record<string, readonly [number, number]>;
  check(ctx: RuleContext, emit: Emit): void;
}
