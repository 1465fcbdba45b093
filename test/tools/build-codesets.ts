/**
 * Rebuilds the shipped code sets (src/lib/codes/data) from the workplace's code-set folder:
 *   node -r ./test/support/ts-register.js test/tools/build-codesets.ts ../shared/codesets
 * The product reads only what this writes; provenance is in src/lib/codes/data/SOURCES.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { NORMALIZED_HEADER, parseCodeSetFile } from '../../src/lib/codes/kinds';
import { readTable, writeTsv } from '../../src/lib/codes/tables';

const src = resolve(process.argv[2] ?? '../shared/codesets');
const out = resolve(__dirname, '..', '..', 'src', 'lib', 'codes', 'data');

const read = (name: string): string => {
  const buf = readFileSync(join(src, name));
  return (name.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
};
const write = (name: string, header: readonly string[], rows: readonly (readonly string[])[]): void => {
  const text = writeTsv(header, rows);
  writeFileSync(join(out, name), name.endsWith('.gz') ? gzipSync(text, { level: 9 }) : text);
  process.stdout.write(`${name}: ${rows.length} rows\n`);
};

// ICD-10-CM: one row per code over all fiscal years (titles of the newest year that has the code).
const years = [2025, 2026, 2027];
const icd = new Map<string, { description: string; flags: string[] }>();
years.forEach((fy, i) => {
  const set = parseCodeSetFile('icd10cm', read(`icd10cm/icd10cm_order_fy${fy}.tsv.gz`), `FY${fy}`, `FY${fy}`);
  for (const [code, billable, description] of set.rows) {
    const e = icd.get(code as string) ?? { description: '', flags: years.map(() => '') };
    e.description = description ?? e.description;
    e.flags[i] = billable as string;
    icd.set(code as string, e);
  }
});
write('icd10cm.tsv.gz', ['code', 'description', ...years.map((y) => `FY${y}`)], [...icd].map(([code, e]) => [code, e.description, ...e.flags]));

// ICD-10-PCS: the FY2026 order file; FY2027 = FY2026 with the FY2027 addenda applied. CMS's FY2027
// addenda are relative to the April 2026 file, which is not in the folder: the 77 codes added in
// April 2026 are missing, so FY2027 is marked partial (unknown codes there are warnings).
const pcs = new Map<string, { description: string; flags: [string, string] }>();
for (const { cells } of readTable(read('pcs/icd10pcs_order_fy2026.tsv.gz'), (k) => k.includes('code') && k.includes('billable'), 'pcs').rows) {
  const [, code, billable, description] = cells as [string, string, string, string];
  pcs.set(code, { description, flags: [billable, billable] });
}
for (const l of read('pcs/icd10pcs_codes_addenda_fy2027.txt').split(/\r?\n/)) {
  const m = /^(Add|Delete|Revise to):\s+([0-9A-HJ-NP-Z]{7})\s+(.*)$/.exec(l);
  if (!m) continue;
  const [, action, code, title] = m as unknown as [string, string, string, string];
  const e = pcs.get(code) ?? { description: title, flags: ['', ''] as [string, string] };
  if (action === 'Delete') e.flags[1] = '';
  else {
    e.flags[1] = '1';
    e.description = title;
  }
  pcs.set(code, e);
}
write('icd10pcs.tsv.gz', ['code', 'description', 'FY2026', 'FY2027 partial'], [...pcs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, e]) => [code, e.description, ...e.flags]));

write('hcpcs.tsv.gz', NORMALIZED_HEADER.hcpcs, parseCodeSetFile('hcpcs', read('hcpcs/hcpcs_level2_2026jan.tsv.gz'), '2026-01', 'hcpcs').rows);
write('pfs.tsv.gz', NORMALIZED_HEADER.pfs, parseCodeSetFile('pfs', read('pfs/pfs_rvu_2025a_codes.tsv.gz'), 'CY2025', 'pfs').rows);

const level2 = parseCodeSetFile('modifiers', read('hcpcs/hcpcs_level2_modifiers_2026jan.tsv'), 'HCPCS 2026-01', 'modifiers').rows.map((r) => [r[0] as string, 'HCPCS', r[2] as string, r[3] as string, r[4] as string]);
const cpt = readTable(read('cpt/cpt_modifier_codes.tsv'), (k) => k[0] === 'code', 'cpt modifiers').rows.map((r) => [r.cells[0] as string, 'CPT', '', '', '']);
write('modifiers.tsv', NORMALIZED_HEADER.modifiers, [...cpt, ...level2.filter((r) => !cpt.some((c) => c[0] === r[0]))]);

const small = (from: string, pick: (cells: string[]) => string[]) => readTable(read(from), () => true, from).rows.map((r) => pick(r.cells));
write('place_of_service.tsv', ['code', 'name', 'assigned'], small('pos/cms_place_of_service.tsv', (c) => [c[0] as string, c[1] as string, c[2] as string]));
write('revenue_codes.tsv', ['code', 'description'], small('ub04/revenue_codes.tsv', (c) => [c[0] as string, c[1] as string]));
write('mce_edits.tsv', ['edit', 'code'], small('edits/mce_v43_1_dx_edits.tsv', (c) => [c[0] as string, c[1] as string]));
write('claim_frequency.tsv', ['code', 'description', 'used_on_837P', 'used_on_837I'], small('x12/claim_frequency_codes.tsv', (c) => [c[0] as string, c[1] as string, c[2] as string, c[3] as string]));
// Admission type and source files have no "assigned" column: a code whose every meaning is
// "reserved for national assignment" is not assigned.
const assigned = (description: string): string => (description.split('/').every((part) => /^reserved/i.test(part.trim())) ? '0' : '1');
write('ub04_codes.tsv', ['kind', 'code', 'description', 'assigned'], [
  ...small('ub04/patient_discharge_status_codes.tsv', (c) => ['discharge_status', c[0] as string, c[1] as string, c[2] as string]),
  ...small('ub04/admission_type_codes.tsv', (c) => ['admission_type', c[0] as string, c[1] as string, assigned(c[1] as string)]),
  ...small('ub04/admission_source_codes.tsv', (c) => ['admission_source', c[0] as string, c[1] as string, assigned(c[1] as string)]),
]);
// CARC: CMS's wording with X12's status (current / deactivated) as a fact; RARC: CMS's list with its status.
const carcStatus = new Map(small('x12/carc_status_x12_2026-08.tsv', (c) => [c[0] as string, c[1] as string]).map(([code, status]) => [code as string, status as string]));
write('carc.tsv', ['code', 'description', 'status'], small('x12/carc_cms_bfd.tsv', (c) => [c[0] as string, c[1] as string, carcStatus.get(c[0] as string) ?? '']));
write('rarc.tsv', ['code', 'description', 'status'], small('x12/rarc_cms_2026-08.tsv', (c) => [c[0] as string, c[1] as string, c[2] as string]));
