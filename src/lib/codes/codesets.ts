/**
 * The code sets in memory, for lookups by code and date of service: ICD-10-CM by fiscal year,
 * HCPCS Level II with its dates, the physician fee schedule indicators by calendar year,
 * modifiers, place of service, revenue codes, MCE edits, claim frequency codes, CARC wording, and
 * (when a customer loads them) NCCI procedure-to-procedure pairs and MUE limits.
 *
 * Built from the files shipped in `data/` (see data/SOURCES.md) and from the sets imported later
 * (`hl7-claims codesets import`), which are added on top: a newer fiscal year, a newer quarter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type ImportKind, type ParsedCodeSet } from './kinds';
import { CodeSetFileError, cell, columns, readTable } from './tables';

/** ICD-10-CM fiscal year N runs from 1 October N-1 to 30 September N. */
export function fiscalYearOf(isoDate: string): number {
  const y = Number(isoDate.slice(0, 4));
  const m = Number(isoDate.slice(5, 7));
  return m >= 10 ? y + 1 : y;
}

/** ICD-10 started in FY2016: bit 0 is FY2015, so 32-bit masks reach FY2046. */
const FY_BASE = 2015;
const bit = (fy: number): number => 1 << (fy - FY_BASE);

/** The year itself when loaded; else the newest loaded for a later year, the oldest for an earlier one. */
function nearestYear(years: readonly number[], fiscalYear: number): number {
  if (years.length === 0 || years.includes(fiscalYear)) return fiscalYear;
  const newest = years[years.length - 1] as number;
  return fiscalYear > newest ? newest : (years[0] as number);
}

/**
 * Puts one fiscal year of (code, billable, title) rows into a code map (a year loaded again
 * replaces the earlier load of it) and returns the new mask of loaded years. The newest year's
 * title wins.
 */
function applyYear(codes: Map<string, IcdEntry>, loaded: number, fiscalYear: number, rows: readonly string[][]): number {
  const b = bit(fiscalYear);
  if (loaded & b) {
    for (const e of codes.values()) {
      e.present &= ~b;
      e.billable &= ~b;
    }
  }
  for (const [code, billable, description] of rows) {
    let e = codes.get(code as string);
    if (!e) codes.set(code as string, (e = { description: description ?? '', present: 0, billable: 0 }));
    else if (description && e.present >>> (fiscalYear - FY_BASE + 1) === 0) e.description = description;
    e.present |= b;
    if (billable === '1') e.billable |= b;
  }
  return loaded | b;
}

interface IcdEntry {
  description: string;
  /** Fiscal years the code is in, and those in which it is billable (bit per year). */
  present: number;
  billable: number;
}

export interface IcdLookup {
  /** billable; header (a category, not billable); not_in_year (exists in other years only); unknown. */
  status: 'billable' | 'header' | 'not_in_year' | 'unknown';
  /** The fiscal year of the date of service. */
  fiscalYear: number;
  /** The year checked: the date's, or the nearest loaded one when that year is not loaded. */
  checkedYear: number;
  description: string | undefined;
  /** Loaded years in which the code is billable (for messages). */
  billableYears: number[];
}

export interface HcpcsEntry {
  description: string;
  added: string;
  terminated: string;
  coverage: string;
}

/** Physician fee schedule indicators of one code (and modifier) in one calendar year. */
export interface FeeScheduleEntry {
  status: string;
  pctc: string;
  globalDays: string;
  multipleProcedure: string;
  bilateral: string;
  assistant: string;
  coSurgeon: string;
  team: string;
}

export interface FeeScheduleLookup {
  entry: FeeScheduleEntry | undefined;
  /** The fee-schedule year used (the newest loaded not after the date's year). */
  year: number | undefined;
  /** The calendar year of the date of service. */
  dateYear: number;
}

export interface ModifierEntry {
  level: string;
  description: string;
  added: string;
  terminated: string;
}

