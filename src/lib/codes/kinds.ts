/**
 * The code-set kinds the product reads, each from the files its publisher releases (and from the
 * compact form this project writes): parsed into normalized rows, all or nothing.
 *
 * Normalized rows (tab-separated, header first; dates YYYY-MM-DD, '' for none):
 * - icd10cm    code, billable (1 billable, 0 category header), description     one fiscal year
 * - icd10pcs   code, billable (1 billable, 0 table header), description        one fiscal year
 * - hcpcs      code, description, added, terminated, coverage                    one quarterly release
 * - pfs        code, modifier, status, pctc, global_days, mult_proc, bilateral, assistant, co_surgeon, team   one calendar year
 * - modifiers  code, level, description, added, terminated
 * - ncci       column1, column2, effective, deleted, modifier_indicator           a customer's CMS PTP file
 * - mue        code, limit, adjudication_indicator                                a customer's CMS MUE file
 * - carc       code, description, status (current / deactivated)                   a newer claim adjustment reason code list
 * - rarc       code, description, status (current / deactivated)                   a newer remittance advice remark code list
 */
import { CodeSetFileError, cell, columns, isoDate, readTable, type Table } from './tables';

export type ImportKind = 'icd10cm' | 'icd10pcs' | 'hcpcs' | 'pfs' | 'modifiers' | 'ncci' | 'mue' | 'carc' | 'rarc';
export const IMPORT_KINDS: readonly ImportKind[] = ['icd10cm', 'icd10pcs', 'hcpcs', 'pfs', 'modifiers', 'ncci', 'mue', 'carc', 'rarc'];

export const NORMALIZED_HEADER: Record<ImportKind, readonly string[]> = {
  icd10cm: ['code', 'billable', 'description'],
  icd10pcs: ['code', 'billable', 'description'],
  hcpcs: ['code', 'description', 'added', 'terminated', 'coverage'],
  pfs: ['code', 'modifier', 'status', 'pctc', 'global_days', 'mult_proc', 'bilateral', 'assistant', 'co_surgeon', 'team'],
  modifiers: ['code', 'level', 'description', 'added', 'terminated'],
  ncci: ['column1', 'column2', 'effective', 'deleted', 'modifier_indicator'],
  mue: ['code', 'limit', 'adjudication_indicator'],
  carc: ['code', 'description', 'status'],
  rarc: ['code', 'description', 'status'],
};

export interface ParsedCodeSet {
  kind: ImportKind;
  /** FY2028 for ICD-10-CM, CY2026 for the fee schedule, the release (2026-04) for HCPCS; free text for the others. */
  label: string;
  rows: string[][];
}

const is = (...names: string[]) => (k: string): boolean => names.includes(k);
const starts = (...prefixes: string[]) => (k: string): boolean => prefixes.some((p) => k.startsWith(p));

const ICD10CM_CODE = /^[A-Z][0-9A-Z][0-9A-Z]{1,5}$/;
const HCPCS_CODE = /^[A-Z0-9]\d{3}[A-Z0-9]$/;
const MODIFIER = /^[A-Z0-9]{2}$/;

function fail(what: string, line: number, message: string): never {
  throw new CodeSetFileError(`${what} line ${line}: ${message}`);
}

/**
 * The ICD-10-CM and ICD-10-PCS order files as CDC and CMS publish them: order 1-5, code 7-13,
 * billable 15, short title 17-76, long title 78- (or a tab/comma file with code and billable columns).
 */
const ORDER_LINE = /^\d{5} [A-Z0-9]{3,7} *[01] /;
const ICD10PCS_CODE = /^[0-9A-HJ-NP-Z]{3,7}$/;

