import { csvCell, csvRow } from './csv';
import { escapeHtml, html, query, raw } from './html';
import { safeNext } from './http';

describe('html', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const name = `O'Brien & <script>alert("x")</script>`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe('<p title="O&#39;Brien &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">O&#39;Brien &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
  });

  it('nests Html without escaping it twice, joins arrays and drops null, undefined and false', () => {
    const rows = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${rows}${null}${undefined}${false}${0}</ul>`.value).toBe('<ul><li>a&lt;b</li><li>c</li>0</ul>');
    expect(html`${raw('<br>')}`.value).toBe('<br>');
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
  });

  it('builds query strings from the filters that have a value', () => {
    expect(query({ status: 'open', payerId: undefined, carc: '', page: 2, owner: ['me', 'none'] })).toBe('?status=open&page=2&owner=me&owner=none');
    expect(query({})).toBe('');
    expect(query({ q: 'a&b=c' })).toBe('?q=a%26b%3Dc');
  });

  it('only goes back to a local path after sign-in', () => {
    expect(safeNext('/admin/audit?x=1')).toBe('/admin/audit?x=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/x\r\nSet-Cookie: a=b', undefined, 42]) expect(safeNext(bad)).toBe('/');
  });
});

describe('csv', () => {
  it('quotes what RFC 4180 needs and defuses formulas (OWASP CSV injection)', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    for (const lead of ['+', '-', '@', '\t', '\r']) expect(csvCell(`${lead}1`).replace(/^"/, '').startsWith(`'${lead}`)).toBe(true);
    expect(csvCell(null)).toBe('');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvRow(['1', '-12.50', 'x'])).toBe("1,'-12.50,x\r\n");
  });
});