/** A CARC or RARC: its wording and whether X12/CMS still list it as current. */
export interface AdjustmentCode {
  description: string;
  status: 'current' | 'deactivated';
}

export interface NcciPair {
  effective: string;
  deleted: string;
  modifierIndicator: '0' | '1' | '9';
}

/** Where an imported set came from, for `GET /api/codesets` and the scrubber's messages. */
export interface LoadedSet {
  kind: ImportKind | 'pos' | 'revenue' | 'ub04' | 'mce' | 'frequency';
  label: string;
  rows: number;
  source: 'shipped' | 'imported';
}

export class CodeSets {
  private readonly icd = new Map<string, IcdEntry>();
  private icdYearMask = 0;
  private readonly hcpcsCodes = new Map<string, HcpcsEntry>();
  private readonly pfsByYear = new Map<number, Map<string, FeeScheduleEntry>>();
  private readonly modifierCodes = new Map<string, ModifierEntry>();
  private readonly posCodes = new Map<string, { name: string; assigned: boolean }>();
  private readonly revenueCodes = new Map<string, string>();
  private readonly mceEdits = new Map<string, Set<string>>();
  private readonly frequencies = new Map<string, { description: string; professional: boolean; institutional: boolean }>();
  /** CARC and RARC wording and status. */
  readonly adjustment = new AdjustmentCodeSets();
  private readonly pcsCodes = new Map<string, IcdEntry>();
  private pcsYearMask = 0;
  private pcsPartialMask = 0;
  private pcsYears: number[] = [];
  private readonly ub04Codes = new Map<string, { description: string; assigned: boolean }>();
  private readonly ncciPairs = new Map<string, NcciPair[]>();
  private readonly mueLimits = new Map<string, { limit: number; indicator: string }>();
  readonly sets: LoadedSet[] = [];

  // ---- ICD-10-CM ----

  /** Fiscal years loaded, oldest first. */
  icdYears: readonly number[] = [];
  /** All ICD-10-CM codes in order (built on first use after a load), for prefix look-ups. */
  private icdSorted: string[] | undefined;

  icd10cm(code: string, dateOfService: string): IcdLookup {
    const fiscalYear = fiscalYearOf(dateOfService);
    const years = this.icdYears;
    // A date past the newest loaded year is checked against the newest (the caller warns about it);
    // one before the oldest against the oldest.
    const checkedYear = nearestYear(years, fiscalYear);
    const e = this.icd.get(code.includes('.') ? code.replace('.', '').toUpperCase() : code.toUpperCase());
    if (!e) return { status: 'unknown', fiscalYear, checkedYear, description: undefined, billableYears: [] };
    const status = e.billable & bit(checkedYear) ? 'billable' : e.present & bit(checkedYear) ? 'header' : 'not_in_year';
    // The years are listed only for the messages of codes that are not billable on the date.
    return { status, fiscalYear, checkedYear, description: e.description, billableYears: status === 'billable' ? [] : years.filter((y) => e.billable & bit(y)) };
  }

  /** Billable codes that begin with `prefix` in a fiscal year (to suggest E119 for E11), at most `max`, in code order. */
  icdChildren(prefix: string, fiscalYear: number, max = 5): string[] {
    const sorted = (this.icdSorted ??= [...this.icd.keys()].sort());
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    const b = bit(fiscalYear);
    for (let i = lo; i < sorted.length && out.length < max; i++) {
      const code = sorted[i] as string;
      if (!code.startsWith(prefix)) break;
      if (code.length > prefix.length && (this.icd.get(code)?.billable ?? 0) & b) out.push(code);
    }
    return out;
  }

  addIcdYear(fiscalYear: number, rows: readonly string[][], source: LoadedSet['source']): void {
    this.icdYearMask = applyYear(this.icd, this.icdYearMask, fiscalYear, rows);
    this.icdYears = Array.from({ length: 32 }, (_, i) => FY_BASE + i).filter((fy) => this.icdYearMask & bit(fy));
    this.icdSorted = undefined;
    this.sets.push({ kind: 'icd10cm', label: `FY${fiscalYear}`, rows: rows.length, source });
  }

