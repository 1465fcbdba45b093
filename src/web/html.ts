/**
 * Server-rendered pages without a template engine: `html` is a tagged template that escapes every
 * interpolated value (text and attribute context alike: & < > " ' are replaced) unless it is
 * already Html (made by `html` itself or, for a literal the code owns, by `raw`). Arrays are
 * joined, null, undefined and false render nothing. Templates are TypeScript, so a misspelt field
 * fails the type check instead of rendering empty.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Renderable = Html | string | number | bigint | boolean | null | undefined | readonly Renderable[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function render(v: Renderable): string {
  if (v instanceof Html) return v.value;
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return (v as readonly Renderable[]).map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Markup the code itself wrote (never user input). */
export function raw(markup: string): Html {
  return new Html(markup);
}

/** `?a=1&b=2` from the entries that have a value (for links that keep a list's filters). */
export function query(params: Record<string, string | number | undefined | null | readonly string[]>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) u.append(k, x);
    else u.append(k, String(v));
  }
  const s = u.toString();
  return s === '' ? '' : `?${s}`;
}
