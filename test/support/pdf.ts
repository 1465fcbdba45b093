/** Checks a PDF's structure: header, every xref offset at its object, startxref at the xref, trailer. */
export function checkPdf(pdf: Buffer): { objects: number; text: string } {
  const s = pdf.toString('latin1');
  expect(s.startsWith('%PDF-1.4\n')).toBe(true);
  expect(s.endsWith('%%EOF\n')).toBe(true);
  const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(s)?.[1]);
  expect(s.slice(startxref, startxref + 5)).toBe('xref\n');
  const m = /^xref\n0 (\d+)\n/.exec(s.slice(startxref));
  const count = Number(m?.[1]);
  const entries = s.slice(startxref + (m?.[0].length ?? 0)).split('\n').slice(0, count);
  expect(entries[0]).toBe('0000000000 65535 f ');
  for (let id = 1; id < count; id++) {
    const offset = Number(entries[id]?.slice(0, 10));
    expect(s.slice(offset, offset + `${id} 0 obj`.length)).toBe(`${id} 0 obj`);
  }
  for (const stream of s.matchAll(/<< \/Length (\d+) >>\nstream\n/g)) {
    const start = stream.index + stream[0].length;
    expect(s.slice(start + Number(stream[1]), start + Number(stream[1]) + '\nendstream'.length)).toBe('\nendstream');
  }
  expect(s).toMatch(/trailer\n<< \/Size \d+ \/Root 1 0 R/);
  return { objects: count - 1, text: [...s.matchAll(/\((.*?)\) Tj/g)].map((x) => x[1]).join('\n') };
}