  // ---- ICD-10-PCS (inpatient procedures) ----

  /**
   * An ICD-10-PCS code on a date: by the fiscal year of the date (the newest loaded when the year
   * is not). `partial`: that year's list is known to be incomplete, so an unknown code may be valid.
   */
  pcs(code: string, dateOfService: string): { status: 'billable' | 'header' | 'not_in_year' | 'unknown'; fiscalYear: number; checkedYear: number; partial: boolean; description: string | undefined } {
    const fiscalYear = fiscalYearOf(dateOfService);
    const years = this.pcsYears;
    const checkedYear = nearestYear(years, fiscalYear);
    const partial = (this.pcsPartialMask & bit(checkedYear)) !== 0;
    const e = this.pcsCodes.get(code.toUpperCase());
    if (!e) return { status: 'unknown', fiscalYear, checkedYear, partial, description: undefined };
    const status = e.billable & bit(checkedYear) ? 'billable' : e.present & bit(checkedYear) ? 'header' : 'not_in_year';
    return { status, fiscalYear, checkedYear, partial, description: e.description };
  }

  /** Adds (or replaces) one fiscal year of ICD-10-PCS codes; `partial`: the year's list is known to be incomplete. */
  addPcsYear(fiscalYear: number, rows: readonly string[][], partial: boolean, source: LoadedSet['source']): void {
    this.pcsYearMask = applyYear(this.pcsCodes, this.pcsYearMask, fiscalYear, rows);
    this.pcsYears = Array.from({ length: 32 }, (_, i) => FY_BASE + i).filter((fy) => this.pcsYearMask & bit(fy));
    const b = bit(fiscalYear);
    this.pcsPartialMask = partial ? this.pcsPartialMask | b : this.pcsPartialMask & ~b;
    this.sets.push({ kind: 'icd10pcs', label: `FY${fiscalYear}${partial ? ' (partial)' : ''}`, rows: rows.length, source });
  }

  /** UB-04 codes: discharge_status (CL103), admission_type (CL101), admission_source (CL102). */
  ub04(kind: 'discharge_status' | 'admission_type' | 'admission_source', code: string): { description: string; assigned: boolean } | undefined {
    return this.ub04Codes.get(`${kind}|${code}`);
  }

  // ---- HCPCS, fee schedule, modifiers ----

  hcpcs(code: string): HcpcsEntry | undefined {
    return this.hcpcsCodes.get(code.toUpperCase());
  }

  /** The newest HCPCS release loaded (2026-01). */
  hcpcsRelease: string | undefined;

  /**
   * The fee-schedule indicators of a code for the calendar year of the date of service (the
   * newest loaded year not after it, else the oldest), with the year used.
   */
  feeSchedule(code: string, modifier: string, dateOfService: string): FeeScheduleLookup {
    const dateYear = Number(dateOfService.slice(0, 4));
    const years = this.pfsYears;
    let year = years[0];
    for (const y of years) if (y <= dateYear) year = y;
    const table = year === undefined ? undefined : this.pfsByYear.get(year);
    // Rows without a modifier are keyed by the code alone (the common look-up makes no string).
    return { entry: table?.get(modifier === '' ? code : `${code}|${modifier}`) ?? (modifier === '' && code !== code.toUpperCase() ? table?.get(code.toUpperCase()) : undefined), year, dateYear };
  }

  /** Fee-schedule years loaded, oldest first. */
  private pfsYears: number[] = [];

  modifier(code: string): ModifierEntry | undefined {
    return this.modifierCodes.get(code.toUpperCase());
  }

  // ---- small tables ----

  placeOfService(code: string): { name: string; assigned: boolean } | undefined {
    return this.posCodes.get(code);
  }

