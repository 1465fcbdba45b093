/**
 * The scrubber's rules. Each has a stable id, a default severity (an error holds the claim, a
 * warning flags it), the 837 location it checks and the CARC it prevents; payers' settings may
 * turn it off, change its severity or its parameters. docs/SCRUBBER.md lists them.
 */
import { isValidNpi } from '../codes/npi';
import type { Claim837, ServiceLine, X12Provider } from '../x12';
import type { FeeScheduleLookup } from '../codes/codesets';
import type { Emit, Rule, RuleContext } from './types';

const BOTH = ['professional', 'institutional'] as const;
const PROFESSIONAL = ['professional'] as const;
const INSTITUTIONAL = ['institutional'] as const;

/** Line n (1-based) of the claim, its loop name by claim type. */
const svc = (ctx: RuleContext, element: string): string => `2400 ${ctx.claim.type === 'professional' ? 'SV1' : 'SV2'}${element}`;
const procElement = (ctx: RuleContext): string => svc(ctx, ctx.claim.type === 'professional' ? '01-2' : '02-2');
const modElement = (ctx: RuleContext, i: number): string => svc(ctx, `${ctx.claim.type === 'professional' ? '01' : '02'}-${3 + i}`);

/** HCPCS Level II codes start with a letter; CPT codes (Category I-III) are 4 digits and a digit, F or T. */
const isLevel2 = (code: string): boolean => code.charCodeAt(0) >= 65;

function eachLine(ctx: RuleContext, fn: (line: ServiceLine, n: number) => void): void {
  const lines = ctx.claim.lines;
  for (let i = 0; i < lines.length; i++) fn(lines[i] as ServiceLine, i + 1);
}