function orderFile(text: string, label: string, what: string, system: 'ICD-10-CM' | 'ICD-10-PCS'): string[][] {
  const valid = system === 'ICD-10-CM' ? ICD10CM_CODE : ICD10PCS_CODE;
  const rows: string[][] = [];
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  if (ORDER_LINE.test(firstLine)) {
    text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((l, i) => {
      if (l.trim() === '') return;
      if (!ORDER_LINE.test(l) || l.length < 16) fail(what, i + 1, `is not an ${system} order-file line (order, code, billable flag, titles)`);
      const code = l.slice(6, 13).trim();
      if (!valid.test(code)) fail(what, i + 1, `"${code}" is not an ${system} code`);
      rows.push([code, l.slice(14, 15), l.slice(16, 76).trim()]);
    });
  } else {
    const t = readTable(text, (k) => k.includes('code') && (k.includes('billable') || k.includes('valid_for_hipaa')), what);
    const c = columns(t, { code: is('code'), billable: is('billable', 'valid_for_hipaa'), description: is('description', 'short_desc', 'short_description') }, ['description'], what);
    for (const r of t.rows) {
      const code = cell(r.cells, c.code).replace('.', '').toUpperCase();
      const billable = cell(r.cells, c.billable);
      if (!valid.test(code)) fail(what, r.line, `"${code}" is not an ${system} code`);
      if (billable !== '0' && billable !== '1') fail(what, r.line, `billable flag "${billable}" is not 0 or 1`);
      rows.push([code, billable, cell(r.cells, c.description)]);
    }
  }
  if (!/^FY\d{4}$/.test(label)) throw new CodeSetFileError(`${what}: an ${system} file is for one fiscal year: give it as FY2028 (--label)`);
  return rows;
}

function hcpcs(t: Table, what: string): string[][] {
  const c = columns(
    t,
    {
      code: is('code', 'hcpc', 'hcpcs'),
      description: is('short_desc', 'short_description', 'description'),
      added: is('added', 'add_dt', 'add_date'),
      terminated: is('term', 'term_dt', 'terminated', 'termination_date'),
      coverage: is('coverage', 'cov'),
    },
    ['description', 'coverage'],
    what,
  );
  const rows: string[][] = [];
  for (const r of t.rows) {
    const code = cell(r.cells, c.code).toUpperCase();
    // The CMS file repeats a code on continuation records for long descriptions: keep the first.
    if (rows.length > 0 && rows[rows.length - 1]?.[0] === code) continue;
    if (!HCPCS_CODE.test(code)) fail(what, r.line, `"${code}" is not a HCPCS code`);
    rows.push([code, cell(r.cells, c.description), isoDate(cell(r.cells, c.added), `${what} line ${r.line} added`), isoDate(cell(r.cells, c.terminated), `${what} line ${r.line} terminated`), cell(r.cells, c.coverage)]);
  }
  return rows;
}

function pfs(t: Table, what: string): string[][] {
  const c = columns(
    t,
    {
      code: is('hcpcs', 'code'),
      modifier: is('mod', 'modifier'),
      status: is('status', 'status_code'),
      pctc: is('pctc_ind', 'pctc'),
      global: is('glob_days', 'global_days'),
      mult: is('mult_proc', 'mult_proc_ind'),
      bilateral: is('bilat_surg', 'bilateral'),
      assistant: is('asst_surg', 'assistant'),
      cosurgeon: is('co_surg', 'co_surgeon'),
      team: is('team_surg', 'team'),
    },
    [],
    what,
  );
  const rows: string[][] = [];
  for (const r of t.rows) {
    const code = cell(r.cells, c.code).toUpperCase();
    if (!HCPCS_CODE.test(code)) fail(what, r.line, `"${code}" is not a CPT/HCPCS code`);
    const status = cell(r.cells, c.status);
    if (!/^[A-Z]$/.test(status)) fail(what, r.line, `status "${status}" is not a fee-schedule status code`);
    rows.push([code, cell(r.cells, c.modifier).toUpperCase(), status, cell(r.cells, c.pctc), cell(r.cells, c.global), cell(r.cells, c.mult), cell(r.cells, c.bilateral), cell(r.cells, c.assistant), cell(r.cells, c.cosurgeon), cell(r.cells, c.team)]);
  }
  return rows;
}