  revenueCode(code: string): string | undefined {
    return this.revenueCodes.get(code);
  }

  /** The MCE edits a diagnosis is listed under (age_perinatal, age_pediatric, age_maternity, age_adult, ...). */
  mce(code: string): ReadonlySet<string> | undefined {
    return this.mceEdits.get(code);
  }

  claimFrequency(code: string): { description: string; professional: boolean; institutional: boolean } | undefined {
    return this.frequencies.get(code);
  }

  carc(code: string): string | undefined {
    return this.adjustment.carcInfo(code)?.description;
  }

  /** A claim adjustment reason code with its status; undefined when the loaded lists do not know it. */
  carcInfo(code: string): AdjustmentCode | undefined {
    return this.adjustment.carcInfo(code);
  }

  /** A remittance advice remark code with its status; undefined when the loaded lists do not know it. */
  rarcInfo(code: string): AdjustmentCode | undefined {
    return this.adjustment.rarcInfo(code);
  }

  // ---- customer-loaded edits ----

  get hasNcci(): boolean {
    return this.ncciPairs.size > 0;
  }

  get hasMue(): boolean {
    return this.mueLimits.size > 0;
  }

  /** The NCCI pair (column 1, column 2) in effect on a date, if any. */
  ncci(column1: string, column2: string, dateOfService: string): NcciPair | undefined {
    return this.ncciPairs.get(`${column1}|${column2}`)?.find((p) => p.effective <= dateOfService && (p.deleted === '' || dateOfService <= p.deleted));
  }

  mue(code: string): { limit: number; indicator: string } | undefined {
    return this.mueLimits.get(code);
  }

  // ---- loading ----

  /** Adds an imported (or shipped) set of one of the importable kinds. */
  add(set: ParsedCodeSet, source: LoadedSet['source']): void {
    switch (set.kind) {
      case 'icd10cm':
        this.addIcdYear(Number(set.label.slice(2)), set.rows, source);
        return;
      case 'icd10pcs':
        // A year imported from CMS's order file is complete.
        this.addPcsYear(Number(set.label.slice(2)), set.rows, false, source);
        return;
      case 'hcpcs':
        for (const [code, description, added, terminated, coverage] of set.rows) {
          this.hcpcsCodes.set(code as string, { description: description ?? '', added: added ?? '', terminated: terminated ?? '', coverage: coverage ?? '' });
        }
        if (this.hcpcsRelease === undefined || set.label > this.hcpcsRelease) this.hcpcsRelease = set.label;
        break;
      case 'pfs': {
        const year = Number(set.label.slice(2));
        const table = new Map<string, FeeScheduleEntry>();
        for (const [code, modifier, status, pctc, globalDays, mult, bilateral, assistant, coSurgeon, team] of set.rows) {
          table.set(modifier ? `${code as string}|${modifier}` : (code as string), {
            status: status ?? '', pctc: pctc ?? '', globalDays: globalDays ?? '', multipleProcedure: mult ?? '', bilateral: bilateral ?? '', assistant: assistant ?? '', coSurgeon: coSurgeon ?? '', team: team ?? '',
          });
        }
        this.pfsByYear.set(year, table);
        this.pfsYears = [...this.pfsByYear.keys()].sort((a, b) => a - b);
        break;
      }
      case 'modifiers':
        for (const [code, level, description, added, terminated] of set.rows) {
          this.modifierCodes.set(code as string, { level: level ?? '', description: description ?? '', added: added ?? '', terminated: terminated ?? '' });
        }
        break;
      case 'ncci':
        // A customer's newer file replaces the pairs it lists (CMS files are complete per quarter).
        this.ncciPairs.clear();
        for (const [c1, c2, effective, deleted, mi] of set.rows) {
          const key = `${c1 as string}|${c2 as string}`;
          const list = this.ncciPairs.get(key) ?? [];
          list.push({ effective: effective ?? '', deleted: deleted ?? '', modifierIndicator: mi as NcciPair['modifierIndicator'] });
          this.ncciPairs.set(key, list);
        }
        break;
      case 'mue':
        this.mueLimits.clear();
        for (const [code, limit, indicator] of set.rows) this.mueLimits.set(code as string, { limit: Number(limit), indicator: indicator ?? '' });
        break;
      case 'carc':
      case 'rarc':
        this.adjustment.add(set);
        break;
    }
    this.sets.push({ kind: set.kind, label: set.label, rows: set.rows.length, source });
  }