function num(params: Record<string, unknown>, key: string, fallback: number): number {
  const v = params[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
function list(params: Record<string, unknown>, key: string): string[] {
  const v = params[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Days from a to b (YYYY-MM-DD). */
const DAYS = new Map<string, number>();
/** Days since 1970-01-01 of a YYYY-MM-DD date (remembered: claims share their dates). */
function dayNumber(d: string): number {
  let n = DAYS.get(d);
  if (n === undefined) {
    n = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / 86_400_000;
    if (DAYS.size > 50_000) DAYS.clear();
    DAYS.set(d, n);
  }
  return n;
}
function daysBetween(a: string, b: string): number {
  return dayNumber(b) - dayNumber(a);
}

/**
 * The first and last dates of service of a claim: the statement period and every line's dates
 * (timely filing, the duplicate look-up, the fallback code-set year of its diagnoses).
 */
export function serviceSpan(c: Claim837): { from: string; to: string } {
  let from = c.institutional?.statementFrom ?? '';
  let to = c.institutional?.statementTo ?? '';
  for (const l of c.lines) {
    if (from === '' || l.serviceDate < from) from = l.serviceDate;
    const end = l.serviceEndDate ?? l.serviceDate;
    if (end > to) to = end;
  }
  return { from, to };
}

/**
 * The date that picks a diagnosis's code-set year: the earliest service date of the lines that
 * point at it (837P), else the claim's first date (837I: inpatient claims use the discharge date).
 */
export function diagnosisDate(ctx: Pick<RuleContext, 'claim'>, index: number): string {
  const c = ctx.claim;
  if (c.institutional) return c.institutional.statementTo;
  let date = '';
  for (const l of c.lines) if (l.diagnosisPointers.includes(index + 1) && (date === '' || l.serviceDate < date)) date = l.serviceDate;
  return date === '' ? serviceSpan(c).from : date;
}

const dxElement = (ctx: RuleContext, i: number): string =>
  ctx.claim.type === 'professional' ? `2300 HI${String(Math.floor(i / 12) + 1).padStart(2, '0')}-2` : i === 0 ? '2300 HI01-2 (ABK principal)' : `2300 HI (ABF other) #${i}`;

// ---- sex-specific diagnoses ----
// No current CMS list exists (the MCE sex edit was removed in FY2025). These prefixes follow the
// ICD-10-CM chapter and block titles that name one sex: pregnancy and childbirth (O), female
// pelvic and genital organs, male genital organs, and the screening and supervision codes for them.
const FEMALE_ONLY = ['O', 'Z3A', 'Z33', 'Z34', 'Z36', 'Z37', 'Z39', 'N70', 'N71', 'N72', 'N73', 'N74', 'N75', 'N76', 'N77', 'N80', 'N81', 'N82', 'N83', 'N84', 'N85', 'N86', 'N87', 'N88', 'N89', 'N90', 'N91', 'N92', 'N93', 'N94', 'N95', 'N96', 'N97', 'N98', 'C51', 'C52', 'C53', 'C54', 'C55', 'C56', 'C57', 'C58', 'D06', 'D25', 'D26', 'D27', 'D28', 'D391', 'R87', 'Z014', 'Z124'];
const MALE_ONLY = ['N40', 'N41', 'N42', 'N43', 'N44', 'N45', 'N46', 'N47', 'N48', 'N49', 'N50', 'N51', 'N52', 'N53', 'C60', 'C61', 'C62', 'C63', 'D074', 'D075', 'D076', 'D29', 'D40', 'R86', 'Z125'];
const startsWithAny = (code: string, prefixes: readonly string[]): boolean => prefixes.some((p) => code.startsWith(p));

// ---- place of service by E/M family (CPT code ranges and the settings they describe) ----
const POS_FAMILIES: { from: number; to: number; name: string; allowed?: string[]; notAllowed?: string[] }[] = [
  { from: 99202, to: 99215, name: 'office or other outpatient visit', notAllowed: ['21', '23', '31', '32', '51', '61'] },
  { from: 99221, to: 99239, name: 'hospital inpatient or observation care', allowed: ['21', '22', '51', '61'] },
  { from: 99281, to: 99285, name: 'emergency department visit', allowed: ['23'] },
  { from: 99304, to: 99316, name: 'nursing facility care', allowed: ['31', '32'] },
  { from: 99341, to: 99350, name: 'home or residence visit', allowed: ['12', '13', '14', '16', '33'] },
];

/** NCCI-associated modifiers that may bypass a pair whose modifier indicator is 1. */
const NCCI_BYPASS = new Set(['59', 'XE', 'XS', 'XP', 'XU', '24', '25', '27', '57', '58', '78', '79', '91', 'E1', 'E2', 'E3', 'E4', 'FA', 'F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7', 'F8', 'F9', 'TA', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'LT', 'RT', 'LC', 'LD', 'RC', 'LM', 'RI']);

function providers(ctx: RuleContext): { role: string; loop: string; p: X12Provider | undefined }[] {
  const c = ctx.claim;
  const prof = c.type === 'professional';
  return [
    { role: 'billing', loop: '2010AA NM1-09', p: c.billingProvider },
    { role: 'rendering', loop: '2310B NM1-09', p: prof ? c.rendering : undefined },
    { role: 'referring', loop: prof ? '2310A NM1-09' : '2310F NM1-09', p: c.referring },
    { role: 'attending', loop: '2310A NM1-09', p: c.institutional?.attending },
    { role: 'operating', loop: '2310B NM1-09', p: c.institutional?.operating },
    { role: 'service facility', loop: prof ? '2310C NM1-09' : '2310E NM1-09', p: c.serviceFacility },
  ];
}

/** NPI checks remembered (the same billing and rendering providers are on most claims). */
const NPI_SEEN = new Map<string, boolean>();
function validNpi(npi: string): boolean {
  let ok = NPI_SEEN.get(npi);
  if (ok === undefined) {
    ok = isValidNpi(npi);
    if (NPI_SEEN.size > 100_000) NPI_SEEN.clear();
    NPI_SEEN.set(npi, ok);
  }
  return ok;
}

const feeSchedule = (ctx: RuleContext, line: ServiceLine): FeeScheduleLookup | undefined => ctx.fee(line);

function checkIndicator(ctx: RuleContext, emit: Emit, modifiers: readonly string[], indicator: (e: NonNullable<ReturnType<typeof feeSchedule>>['entry'] & object) => string, allowed: Record<string, 'ok' | 'warning'>, what: string): void {
  eachLine(ctx, (line, n) => {
    const hit = line.modifiers.findIndex((m) => modifiers.includes(m));
    if (hit < 0) return;
    const fs = feeSchedule(ctx, line);
    if (!fs?.entry) return; // an unknown code is another rule's finding
    const ind = indicator(fs.entry);
    const verdict = allowed[ind];
    const mod = line.modifiers[hit] as string;
    if (verdict === 'ok') return;
    emit({
      line: n, loop: modElement(ctx, hit), value: mod,
      severity: verdict === 'warning' ? 'warning' : undefined,
      message: verdict === 'warning'
        ? `modifier ${mod} on ${line.procedureCode ?? ''}: the CY${fs.year ?? ''} fee schedule allows it only with documentation (${what} indicator ${ind}); attach it`
        : `modifier ${mod} is not allowed on ${line.procedureCode ?? ''}: ${what} indicator ${ind === '' ? '(none)' : ind} in the CY${fs.year ?? ''} fee schedule`,
    });
  });
}

/** The key payer-history counts a line under: its procedure, modifiers (sorted) and diagnosis category. */
export function historyKey(ctx: Pick<RuleContext, 'claim'>, line: ServiceLine): { procedureCode: string; modifiers: string; dxCategory: string } | undefined {
  if (!line.procedureCode) return undefined;
  const c = ctx.claim;
  const pointer = c.type === 'professional' ? (line.diagnosisPointers[0] ?? 1) : 1;
  const dx = c.diagnoses[pointer - 1] ?? '';
  const modifiers = line.modifiers.length < 2 ? (line.modifiers[0] ?? '') : [...line.modifiers].sort().join(':');
  return { procedureCode: line.procedureCode, modifiers, dxCategory: dx.replace('.', '').slice(0, 3).toUpperCase() };
}

const PAYER_HISTORY: Rule = {
  id: 'payer-history', location: '2400 SV101-2 / SV202-2 and modifiers; 2300 HI', title: 'Often denied by this payer before', level: 'line', severity: 'warning', carc: '', claimTypes: BOTH,
  params: { days: 180, minDenials: 5, minPercent: 50, matchModifiers: true, matchDiagnosisCategory: true },
  limits: { days: [1, 730], minDenials: [1, 1_000_000], minPercent: [0, 100] },
  source: 'Our own 835s: lines this payer answered in the last days (denial_pattern)',
  description:
    'A line whose payer denied the same procedure (with the same modifiers and diagnosis category, unless matchModifiers or matchDiagnosisCategory is false) ' +
    'at least minDenials times and in at least minPercent% of the lines it answered in the last days (180 by default), counted by the date each line was first answered. ' +
    'The finding names the CARC the payer usually gave; the work queue\'s dashboard lists the same patterns. Learnt from the 835s imported, so it says nothing until there are some.',
  check(ctx, emit) {
    const history = ctx.history;
    if (history === undefined || history.length === 0) return;
    const days = num(ctx.params, 'days', 180);
    const minDenials = Math.max(1, num(ctx.params, 'minDenials', 5));
    const minPercent = num(ctx.params, 'minPercent', 50);
    const byModifiers = ctx.params.matchModifiers !== false;
    const byDiagnosis = ctx.params.matchDiagnosisCategory !== false;
    const since = dayNumber(ctx.today) - days;
    const until = dayNumber(ctx.today);
    eachLine(ctx, (line, n) => {
      const key = historyKey(ctx, line);
      if (key === undefined) return;
      let answered = 0;
      let denied = 0;
      const carcs = new Map<string, number>();
      for (const h of history) {
        if (h.procedureCode !== key.procedureCode || (byModifiers && h.modifiers !== key.modifiers) || (byDiagnosis && h.dxCategory !== key.dxCategory)) continue;
        const day = dayNumber(h.answeredOn);
        if (day < since || day > until) continue;
        answered += h.lines;
        if (h.carc !== '') {
          denied += h.lines;
          carcs.set(h.carc, (carcs.get(h.carc) ?? 0) + h.lines);
        }
      }
      if (denied < minDenials || denied * 100 < minPercent * answered) return;
      let carc = '';
      let most = 0;
      for (const [code, count] of carcs) if (count > most || (count === most && code < carc)) [carc, most] = [code, count];
      const what = `${key.procedureCode}${byModifiers && key.modifiers !== '' ? ` with modifier${key.modifiers.includes(':') ? 's' : ''} ${key.modifiers.replace(/:/g, ', ')}` : ''}` +
        (byDiagnosis && key.dxCategory !== '' ? ` for ${key.dxCategory} diagnoses` : '');
      const words = ctx.codes.carc(carc);
      emit({
        line: n, loop: procElement(ctx), value: key.procedureCode, carc,
        message: `${ctx.claim.payer.name || 'this payer'} denied ${what} on ${denied} of ${answered} lines (${Math.round((denied * 100) / answered)}%) in the last ${days} days, ` +
          `most often with CARC ${carc}${words ? ` (${words})` : ''}: check it before sending`,
      });
    });
  },
};


export const RULES: readonly Rule[] = [
  // ---------------- diagnoses ----------------
  {
    id: 'dx-principal-present', location: '2300 HI01-2', title: 'Principal diagnosis present', level: 'claim', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'X12 837 TR3 (HI ABK/ABF required)',
    description: 'The claim carries at least one ICD-10-CM diagnosis; the first is the principal (837P ABK, 837I ABK).',
    check(ctx, emit) {
      if (ctx.claim.diagnoses.length === 0) emit({ loop: '2300 HI01-2', message: 'no diagnosis: a claim needs a principal ICD-10-CM diagnosis (DG1-3 or FT1-19)' });
    },
  },
  {
    id: 'dx-code-valid', location: '2300 HI (HI01-2 to HI12-2)', title: 'ICD-10-CM code exists and is valid on the date of service', level: 'claim', severity: 'error', carc: '146', claimTypes: BOTH, params: {},
    source: 'CDC/NCHS ICD-10-CM order files by fiscal year',
    description: 'Each diagnosis is an ICD-10-CM code of the fiscal year of its date of service (1 October to 30 September): not unknown, not deleted before the date, not added after it. A date newer than the newest loaded year is checked against the newest one (see dx-year-loaded).',
    check(ctx, emit) {
      for (let i = 0; i < ctx.claim.diagnoses.length; i++) {
        const { code, date, icd: r } = ctx.dx(i);
        if (r.status === 'unknown') emit({ loop: dxElement(ctx, i), value: code, message: `${code} is not an ICD-10-CM code in any loaded year (FY${ctx.codes.icdYears.join(', FY')})` });
        else if (r.status === 'not_in_year') {
          emit({ loop: dxElement(ctx, i), value: code, message: `${code} is not valid in FY${r.checkedYear} (date of service ${date}); it is valid in FY${r.billableYears.join(', FY') || ' none loaded'}: use the code in effect on the date of service` });
        }
      }
    },
  },
  {
    id: 'dx-billable', location: '2300 HI (HI01-2 to HI12-2)', title: 'ICD-10-CM code is billable (not a category header)', level: 'claim', severity: 'error', carc: '146', claimTypes: BOTH, params: {},
    source: 'CDC/NCHS ICD-10-CM order files (billable flag)',
    description: 'A category or subcategory header (E11) cannot be billed; the code must be coded to the highest specificity (E11.9).',
    check(ctx, emit) {
      for (let i = 0; i < ctx.claim.diagnoses.length; i++) {
        const { code, key, icd: r } = ctx.dx(i);
        if (r.status !== 'header') continue;
        const children = ctx.codes.icdChildren(key, r.checkedYear, 3);
        emit({ loop: dxElement(ctx, i), value: code, message: `${code} (${r.description ?? ''}) is a category header in FY${r.checkedYear}, not billable: code it fully${children.length > 0 ? `, for example ${children.join(', ')}` : ''}` });
      }
    },
  },
  {
    id: 'dx-year-loaded', location: '2300 HI', title: 'ICD-10-CM year of the date of service is loaded', level: 'claim', severity: 'warning', carc: '146', claimTypes: BOTH, params: {},
    source: 'loaded code sets',
    description: 'When a date of service falls in a fiscal year newer (or older) than those loaded, the codes were checked against the nearest loaded year; this warning names the missing year so it is never passed silently. Load it with `hl7-claims codesets import icd10cm FILE --label FYyyyy`.',
    check(ctx, emit) {
      let seen: number[] | undefined;
      for (let i = 0; i < ctx.claim.diagnoses.length; i++) {
        const { date, icd: r } = ctx.dx(i);
        if (r.checkedYear === r.fiscalYear || seen?.includes(r.fiscalYear)) continue;
        (seen ??= []).push(r.fiscalYear);
        emit({ loop: dxElement(ctx, i), value: `FY${r.fiscalYear}`, message: `ICD-10-CM FY${r.fiscalYear} is not loaded: diagnoses dated ${date} were checked against FY${r.checkedYear}` });
      }
    },
  },
  {
    id: 'dx-pointers', location: '2400 SV107-1 to SV107-4', title: 'Diagnosis pointers point at diagnoses', level: 'line', severity: 'error', carc: '16', claimTypes: PROFESSIONAL, params: {},
    source: 'X12 837P TR3 (SV107: 1 to 4 pointers into HI)',
    description: 'Each professional line points at 1 to 4 of the claim\'s diagnoses, each pointer within the list, none twice.',
    check(ctx, emit) {
      const n = ctx.claim.diagnoses.length;
      eachLine(ctx, (line, i) => {
        const p = line.diagnosisPointers;
        if (p.length === 0) emit({ line: i, loop: '2400 SV107', message: 'the line points at no diagnosis' });
        else if (p.length > 4) emit({ line: i, loop: '2400 SV107', message: `the line has ${p.length} diagnosis pointers; at most 4` });
        for (const x of p) if (x < 1 || x > n) emit({ line: i, loop: '2400 SV107', value: String(x), message: `diagnosis pointer ${x} points past the claim's ${n} diagnoses` });
        if (new Set(p).size !== p.length) emit({ line: i, loop: '2400 SV107', message: 'the same diagnosis pointer appears twice' });
      });
    },
  },
  {
    id: 'dx-age', location: '2300 HI; 2010BA/2010CA DMG-02', title: 'Diagnosis consistent with the patient\'s age (MCE)', level: 'claim', severity: 'error', carc: '9', claimTypes: BOTH, params: {},
    source: 'CMS Medicare Code Editor v43.1 age edits',
    description: 'Perinatal/newborn codes need age 0, pediatric codes 0-17, maternity codes 9-64, adult codes 15-124, from the patient\'s age on the date of service.',
    check(ctx, emit) {
      ctx.claim.diagnoses.forEach((_, i) => {
        const { code, key, date } = ctx.dx(i);
        const edits = ctx.codes.mce(key);
        if (!edits) return;
        const age = ctx.ageOn(date);
        if (age === undefined) return;
        const bad = (edit: string, lo: number, hi: number, what: string): void => {
          if (edits.has(edit) && (age < lo || age > hi)) emit({ loop: dxElement(ctx, i), value: code, message: `${code} is a ${what} diagnosis (ages ${lo === hi ? lo : `${lo}-${hi}`}); the patient is ${age} on ${date}` });
        };
        bad('age_perinatal', 0, 0, 'newborn/perinatal');
        bad('age_pediatric', 0, 17, 'pediatric');
        bad('age_maternity', 9, 64, 'maternity');
        bad('age_adult', 15, 124, 'adult');
      });
    },
  },
  {
    id: 'dx-sex', location: '2300 HI; 2010BA/2010CA DMG-03', title: 'Diagnosis consistent with the patient\'s sex', level: 'claim', severity: 'warning', carc: '10', claimTypes: BOTH, params: {},
    source: 'ICD-10-CM chapter and block titles (no current CMS list: the MCE sex edit was removed in FY2025)',
    description: 'Pregnancy, female genital and male genital diagnoses against the patient\'s sex. A warning by default; payers that still edit sex may make it an error.',
    check(ctx, emit) {
      const sex = ctx.sex;
      if (sex !== 'F' && sex !== 'M') return;
      ctx.claim.diagnoses.forEach((raw, i) => {
        const code = ctx.dx(i).key;
        if (sex === 'M' && startsWithAny(code, FEMALE_ONLY)) emit({ loop: dxElement(ctx, i), value: raw, message: `${raw} describes a female-only condition; the patient's sex is M` });
        if (sex === 'F' && startsWithAny(code, MALE_ONLY)) emit({ loop: dxElement(ctx, i), value: raw, message: `${raw} describes a male-only condition; the patient's sex is F` });
      });
    },
  },
  {
    id: 'dx-manifestation-principal', location: '2300 HI01-2', title: 'Manifestation code not principal', level: 'claim', severity: 'error', carc: '146', claimTypes: BOTH, params: {},
    source: 'CMS Medicare Code Editor v43.1 (manifestation codes)',
    description: 'A manifestation code ("code first the underlying disease") cannot be the principal diagnosis.',
    check(ctx, emit) {
      if (ctx.claim.diagnoses.length === 0) return;
      const first = ctx.dx(0);
      if (ctx.codes.mce(first.key)?.has('manifestation_not_pdx')) {
        emit({ loop: dxElement(ctx, 0), value: first.code, message: `${first.code} is a manifestation code: list the underlying condition first` });
      }
    },
  },

  // ---------------- procedures and modifiers ----------------
  {
    id: 'proc-code-valid', location: '2400 SV101-2 (837P) / SV202-2 (837I)', title: 'CPT/HCPCS code exists and is active on the date of service', level: 'line', severity: 'error', carc: '181', claimTypes: BOTH, params: {},
    source: 'CMS HCPCS Level II file (added and termination dates); CMS PFS relative value file (CPT codes, status D)',
    description: 'HCPCS Level II codes must be in the HCPCS file and effective on the date of service (added on or before it, not terminated before it). CPT codes must be in the fee-schedule file; a CPT code missing from a fee-schedule year older than the date of service is a warning naming the missing year.',
    check(ctx, emit) {
      eachLine(ctx, (line, n) => {
        const code = line.procedureCode;
        if (!code) {
          if (ctx.claim.type === 'professional') emit({ line: n, loop: procElement(ctx), message: 'the line has no CPT/HCPCS code' });
          return;
        }
        if (isLevel2(code)) {
          const h = ctx.codes.hcpcs(code);
          if (!h) emit({ line: n, loop: procElement(ctx), value: code, message: `${code} is not a HCPCS Level II code (release ${ctx.codes.hcpcsRelease ?? 'none'})` });
          else if (h.added !== '' && line.serviceDate < h.added) emit({ line: n, loop: procElement(ctx), value: code, message: `${code} takes effect on ${h.added}, after the date of service ${line.serviceDate}` });
          else if (h.terminated !== '' && line.serviceDate > h.terminated) emit({ line: n, loop: procElement(ctx), value: code, message: `${code} was terminated on ${h.terminated}, before the date of service ${line.serviceDate}: use its replacement` });
          return;
        }
        const fs = ctx.fee(line) as FeeScheduleLookup;
        if (fs.entry?.status === 'D') emit({ line: n, loop: procElement(ctx), value: code, message: `${code} is deleted in the CY${fs.year ?? ''} fee schedule (status D): use its replacement` });
        else if (!fs.entry) {
          const stale = fs.year !== undefined && fs.dateYear > fs.year;
          emit({
            line: n, loop: procElement(ctx), value: code, severity: stale ? 'warning' : undefined,
            message: stale ? `${code} is not in the CY${fs.year ?? ''} fee schedule and CY${fs.dateYear} is not loaded: check the code` : `${code} is not a CPT code in the CY${fs.year ?? ''} fee schedule`,
          });
        }
      });
    },
  },
  {
    id: 'proc-fee-schedule-status', location: '2400 SV101-2', title: 'Fee-schedule status payable', level: 'line', severity: 'warning', carc: '96', claimTypes: PROFESSIONAL,
    params: { errorStatuses: ['I'], warningStatuses: ['B', 'N'] },
    source: 'CMS PFS relative value file (status indicator)',
    description: 'For CPT codes: status I (not valid for Medicare: another code is used) holds the claim; B (bundled) and N (non-covered) flag it. The statuses are parameters per payer. X and E are not flagged by default: labs and drugs are paid outside the physician fee schedule.',
    check(ctx, emit) {
      const errors = list(ctx.params, 'errorStatuses');
      const warnings = list(ctx.params, 'warningStatuses');
      const words: Record<string, string> = { I: 'not valid for Medicare (another code is used)', B: 'bundled into other services', N: 'non-covered', X: 'excluded by statute', E: 'excluded by regulation' };
      eachLine(ctx, (line, n) => {
        if (!line.procedureCode || isLevel2(line.procedureCode)) return;
        const fs = feeSchedule(ctx, line);
        const st = fs?.entry?.status;
        if (!st || (!errors.includes(st) && !warnings.includes(st))) return;
        emit({ line: n, loop: procElement(ctx), value: line.procedureCode, severity: errors.includes(st) ? 'error' : 'warning', message: `${line.procedureCode ?? ''} has fee-schedule status ${st} (${words[st] ?? 'see the fee schedule'}) in CY${fs.year ?? ''}` });
      });
    },
  },
  {
    id: 'modifier-valid', location: '2400 SV101-3 to SV101-6 / SV202-3 to SV202-6', title: 'Modifier exists and is active', level: 'line', severity: 'error', carc: '4', claimTypes: BOTH, params: {},
    source: 'CPT modifier list; CMS HCPCS Level II modifiers (added and termination dates)',
    description: 'Each modifier is a CPT or HCPCS Level II modifier, in effect on the date of service, and at most 4 per line.',
    check(ctx, emit) {
      eachLine(ctx, (line, n) => {
        if (line.modifiers.length > 4) emit({ line: n, loop: modElement(ctx, 4), message: `${line.modifiers.length} modifiers; the 837 carries at most 4` });
        line.modifiers.forEach((m, i) => {
          const e = ctx.codes.modifier(m);
          if (!e) emit({ line: n, loop: modElement(ctx, i), value: m, message: `${m} is not a CPT or HCPCS modifier` });
          else if (e.terminated !== '' && line.serviceDate > e.terminated) emit({ line: n, loop: modElement(ctx, i), value: m, message: `modifier ${m} was terminated on ${e.terminated}, before the date of service` });
          else if (e.added !== '' && line.serviceDate < e.added) emit({ line: n, loop: modElement(ctx, i), value: m, message: `modifier ${m} takes effect on ${e.added}, after the date of service` });
        });
      });
    },
  },
  {
    id: 'modifier-pctc', location: '2400 SV101-3 to SV101-6', title: 'Modifier 26/TC allowed by the PC/TC indicator', level: 'line', severity: 'error', carc: '4', claimTypes: PROFESSIONAL, params: {},
    source: 'CMS PFS relative value file (PC/TC indicator)',
    description: 'Modifier 26 (professional component) needs PC/TC indicator 1, 6 or 8; TC (technical component) needs indicator 1. Codes that are professional-only (2), technical-only (3), global-only (4), incident-to (5), therapy (7) or not split (0, 9) take neither.',
    check(ctx, emit) {
      checkIndicator(ctx, emit, ['26'], (e) => e.pctc, { '1': 'ok', '6': 'ok', '8': 'ok' }, 'PC/TC');
      checkIndicator(ctx, emit, ['TC'], (e) => e.pctc, { '1': 'ok' }, 'PC/TC');
    },
  },
  {
    id: 'modifier-bilateral', location: '2400 SV101-3 to SV101-6', title: 'Modifier 50 allowed by the bilateral indicator', level: 'line', severity: 'error', carc: '4', claimTypes: PROFESSIONAL, params: {},
    source: 'CMS PFS relative value file (bilateral surgery indicator)',
    description: 'Modifier 50 needs bilateral indicator 1 (150% adjustment) or 3 (each side at 100%); 0 (not bilateral), 2 (bilateral by definition) and 9 do not take it.',
    check(ctx, emit) {
      checkIndicator(ctx, emit, ['50'], (e) => e.bilateral, { '1': 'ok', '3': 'ok' }, 'bilateral surgery');
    },
  },
  {
    id: 'modifier-multiple-procedure', location: '2400 SV101-3 to SV101-6', title: 'Modifier 51 allowed by the multiple-procedure indicator', level: 'line', severity: 'error', carc: '4', claimTypes: PROFESSIONAL, params: {},
    source: 'CMS PFS relative value file (multiple procedure indicator)',
    description: 'Modifier 51 is not used on codes with multiple-procedure indicator 0 (no reduction applies) or 9 (concept does not apply).',
    check(ctx, emit) {
      checkIndicator(ctx, emit, ['51'], (e) => e.multipleProcedure, { '1': 'ok', '2': 'ok', '3': 'ok', '4': 'ok', '5': 'ok', '6': 'ok', '7': 'ok' }, 'multiple procedure');
    },
  },
  {
    id: 'modifier-surgeons', location: '2400 SV101-3 to SV101-6', title: 'Modifiers 62/66 allowed by the co-surgeon and team indicators', level: 'line', severity: 'error', carc: '4', claimTypes: PROFESSIONAL, params: {},
    source: 'CMS PFS relative value file (co-surgeon and team surgery indicators)',
    description: 'Modifier 62 needs co-surgeon indicator 2 (1: with documentation, a warning); 66 needs team indicator 2 (1: with documentation). 0 and 9 do not allow them.',
    check(ctx, emit) {
      checkIndicator(ctx, emit, ['62'], (e) => e.coSurgeon, { '2': 'ok', '1': 'warning' }, 'co-surgeon');
      checkIndicator(ctx, emit, ['66'], (e) => e.team, { '2': 'ok', '1': 'warning' }, 'team surgery');
    },
  },
  {
    id: 'modifier-assistant', location: '2400 SV101-3 to SV101-6', title: 'Assistant-at-surgery modifiers allowed', level: 'line', severity: 'error', carc: '54', claimTypes: PROFESSIONAL, params: {},
    source: 'CMS PFS relative value file (assistant at surgery indicator)',
    description: 'Modifiers 80, 82 and AS need assistant indicator 2; 0 allows them with documentation (a warning); 1 (statutory payment restriction) and 9 do not.',
    check(ctx, emit) {
      checkIndicator(ctx, emit, ['80', '82', 'AS'], (e) => e.assistant, { '2': 'ok', '0': 'warning' }, 'assistant at surgery');
    },
  },
  {
    id: 'units-valid', location: '2400 SV104 / SV205', title: 'Units positive and whole', level: 'line', severity: 'error', carc: '16', claimTypes: BOTH, params: { fractionalAllowed: [] },
    source: 'X12 837 TR3 (SV104/SV205); payer unit rules',
    description: 'Service units are greater than zero and whole, except anesthesia minutes (MJ) and the codes listed in the fractionalAllowed parameter.',
    check(ctx, emit) {
      const fractional = list(ctx.params, 'fractionalAllowed');
      eachLine(ctx, (line, n) => {
        const q = line.quantity;
        const el = svc(ctx, ctx.claim.type === 'professional' ? '04' : '05');
        if (!/^\d+(\.\d+)?$/.test(q) || /^0+(\.0+)?$/.test(q)) emit({ line: n, loop: el, value: q, message: `units "${q}" must be greater than zero` });
        else if (q.includes('.') && !/\.0+$/.test(q) && line.unit !== 'MJ' && !fractional.includes(line.procedureCode ?? '')) emit({ line: n, loop: el, value: q, message: `units ${q} must be a whole number for ${line.procedureCode ?? 'this line'}` });
      });
    },
  },
  {
    id: 'charge-positive', location: '2400 SV102 / SV203', title: 'Line charge positive', level: 'line', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'X12 837 TR3 (SV102/SV203)',
    description: 'Each line\'s charge is greater than zero (a zero-charge line is rejected by most payers; credits are not billed).',
    check(ctx, emit) {
      eachLine(ctx, (line, n) => {
        if (!/^\d+(\.\d+)?$/.test(line.charge) || /^0+(\.0+)?$/.test(line.charge)) emit({ line: n, loop: svc(ctx, ctx.claim.type === 'professional' ? '02' : '03'), value: line.charge, message: `charge ${line.charge} must be greater than zero` });
      });
    },
  },
  {
    id: 'ndc-format', location: '2410 LIN03, CTP04, CTP05-1', title: 'NDC in 11-digit 5-4-2 form with quantity and unit', level: 'line', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'X12 837 TR3 (2410 LIN03 N4, CTP04/CTP05)',
    description: 'A drug line carries an 11-digit NDC (10-digit forms are normalised when charges arrive), a quantity greater than zero and a unit F2, GR, ME, ML or UN.',
    check(ctx, emit) {
      eachLine(ctx, (line, n) => {
        const d = line.drug;
        if (!d) return;
        if (!/^\d{11}$/.test(d.ndc)) emit({ line: n, loop: '2410 LIN03', value: d.ndc, message: `NDC ${d.ndc} is not 11 digits in 5-4-2 form` });
        if (!/^\d+(\.\d+)?$/.test(d.quantity) || /^0+(\.0+)?$/.test(d.quantity)) emit({ line: n, loop: '2410 CTP04', value: d.quantity, message: `NDC quantity "${d.quantity}" must be greater than zero` });
        if (!['F2', 'GR', 'ME', 'ML', 'UN'].includes(d.unit)) emit({ line: n, loop: '2410 CTP05-1', value: d.unit, message: `NDC unit ${d.unit} is not F2, GR, ME, ML or UN` });
      });
    },
  },
  {
    id: 'ndc-required', location: '2410 LIN03', title: 'NDC on drug codes', level: 'line', severity: 'warning', carc: '16', claimTypes: BOTH, params: { prefixes: ['J'] },
    source: 'Payer policy (Medicaid drug rebate; many commercial payers)',
    description: 'Lines billing a drug HCPCS code (J codes by default; the prefixes are a parameter) carry the NDC dispensed.',
    check(ctx, emit) {
      const prefixes = list(ctx.params, 'prefixes');
      eachLine(ctx, (line, n) => {
        const code = line.procedureCode;
        if (code && !line.drug && startsWithAny(code, prefixes)) emit({ line: n, loop: '2410 LIN03', value: code, message: `${code} is a drug code: send the NDC dispensed (FT1-29 or the chargemaster)` });
      });
    },
  },

  // ---------------- providers, place, required data ----------------
  {
    id: 'npi-valid', location: '2010AA, 2310A-F NM1-09', title: 'NPI check digit', level: 'claim', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'CMS NPI standard (Luhn check digit over 80840 + the first 9 digits)',
    description: 'Billing, rendering, referring, attending, operating and service facility NPIs are 10 digits with a valid check digit; the billing provider must have one.',
    check(ctx, emit) {
      for (const { role, loop, p } of providers(ctx)) {
        if (!p) continue;
        if (!p.npi) {
          if (role === 'billing') emit({ loop, message: 'the billing provider has no NPI' });
          continue;
        }
        if (!validNpi(p.npi)) emit({ loop, value: p.npi, message: `${role} provider NPI ${p.npi} fails the check digit: it is mistyped` });
      }
    },
  },
  {
    id: 'taxonomy-present', location: '2000A PRV-03; 2310 PRV-03', title: 'Provider taxonomy present', level: 'claim', severity: 'warning', carc: '16', claimTypes: BOTH, params: { roles: ['billing'] },
    source: 'X12 837 TR3 (PRV, required when the payer adjudicates by taxonomy); NUCC taxonomy format',
    description: 'The providers named in the roles parameter (billing by default; rendering, attending) carry a 10-character NUCC taxonomy code.',
    check(ctx, emit) {
      const roles = list(ctx.params, 'roles');
      for (const { role, loop, p } of providers(ctx)) {
        if (!p || !roles.includes(role)) continue;
        const prv = loop.replace(/NM1-09$/, 'PRV-03');
        if (!p.taxonomy) emit({ loop: prv, message: `the ${role} provider has no taxonomy code` });
        else if (!/^[0-9A-Z]{9}X$/.test(p.taxonomy)) emit({ loop: prv, value: p.taxonomy, message: `${role} taxonomy ${p.taxonomy} is not a 10-character NUCC code` });
      }
    },
  },
  {
    id: 'pos-valid', location: '2300 CLM05-1; 2400 SV105', title: 'Place of service valid', level: 'claim', severity: 'error', carc: '5', claimTypes: PROFESSIONAL, params: {},
    source: 'CMS place of service code set',
    description: 'A professional claim has an assigned CMS place-of-service code (CLM05-1, and SV105 where a line differs).',
    check(ctx, emit) {
      const claimPos = ctx.claim.placeOfService;
      if (!claimPos) emit({ loop: '2300 CLM05-1', message: 'no place of service: set the facility\'s placeOfService in the practice setup' });
      else if (!ctx.codes.placeOfService(claimPos)?.assigned) emit({ loop: '2300 CLM05-1', value: claimPos, message: `place of service ${claimPos} is not an assigned CMS code` });
      eachLine(ctx, (line, n) => {
        const pos = line.placeOfService;
        if (pos && !ctx.codes.placeOfService(pos)?.assigned) emit({ line: n, loop: '2400 SV105', value: pos, message: `place of service ${pos} is not an assigned CMS code` });
      });
    },
  },
  {
    id: 'pos-suitable', location: '2300 CLM05-1; 2400 SV105', title: 'Place of service suits the service', level: 'line', severity: 'warning', carc: '5', claimTypes: PROFESSIONAL, params: {},
    source: 'CPT E/M code families and the CMS place-of-service definitions',
    description: 'Office visits (99202-99215) are not billed with a facility place of service, hospital care (99221-99239) with an inpatient or observation setting, ED visits (99281-99285) with 23, nursing facility care (99304-99316) with 31/32, home visits (99341-99350) with a home setting.',
    check(ctx, emit) {
      eachLine(ctx, (line, n) => {
        const code = line.procedureCode;
        const pos = line.placeOfService ?? ctx.claim.placeOfService;
        if (!code || !pos || !/^\d{5}$/.test(code)) return;
        const v = Number(code);
        for (const f of POS_FAMILIES) {
          if (v < f.from || v > f.to) continue;
          if ((f.allowed && !f.allowed.includes(pos)) || f.notAllowed?.includes(pos)) {
            emit({ line: n, loop: line.placeOfService ? '2400 SV105' : '2300 CLM05-1', value: pos, message: `${code} is ${f.name}; place of service ${pos} (${ctx.codes.placeOfService(pos)?.name ?? 'unknown'}) does not fit it` });
          }
        }
      });
    },
  },
  {
    id: 'required-fields', location: '2010BA NM1-09, 2010BB NM1-09, DMG-02, 2010AA N4-03 and REF-02', title: 'Required claim data present', level: 'claim', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'X12 837 TR3 required elements; payer enrollment',
    description: 'Member id (2010BA NM1-09), payer id (2010BB NM1-09), the patient\'s birth date (DMG-02), the billing provider\'s address with a 9-digit ZIP (ZIP+4, N403) and its TIN (REF*EI/SY, 9 digits).',
    check(ctx, emit) {
      const c = ctx.claim;
      if (!c.subscriber.memberId) emit({ loop: '2010BA NM1-09', message: 'no member id (IN1-36)', carc: '31' });
      if (!c.payer.id) emit({ loop: '2010BB NM1-09', message: 'no payer id: set the payer\'s payerId in the practice setup' });
      const birth = c.patient ? c.patient.birthDate : c.subscriber.birthDate;
      if (!birth) emit({ loop: c.patient ? '2010CA DMG-02' : '2010BA DMG-02', message: 'no birth date for the patient (PID-7)' });
      const zip = c.billingProvider.address.zip.replace('-', '');
      if (!/^\d{9}$/.test(zip)) emit({ loop: '2010AA N4-03', value: c.billingProvider.address.zip, message: 'the billing provider\'s ZIP must be 9 digits (ZIP+4)' });
      if (!/^\d{9}$/.test(c.billingProvider.taxId.replace('-', ''))) emit({ loop: '2010AA REF-02', message: 'the billing provider\'s TIN must be 9 digits' });
    },
  },
  {
    id: 'duplicate-lines', location: '2400 SV101-2 / SV202-2', title: 'No duplicate lines', level: 'line', severity: 'error', carc: '18', claimTypes: BOTH, params: {},
    source: 'Payer duplicate-claim edits (same patient, date, code and modifiers)',
    description: 'Two lines with the same patient, date of service, code and modifiers, on this claim or on another live claim (not cancelled, replaced or rejected), are a duplicate payers deny. Bill units on one line, or add the modifier that tells them apart (76, 77, 91, 59).',
    check(ctx, emit) {
      const seen = new Map<string, number>();
      const key = (date: string, code: string, mods: readonly string[]): string =>
        mods.length === 0 ? `${date}|${code}` : mods.length === 1 ? `${date}|${code}|${mods[0] as string}` : `${date}|${code}|${[...mods].sort().join(',')}`;
      let others: Map<string, string> | undefined;
      for (const o of ctx.otherLines ?? []) (others ??= new Map()).set(key(o.serviceDate, o.procedureCode, o.modifiers), o.claimId);
      eachLine(ctx, (line, n) => {
        const code = line.procedureCode ?? line.revenueCode;
        if (!code) return;
        const k = key(line.serviceDate, code, line.modifiers);
        const first = seen.get(k);
        if (first !== undefined) emit({ line: n, loop: procElement(ctx), value: code, message: `line ${n} repeats line ${first}: ${code} on ${line.serviceDate} with the same modifiers` });
        else seen.set(k, n);
        const other = line.procedureCode ? others?.get(k) : undefined;
        if (other !== undefined) emit({ line: n, loop: procElement(ctx), value: code, message: `${code} on ${line.serviceDate} with the same modifiers is already billed on claim ${other}` });
      });
    },
  },
  {
    id: 'timely-filing', location: '2300 CLM; 2400 DTP*472', title: 'Within the payer\'s timely-filing limit', level: 'claim', severity: 'error', carc: '29', claimTypes: BOTH, params: { days: 365, warnDays: 30 }, limits: { days: [1, 3650], warnDays: [0, 365] },
    source: 'Payer contract (Medicare: 12 months from the date of service, 42 CFR 424.44)',
    description: 'Days from the end of service to today within the payer\'s limit (days parameter, 365 by default); a warning within warnDays of the limit.',
    check(ctx, emit) {
      const to = serviceSpan(ctx.claim).to;
      if (to === '') return;
      const limit = num(ctx.params, 'days', 365);
      const warn = num(ctx.params, 'warnDays', 30);
      const age = daysBetween(to, ctx.today);
      if (age > limit) emit({ loop: '2300 CLM', value: to, message: `services ended ${to}, ${age} days ago: past the payer's ${limit}-day filing limit` });
      else if (age > limit - warn) emit({ loop: '2300 CLM', value: to, severity: 'warning', message: `services ended ${to}: ${limit - age} days left of the payer's ${limit}-day filing limit` });
    },
  },
  {
    id: 'frequency-valid', location: '2300 CLM05-3', title: 'Claim frequency code valid for the claim type', level: 'claim', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'X12 837 TR3 (CLM05-3); NUBC claim frequency codes',
    description: 'A professional claim is 1 (original), 7 (replacement) or 8 (void); an institutional one uses a NUBC frequency code valid on the 837I.',
    check(ctx, emit) {
      const f = ctx.claim.frequency;
      const e = ctx.codes.claimFrequency(f);
      const ok = ctx.claim.type === 'professional' ? ['1', '7', '8'].includes(f) : e?.institutional === true;
      if (!ok) emit({ loop: '2300 CLM05-3', value: f, message: `claim frequency ${f} is not valid on ${ctx.claim.type === 'professional' ? 'an 837P (1, 7 or 8)' : 'an 837I'}` });
    },
  },
  {
    id: 'frequency-payer-claim-number', location: '2300 REF*F8', title: 'Replacement or void names the payer\'s claim number', level: 'claim', severity: 'error', carc: '16', claimTypes: BOTH, params: {},
    source: 'X12 837 TR3 (REF*F8 required when CLM05-3 is 7 or 8)',
    description: 'A replacement (7) or void (8) carries the payer claim control number of the claim it corrects (REF*F8), from the 277CA or the 835.',
    check(ctx, emit) {
      const f = ctx.claim.frequency;
      if ((f === '7' || f === '8') && !ctx.claim.payerClaimControlNumber) emit({ loop: '2300 REF*F8 REF-02', value: f, message: `a frequency ${f} claim needs the payer's claim number of the original (REF*F8); none was received for it` });
    },
  },
  {
    id: 'revenue-code-valid', location: '2400 SV201', title: 'Revenue code valid', level: 'line', severity: 'error', carc: '16', claimTypes: INSTITUTIONAL, params: {},
    source: 'NUBC UB-04 revenue codes (CMS wording)',
    description: 'Each institutional line carries a 4-digit UB-04 revenue code from the code set.',
    check(ctx, emit) {
      eachLine(ctx, (line, n) => {
        if (!line.revenueCode) emit({ line: n, loop: '2400 SV201', message: 'no revenue code (chargemaster revenueCode)' });
        else if (ctx.codes.revenueCode(line.revenueCode) === undefined) emit({ line: n, loop: '2400 SV201', value: line.revenueCode, message: `revenue code ${line.revenueCode} is not a UB-04 revenue code` });
      });
    },
  },

  {
    id: 'pcs-code-valid', location: '2300 HI (BBR principal procedure, BBQ other procedures)', title: 'ICD-10-PCS procedure code valid on its date', level: 'claim', severity: 'error', carc: '181', claimTypes: INSTITUTIONAL, params: {},
    source: 'CMS ICD-10-PCS order file FY2026; FY2027 addenda (the FY2027 list shipped is partial)',
    description: 'Each inpatient procedure is a complete 7-character ICD-10-PCS code of the fiscal year of its date (not a 3-character table header). The shipped FY2027 list lacks CMS\'s April 2026 additions: a code missing from it is a warning, not an error, until CMS\'s complete file is loaded (`hl7-claims codesets import icd10pcs FILE --label FY2027`). A date past the newest loaded year is checked against that year, with a warning.',
    check(ctx, emit) {
      const procedures = ctx.claim.institutional?.procedures ?? [];
      procedures.forEach((p, i) => {
        const r = ctx.codes.pcs(p.code, p.date);
        const loop = i === 0 ? '2300 HI01-2 (BBR principal procedure)' : `2300 HI (BBQ other procedure) #${i}`;
        if (r.checkedYear !== r.fiscalYear) emit({ loop, value: `FY${r.fiscalYear}`, severity: 'warning', message: `ICD-10-PCS FY${r.fiscalYear} is not loaded: ${p.code} (${p.date}) was checked against FY${r.checkedYear}` });
        if (r.status === 'header') emit({ loop, value: p.code, message: `${p.code} is an ICD-10-PCS table, not a complete 7-character code` });
        else if (r.status !== 'billable') {
          emit({
            loop, value: p.code, severity: r.partial ? 'warning' : undefined,
            message: r.partial
              ? `${p.code} is not in the FY${r.checkedYear} ICD-10-PCS list loaded, which is incomplete: check the code`
              : `${p.code} is not an ICD-10-PCS code in FY${r.checkedYear} (procedure date ${p.date})`,
          });
        }
      });
    },
  },
  {
    id: 'institutional-codes-valid', location: '2300 CL101, CL102, CL103', title: 'Admission type, point of origin and discharge status valid', level: 'claim', severity: 'error', carc: '16', claimTypes: INSTITUTIONAL, params: {},
    source: 'NUBC UB-04 code sets (CMS wording): priority of admission, point of origin, patient discharge status',
    description: 'The priority (type) of admission and the point of origin, when sent, and the patient discharge status are assigned codes of their UB-04 sets (not "reserved for national assignment").',
    check(ctx, emit) {
      const inst = ctx.claim.institutional;
      if (!inst) return;
      if (inst.admissionType && !ctx.codes.ub04('admission_type', inst.admissionType)?.assigned) emit({ loop: '2300 CL101', value: inst.admissionType, message: `admission type ${inst.admissionType} is not an assigned UB-04 priority of admission code (PV1-4)` });
      if (inst.admissionSource && !ctx.codes.ub04('admission_source', inst.admissionSource)?.assigned) emit({ loop: '2300 CL102', value: inst.admissionSource, message: `point of origin ${inst.admissionSource} is not an assigned UB-04 code (PV1-14)` });
      if (!ctx.codes.ub04('discharge_status', inst.dischargeStatus)?.assigned) emit({ loop: '2300 CL103', value: inst.dischargeStatus, message: `patient discharge status ${inst.dischargeStatus} is not an assigned UB-04 code (PV1-36)` });
    },
  },

  // ---------------- customer-loaded edits ----------------
  {
    id: 'ncci-pair', location: '2400 SV101-2 and modifiers', title: 'NCCI procedure-to-procedure pairs', level: 'line', severity: 'error', carc: '97', claimTypes: BOTH, params: {},
    source: 'CMS NCCI PTP edits (loaded by the customer: hl7-claims codesets import ncci FILE)',
    description: 'Two codes on the same date that form an NCCI pair in effect: the column 2 code is bundled into column 1. Modifier indicator 0: never billed together; 1: allowed with an NCCI-associated modifier (59, XE/XS/XP/XU, anatomic, 24/25/57/58/78/79/91) on either code; 9: not an edit.',
    check(ctx, emit) {
      if (!ctx.codes.hasNcci) return;
      const lines = ctx.claim.lines;
      for (let i = 0; i < lines.length; i++) {
        for (let j = 0; j < lines.length; j++) {
          const a = lines[i] as ServiceLine;
          const b = lines[j] as ServiceLine;
          if (i === j || !a.procedureCode || !b.procedureCode || a.serviceDate !== b.serviceDate) continue;
          const pair = ctx.codes.ncci(a.procedureCode, b.procedureCode, a.serviceDate);
          if (!pair || pair.modifierIndicator === '9') continue;
          const bypass = [...a.modifiers, ...b.modifiers].some((m) => NCCI_BYPASS.has(m));
          if (pair.modifierIndicator === '0') emit({ line: j + 1, loop: procElement(ctx), value: b.procedureCode, message: `${b.procedureCode} is bundled into ${a.procedureCode} (line ${i + 1}) on ${a.serviceDate}: NCCI modifier indicator 0, never billed together` });
          else if (!bypass) emit({ line: j + 1, loop: procElement(ctx), value: b.procedureCode, message: `${b.procedureCode} is bundled into ${a.procedureCode} (line ${i + 1}) on ${a.serviceDate}: bill it only when distinct, with an NCCI modifier (59, XE, XS, XP, XU, anatomic)` });
        }
      }
    },
  },
  {
    id: 'mue-units', location: '2400 SV104 / SV205', title: 'Units within the MUE limit', level: 'line', severity: 'error', carc: '151', claimTypes: BOTH, params: {},
    source: 'CMS Medically Unlikely Edits (loaded by the customer: hl7-claims codesets import mue FILE)',
    description: 'Units of a code on one date of service within its MUE value (adjudication indicator 1: per line; 2 and 3: per day, summed over the claim\'s lines).',
    check(ctx, emit) {
      if (!ctx.codes.hasMue) return;
      const perDay = new Map<string, { units: number; line: number }>();
      eachLine(ctx, (line, n) => {
        const code = line.procedureCode;
        const mue = code ? ctx.codes.mue(code) : undefined;
        if (!code || !mue) return;
        const units = Number(line.quantity);
        if (mue.indicator === '1') {
          if (units > mue.limit) emit({ line: n, loop: svc(ctx, ctx.claim.type === 'professional' ? '04' : '05'), value: line.quantity, message: `${units} units of ${code} on one line; the MUE is ${mue.limit}` });
          return;
        }
        const k = `${code}|${line.serviceDate}`;
        const acc = perDay.get(k) ?? { units: 0, line: n };
        acc.units += units;
        perDay.set(k, acc);
        if (acc.units > mue.limit && acc.units - units <= mue.limit) emit({ line: n, loop: svc(ctx, ctx.claim.type === 'professional' ? '04' : '05'), value: line.quantity, message: `${acc.units} units of ${code} on ${line.serviceDate}; the MUE is ${mue.limit} per day` });
      });
    },
  },
  PAYER_HISTORY,
];

export const RULES_BY_ID: ReadonlyMap<string, Rule> = new Map(RULES.map((r) => [r.id, r]));