function modifiers(t: Table, what: string): string[][] {
  const c = columns(
    t,
    { code: is('code', 'modifier', 'mod'), level: is('level', 'category'), description: is('description', 'short_desc', 'short_description'), added: is('added', 'add_dt'), terminated: is('terminated', 'term', 'term_dt') },
    ['level', 'description', 'added', 'terminated'],
    what,
  );
  return t.rows.map((r) => {
    const code = cell(r.cells, c.code).toUpperCase();
    if (!MODIFIER.test(code)) fail(what, r.line, `"${code}" is not a two-character modifier`);
    return [code, cell(r.cells, c.level), cell(r.cells, c.description), isoDate(cell(r.cells, c.added), `${what} line ${r.line} added`), isoDate(cell(r.cells, c.terminated), `${what} line ${r.line} terminated`)];
  });
}

function ncci(t: Table, what: string): string[][] {
  const c = columns(
    t,
    { column1: starts('column1', 'column_1'), column2: starts('column2', 'column_2'), effective: starts('effective'), deleted: starts('deletion', 'deleted'), modifier: starts('modifier') },
    [],
    what,
  );
  const rows: string[][] = [];
  for (const r of t.rows) {
    const c1 = cell(r.cells, c.column1).toUpperCase();
    const c2 = cell(r.cells, c.column2).toUpperCase();
    // CMS files end with notes after the pairs; a row whose first cell is no code ends nothing, it is skipped.
    if (!HCPCS_CODE.test(c1) && c2 === '') continue;
    if (!HCPCS_CODE.test(c1) || !HCPCS_CODE.test(c2)) fail(what, r.line, `"${c1}" / "${c2}" is not a pair of CPT/HCPCS codes`);
    const mi = cell(r.cells, c.modifier);
    if (!['0', '1', '9'].includes(mi)) fail(what, r.line, `modifier indicator "${mi}" is not 0, 1 or 9`);
    const effective = isoDate(cell(r.cells, c.effective), `${what} line ${r.line} effective date`);
    if (effective === '') fail(what, r.line, 'has no effective date');
    rows.push([c1, c2, effective, isoDate(cell(r.cells, c.deleted), `${what} line ${r.line} deletion date`), mi]);
  }
  return rows;
}

function mue(t: Table, what: string): string[][] {
  const c = columns(t, { code: (k) => k.startsWith('hcpcs') || k === 'code', limit: (k) => k.includes('mue_value') || k === 'limit', mai: (k) => k.includes('adjudication') }, ['mai'], what);
  const rows: string[][] = [];
  for (const r of t.rows) {
    const code = cell(r.cells, c.code).toUpperCase();
    if (!HCPCS_CODE.test(code) && cell(r.cells, c.limit) === '') continue;
    const limit = cell(r.cells, c.limit);
    if (!HCPCS_CODE.test(code)) fail(what, r.line, `"${code}" is not a CPT/HCPCS code`);
    if (!/^\d+$/.test(limit)) fail(what, r.line, `MUE value "${limit}" is not a whole number`);
    // "2 Date of Service Edit: Policy" → 2
    rows.push([code, limit, /^\d/.exec(cell(r.cells, c.mai))?.[0] ?? '']);
  }
  return rows;
}

const CARC_CODE = /^([A-Z]\d{1,2}|\d{1,3})$/;
const RARC_CODE = /^(M\d{1,3}|MA\d{1,3}|N\d{1,4})$/;

/**
 * A CARC or RARC list: code and description, and the code's status when the file says it (a
 * status column, or a stop/deactivation date: a date that has passed makes the code deactivated).
 */