  /** Loads the shipped files from `dir` (data/ beside this module by default). */
  static shipped(dir = shippedDataDir()): CodeSets {
    const cs = new CodeSets();
    const read = (name: string): string => {
      const buf = readFileSync(join(dir, name));
      return (name.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
    };
    const table = (name: string, isHeader: (k: string[]) => boolean): ReturnType<typeof readTable> => readTable(read(name), isHeader, name);

    // ICD-10-CM: one row per code, a column per fiscal year ('1' billable, '0' header, '' absent).
    const icd = table('icd10cm.tsv.gz', (k) => k[0] === 'code');
    const yearColumns = icd.header.map((h, i) => [i, /^FY(\d{4})$/.exec(h)?.[1]] as const).filter(([, y]) => y !== undefined);
    for (const [col, year] of yearColumns) {
      const rows: string[][] = [];
      for (const r of icd.rows) {
        const flag = r.cells[col] ?? '';
        if (flag !== '') rows.push([r.cells[0] as string, flag, r.cells[1] ?? '']);
      }
      cs.addIcdYear(Number(year), rows, 'shipped');
    }
    // ICD-10-PCS: the same layout; a year column marked "partial" is known to be incomplete.
    const pcs = table('icd10pcs.tsv.gz', (k) => k[0] === 'code');
    pcs.header.forEach((h, col) => {
      const m = /^FY(\d{4})( partial)?$/.exec(h);
      if (!m) return;
      const rows: string[][] = [];
      for (const r of pcs.rows) {
        const flag = r.cells[col] ?? '';
        if (flag !== '') rows.push([r.cells[0] as string, flag, r.cells[1] ?? '']);
      }
      cs.addPcsYear(Number(m[1]), rows, m[2] !== undefined, 'shipped');
    });

    const rowsOf = (name: string): string[][] => table(name, (k) => k[0] === 'code').rows.map((r) => r.cells);
    cs.add({ kind: 'hcpcs', label: '2026-01', rows: rowsOf('hcpcs.tsv.gz') }, 'shipped');
    cs.add({ kind: 'pfs', label: 'CY2025', rows: rowsOf('pfs.tsv.gz') }, 'shipped');
    cs.add({ kind: 'modifiers', label: 'HCPCS 2026-01 and CPT', rows: rowsOf('modifiers.tsv') }, 'shipped');

    const pos = table('place_of_service.tsv', (k) => k[0] === 'code');
    const pc = columns(pos, { code: (k) => k === 'code', name: (k) => k === 'name', assigned: (k) => k === 'assigned' }, [], 'place_of_service.tsv');
    for (const r of pos.rows) cs.posCodes.set(cell(r.cells, pc.code), { name: cell(r.cells, pc.name), assigned: cell(r.cells, pc.assigned) === '1' });
    cs.sets.push({ kind: 'pos', label: 'CMS', rows: pos.rows.length, source: 'shipped' });

    for (const [code, description] of rowsOf('revenue_codes.tsv')) cs.revenueCodes.set(code as string, description ?? '');
    cs.sets.push({ kind: 'revenue', label: 'NUBC via CMS', rows: cs.revenueCodes.size, source: 'shipped' });

    const mce = table('mce_edits.tsv', (k) => k[0] === 'edit');
    for (const [edit, code] of mce.rows.map((r) => r.cells)) {
      const set = cs.mceEdits.get(code as string) ?? new Set<string>();
      set.add(edit as string);
      cs.mceEdits.set(code as string, set);
    }
    cs.sets.push({ kind: 'mce', label: 'v43.1', rows: mce.rows.length, source: 'shipped' });

    for (const [code, description, p, i] of rowsOf('claim_frequency.tsv')) cs.frequencies.set(code as string, { description: description ?? '', professional: p === 'Y', institutional: i === 'Y' });
    cs.sets.push({ kind: 'frequency', label: 'X12/NUBC', rows: cs.frequencies.size, source: 'shipped' });

    const ub04 = table('ub04_codes.tsv', (k) => k[0] === 'kind');
    for (const [kind, code, description, assigned] of ub04.rows.map((r) => r.cells)) cs.ub04Codes.set(`${kind as string}|${code as string}`, { description: description ?? '', assigned: assigned === '1' });
    cs.sets.push({ kind: 'ub04', label: 'NUBC via CMS', rows: ub04.rows.length, source: 'shipped' });

    for (const set of AdjustmentCodeSets.shippedSets(dir)) cs.add(set, 'shipped');
    return cs;
  }
}

/**
 * Claim adjustment reason codes (CARC) and remittance advice remark codes (RARC) with their
 * status: the shipped lists, updated by imported ones (a newer list updates the codes it lists;
 * codes it leaves out are kept, since old remittances still carry them).
 */
export class AdjustmentCodeSets {
  private readonly carcs = new Map<string, AdjustmentCode>();
  private readonly rarcs = new Map<string, AdjustmentCode>();

