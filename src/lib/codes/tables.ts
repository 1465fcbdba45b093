/**
 * Reading code-set files: the compact tab-separated files shipped in `data/` and the files CMS and
 * CDC publish (CSV or tab-separated with a preamble before the header row, the ICD-10-CM order
 * file in its fixed-width layout). Every problem names the line and the column.
 */

export class CodeSetFileError extends Error {}

/** A header row and the rows under it, each cell trimmed. `line` is the 1-based line in the file. */
export interface Table {
  header: string[];
  rows: { line: number; cells: string[] }[];
}

/** A header name in a comparable form: lower case, runs of anything but letters and digits as `_`. */
export function headerKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** Splits one CSV line (RFC 4180 quoting; a field may not span lines in these files). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

/**
 * Finds the header row (the first line for which `isHeader` holds on its cells, tab- or
 * comma-separated) and reads the rows after it with the same separator. Blank lines are skipped.
 */
export function readTable(text: string, isHeader: (keys: string[]) => boolean, what: string): Table {
  // CMS files may end with a DOS end-of-file character (Ctrl-Z).
  const lines = text.replace(/^\uFEFF/, '').replaceAll(String.fromCharCode(0x1a), '').split(/\r?\n/);
  for (let h = 0; h < lines.length; h++) {
    const raw = lines[h] as string;
    for (const split of [(l: string) => l.split('\t'), splitCsv]) {
      const cells = split(raw).map((c) => c.trim());
      if (cells.length < 2 || !isHeader(cells.map(headerKey))) continue;
      const rows: Table['rows'] = [];
      for (let i = h + 1; i < lines.length; i++) {
        const l = lines[i] as string;
        if (l.trim() === '') continue;
        rows.push({ line: i + 1, cells: split(l).map((c) => c.trim()) });
      }
      return { header: cells, rows };
    }
  }
  throw new CodeSetFileError(`${what}: no header row with the expected columns was found`);
}

/** Column positions by field, from predicates on header keys; a missing required column is an error. */
export function columns<F extends string>(table: Table, want: Record<F, (key: string) => boolean>, optional: readonly NoInfer<F>[], what: string): Record<F, number> {
  const keys = table.header.map(headerKey);
  const out = {} as Record<F, number>;
  for (const field of Object.keys(want) as F[]) {
    const at = keys.findIndex(want[field]);
    if (at < 0 && !optional.includes(field)) throw new CodeSetFileError(`${what}: the header has no column for ${field} (header: ${table.header.join(', ')})`);
    out[field] = at;
  }
  return out;
}

/** The cell of a row for a column position (-1: the column is absent, ''). */
export function cell(cells: string[], at: number): string {
  return at < 0 ? '' : (cells[at] ?? '');
}

/** A date as YYYY-MM-DD from YYYYMMDD, YYYY-MM-DD or MM/DD/YYYY; '' and '*' (no date) give ''. */
export function isoDate(value: string, where: string): string {
  const v = value.trim();
  if (v === '' || v === '*') return '';
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(v) ?? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (m) return `${m[1]}-${m[2]}-${m[3]}`;
  m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v);
  if (m) return `${m[3]}-${(m[1] as string).padStart(2, '0')}-${(m[2] as string).padStart(2, '0')}`;
  throw new CodeSetFileError(`${where}: "${v}" is not a date (YYYYMMDD, YYYY-MM-DD or MM/DD/YYYY)`);
}

/** Writes rows as the compact tab-separated form (header first); tabs and newlines in values become spaces. */
export function writeTsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (v: string): string => v.replace(/[\t\r\n]+/g, ' ');
  return [header.join('\t'), ...rows.map((r) => r.map(clean).join('\t'))].join('\n') + '\n';
}