function adjustmentCodes(t: Table, what: string, kind: 'carc' | 'rarc'): string[][] {
  const c = columns(
    t,
    {
      code: is('code', 'carc', 'rarc', 'reason_code', 'remark_code'),
      description: is('description', 'description_cms', 'desc', 'text'),
      status: is('status'),
      stop: is('stop_date', 'end_date', 'deactivation_date', 'deactivated', 'stop'),
    },
    ['status', 'stop'],
    what,
  );
  const today = new Date().toISOString().slice(0, 10);
  return t.rows.map((r) => {
    const code = cell(r.cells, c.code).toUpperCase();
    if (!(kind === 'carc' ? CARC_CODE : RARC_CODE).test(code)) fail(what, r.line, `"${code}" is not a ${kind === 'carc' ? 'claim adjustment reason code' : 'remittance advice remark code'}`);
    const given = cell(r.cells, c.status).toLowerCase();
    const stop = isoDate(cell(r.cells, c.stop), `${what} line ${r.line} stop date`);
    const status = given === 'deactivated' || given === 'inactive' || (stop !== '' && stop <= today) ? 'deactivated' : given === '' && stop === '' ? 'current' : given === 'current' || given === 'active' || given === '' ? 'current' : fail(what, r.line, `status "${given}" is neither current nor deactivated`);
    return [code, cell(r.cells, c.description), status];
  });
}

/** Parses a file of `kind`; throws CodeSetFileError naming the line on the first problem. */
export function parseCodeSetFile(kind: ImportKind, text: string, label: string, what: string): ParsedCodeSet {
  let rows: string[][];
  switch (kind) {
    case 'icd10cm':
      rows = orderFile(text, label, what, 'ICD-10-CM');
      break;
    case 'icd10pcs':
      rows = orderFile(text, label, what, 'ICD-10-PCS');
      break;
    case 'hcpcs':
      rows = hcpcs(readTable(text, (k) => k.some(is('code', 'hcpc', 'hcpcs')) && k.some(is('added', 'add_dt', 'add_date')), what), what);
      break;
    case 'pfs':
      rows = pfs(readTable(text, (k) => k.some(is('hcpcs', 'code')) && k.some(is('pctc_ind', 'pctc')), what), what);
      if (!/^CY\d{4}$/.test(label)) throw new CodeSetFileError(`${what}: a fee-schedule file is for one calendar year: give it as CY2026 (--label)`);
      break;
    case 'modifiers':
      rows = modifiers(readTable(text, (k) => k.some(is('code', 'modifier', 'mod')) && k.length >= 2, what), what);
      break;
    case 'ncci':
      rows = ncci(readTable(text, (k) => k.some(starts('column1', 'column_1')) && k.some(starts('column2', 'column_2')), what), what);
      break;
    case 'mue':
      rows = mue(readTable(text, (k) => k.some((x) => x.startsWith('hcpcs') || x === 'code') && k.some((x) => x.includes('mue_value') || x === 'limit'), what), what);
      break;
    case 'carc':
    case 'rarc':
      rows = adjustmentCodes(readTable(text, (k) => k.some(is('code', 'carc', 'rarc', 'reason_code', 'remark_code')) && k.some(is('description', 'description_cms', 'desc', 'text')), what), what, kind);
      break;
  }
  if (rows.length === 0) throw new CodeSetFileError(`${what}: no rows`);
  return { kind, label, rows };
}

/** The label a file's name suggests (FY2028 from icd10cm-order-2028.txt, CY2026 from PPRRVU26_JAN.csv). */
export function labelFromFileName(kind: ImportKind, name: string): string | undefined {
  const base = name.toLowerCase();
  if (kind === 'icd10cm' || kind === 'icd10pcs') {
    const m = /fy?(20\d{2})/.exec(base) ?? /(20\d{2})/.exec(base);
    return m ? `FY${m[1]}` : undefined;
  }
  if (kind === 'pfs') {
    const m = /cy(20\d{2})/.exec(base) ?? /rvu(\d{2})[a-d]?/.exec(base) ?? /pprrvu(\d{2})/.exec(base) ?? /(20\d{2})/.exec(base);
    if (!m) return undefined;
    const y = m[1] as string;
    return `CY${y.length === 2 ? `20${y}` : y}`;
  }
  return undefined;
}
