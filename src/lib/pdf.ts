/**
 * A small PDF 1.4 writer for letters: pages of left-aligned text in Helvetica (one of the 14
 * standard fonts every reader has, so nothing is embedded), lines wrapped to the page, headings in
 * Helvetica-Bold, a cross-reference table with exact byte offsets (ISO 32000-1, 7.5). Text is
 * WinAnsi: characters outside Latin-1 are replaced by '?'.
 */
export interface PdfBlock {
  text: string;
  bold?: boolean;
  size?: number;
  /** Space before the block, in points. */
  before?: number;
}

const PAGE_W = 612;
const PAGE_H = 792;
const MARGIN = 72;

function escapeText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 63;
    const b = c > 255 || (c < 32 && c !== 9) ? 63 : c;
    if (b === 40 || b === 41 || b === 92) out += '\\' + String.fromCharCode(b);
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Helvetica's width in 1/1000 em is close to 0.5 on average for text; 0.52 keeps lines inside the margin. */
function wrap(text: string, size: number): string[] {
  const max = Math.floor((PAGE_W - 2 * MARGIN) / (size * 0.52));
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
      if (line === '') line = word;
      else if (line.length + 1 + word.length <= max) line += ' ' + word;
      else {
        lines.push(line);
        line = word;
      }
      while (line.length > max) {
        lines.push(line.slice(0, max));
        line = line.slice(max);
      }
    }
    lines.push(line);
  }
  return lines;
}

export function pdfDocument(blocks: PdfBlock[], title: string): Buffer {
  // Lay out the lines on pages.
  const pages: string[][] = [[]];
  let y = PAGE_H - MARGIN;
  for (const b of blocks) {
    const size = b.size ?? 11;
    const lead = size * 1.35;
    y -= b.before ?? 0;
    for (const line of wrap(b.text, size)) {
      if (y - lead < MARGIN) {
        pages.push([]);
        y = PAGE_H - MARGIN;
      }
      y -= lead;
      (pages[pages.length - 1] as string[]).push(`BT /${b.bold === true ? 'F2' : 'F1'} ${size} Tf ${MARGIN} ${y.toFixed(2)} Td (${escapeText(line)}) Tj ET`);
    }
  }
  // Objects: 1 catalog, 2 pages, 3 F1, 4 F2, 5 info, then per page: page object and its content.
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 6 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  objects[4] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>';
  objects[5] = `<< /Title (${escapeText(title)}) /Producer (hl7-claims) >>`;
  pages.forEach((ops, i) => {
    const content = ops.join('\n');
    objects[6 + i * 2] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_W} ${PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${7 + i * 2} 0 R >>`;
    objects[7 + i * 2] = `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;
  });
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]?.length ?? 0;
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    const body = Buffer.from(`${id} 0 obj\n${objects[id] ?? 'null'}\nendobj\n`, 'latin1');
    offsets[id] = offset;
    parts.push(body);
    offset += body.length;
  }
  const xref = [`xref\n0 ${objects.length}\n`, '0000000000 65535 f \n', ...offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 5 0 R >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}
