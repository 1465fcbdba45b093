import { checkPdf } from '../../test/support/pdf';
import { pdfDocument } from './pdf';

describe('pdf', () => {
  it('writes a valid PDF: offsets, stream lengths, escaped text, Latin-1 only', () => {
    const pdf = pdfDocument([{ text: 'Appeal (claim HC1) \\ 100%', bold: true }, { text: 'Zoë — naïve ☃' }], 'Test');
    const r = checkPdf(pdf);
    expect(r.text).toContain('Appeal \\(claim HC1\\) \\\\ 100%');
    expect(r.text).toContain('Zo\u00eb ? na\u00efve ?');
  });

  it('wraps long paragraphs and flows onto new pages', () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const pdf = pdfDocument(Array.from({ length: 6 }, () => ({ text: long, before: 10 })), 'Long');
    const r = checkPdf(pdf);
    const pages = Number(/\/Count (\d+)/.exec(pdf.toString('latin1'))?.[1]);
    expect(pages).toBeGreaterThan(1);
    expect(r.objects).toBe(5 + pages * 2);
    for (const line of r.text.split('\n')) expect(line.length).toBeLessThanOrEqual(Math.floor((612 - 144) / (11 * 0.52)));
  });
});
