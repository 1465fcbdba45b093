/** NDC as the 11-digit 5-4-2 form: 10-digit 4-4-2, 5-3-2 and 5-4-1 forms get their missing leading zero. */
export function normalizeNdc(raw: string): string | undefined {
  const t = raw.trim();
  const parts = t.split('-');
  if (parts.length === 3 && parts.every((p) => /^\d+$/.test(p))) {
    const [a, b, c] = parts as [string, string, string];
    if (a.length === 4 && b.length === 4 && c.length === 2) return `0${a}${b}${c}`;
    if (a.length === 5 && b.length === 3 && c.length === 2) return `${a}0${b}${c}`;
    if (a.length === 5 && b.length === 4 && c.length === 1) return `${a}${b}0${c}`;
    if (a.length === 5 && b.length === 4 && c.length === 2) return `${a}${b}${c}`;
    return undefined;
  }
  return /^\d{11}$/.test(t) ? t : undefined;
}
