/**
 * CSV (RFC 4180) that a spreadsheet opens safely: a cell that starts with = + - @, a tab or a
 * carriage return is prefixed with ' so that it is shown as text, never run as a formula (OWASP
 * CSV injection). Payer names, notes and codes all come from outside.
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}