  carcInfo(code: string): AdjustmentCode | undefined {
    return this.carcs.get(code);
  }

  rarcInfo(code: string): AdjustmentCode | undefined {
    return this.rarcs.get(code);
  }

  /** A CARC or RARC as pages show it: its wording and X12 status, or 'unknown code'. */
  words(kind: 'carc' | 'rarc', code: string): { text: string; status: string } {
    const info = kind === 'carc' ? this.carcs.get(code) : this.rarcs.get(code);
    return info ? { text: info.description, status: info.status } : { text: 'unknown code', status: 'unknown' };
  }

  add(set: Pick<ParsedCodeSet, 'kind' | 'rows'>): void {
    const into = set.kind === 'carc' ? this.carcs : set.kind === 'rarc' ? this.rarcs : undefined;
    if (!into) throw new CodeSetFileError(`${set.kind} is not a CARC or RARC list`);
    for (const [code, description, status] of set.rows) into.set(code as string, { description: description ?? '', status: status === 'deactivated' ? 'deactivated' : 'current' });
  }

  /** The shipped CARC and RARC lists as code sets. */
  static shippedSets(dir = shippedDataDir()): ParsedCodeSet[] {
    const rows = (name: string): string[][] => readTable(readFileSync(join(dir, name), 'utf8'), (k) => k[0] === 'code', name).rows.map((r) => r.cells);
    return [{ kind: 'carc', label: 'CMS wording, X12 status 2026-08', rows: rows('carc.tsv') }, { kind: 'rarc', label: 'CMS 2026-08', rows: rows('rarc.tsv') }];
  }

  static shipped(dir = shippedDataDir()): AdjustmentCodeSets {
    const codes = new AdjustmentCodeSets();
    for (const set of AdjustmentCodeSets.shippedSets(dir)) codes.add(set);
    return codes;
  }
}

/**
 * The shipped data: beside the module when running from the sources, in src/ when running the
 * compiled dist/ (the files are not copied into dist).
 */
export function shippedDataDir(): string {
  for (const dir of [resolve(__dirname, 'data'), resolve(__dirname, '..', '..', '..', 'src', 'lib', 'codes', 'data')]) {
    if (existsSync(join(dir, 'icd10cm.tsv.gz'))) return dir;
  }
  throw new CodeSetFileError(`the shipped code sets were not found beside ${__dirname}`);
}
