/**
 * A person's browser without the browser: fetch with a cookie jar, redirects not followed (the
 * tests look at them), forms posted urlencoded. For the real-browser suites see test/browser.
 */
export class WebClient {
  private readonly jar = new Map<string, string>();

  constructor(readonly base: string) {}

  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  setCookie(name: string, value: string): void {
    this.jar.set(name, value);
  }

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = decodeURIComponent(pair.slice(eq + 1).trim());
      if (/Max-Age=0/i.test(line) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    return { ...(cookie !== '' ? { cookie } : {}), ...extra };
  }

  async get(path: string, extra: Record<string, string> = {}): Promise<{ status: number; text: string; location: string | null; headers: Headers }> {
    const res = await fetch(this.base + path, { redirect: 'manual', headers: this.headers(extra) });
    this.remember(res);
    return { status: res.status, text: await res.text(), location: res.headers.get('location'), headers: res.headers };
  }

  async post(path: string, form: Record<string, string>, extra: Record<string, string> = {}): Promise<{ status: number; text: string; location: string | null; headers: Headers }> {
    const res = await fetch(this.base + path, { method: 'POST', redirect: 'manual', headers: this.headers({ 'content-type': 'application/x-www-form-urlencoded', ...extra }), body: new URLSearchParams(form).toString() });
    this.remember(res);
    return { status: res.status, text: await res.text(), location: res.headers.get('location'), headers: res.headers };
  }

  /** The value of the first `name="field" value="..."` hidden input on a page. */
  static field(page: string, name: string): string {
    const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
    if (m?.[1] === undefined) throw new Error(`no field ${name} on the page`);
    return m[1];
  }

  /** Signs in through the form; returns the page's CSRF token for later forms. */
  async signIn(email: string, password: string): Promise<string> {
    const form = await this.get('/signin');
    const res = await this.post('/signin', { _csrf: WebClient.field(form.text, '_csrf'), email, password, next: '/' });
    if (res.status !== 303) throw new Error(`sign-in refused (${res.status})`);
    const home = await this.get(res.location ?? '/');
    const m = /<meta name="csrf-token" content="([^"]+)">/.exec(home.text);
    if (m?.[1] === undefined) throw new Error('no CSRF token on the page after sign-in');
    return m[1];
  }
}
