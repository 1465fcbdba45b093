import { ApiTokensService } from '../src/modules/staff/api-tokens.service';
import { StaffService } from '../src/modules/staff/staff.service';
import { createTestDatabase, type TestDatabase } from './support/db';
import { startTestService } from './support/service';
import { WebClient } from './support/web';

const CLI = { userId: null, name: 'cli', ip: null };
const PASSWORD = 'correct horse battery staple';

describe('staff sign-in, sessions, roles and the audit trail (real HTTP, real PostgreSQL)', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let base: string;
  let staff: StaffService;

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url, { SESSION_IDLE_MINUTES: 5 });
    base = `http://127.0.0.1:${svc.httpPort}`;
    staff = svc.app.get(StaffService);
    await staff.addUser('Admin@Example.org', 'admin', PASSWORD, { mustChange: false, actor: CLI });
    await staff.addUser('biller@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI });
    await staff.addUser('viewer@example.org', 'viewer', PASSWORD, { mustChange: false, actor: CLI });
  });

  afterAll(async () => {
    await svc.stop();
    await db.drop();
  });

  it('sends a signed-out person to the sign-in page, and htmx requests get a redirect header', async () => {
    const web = new WebClient(base);
    const home = await web.get('/');
    expect(home.status).toBe(303);
    expect(home.location).toBe('/signin');
    const deep = await web.get('/admin/audit?action=sign_in');
    expect(deep.location).toBe(`/signin?next=${encodeURIComponent('/admin/audit?action=sign_in')}`);
    const htmx = await web.get('/', { 'hx-request': 'true' });
    expect(htmx.status).toBe(401);
    expect(htmx.headers.get('hx-redirect')).toBe('/signin');
    // A signed-out POST is not acted on.
    expect((await web.post('/signout', {})).location).toBe('/signin');
    const form = await web.get('/signin');
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(form.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(form.headers.get('x-content-type-options')).toBe('nosniff');
    expect(form.text).not.toMatch(/<script>|<script [^>]*>[^<]/);
  });

  it('signs in with a session cookie that is httpOnly and SameSite, and goes back where the person was going', async () => {
    const web = new WebClient(base);
    const form = await web.get('/signin?next=/admin/users');
    const res = await fetch(`${base}/signin`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `hl7c_signin=${web.cookie('hl7c_signin') ?? ''}` },
      body: new URLSearchParams({ _csrf: WebClient.field(form.text, '_csrf'), email: 'ADMIN@example.org ', password: PASSWORD, next: WebClient.field(form.text, 'next') }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/users');
    const session = res.headers.getSetCookie().find((c) => c.startsWith('hl7c_session='));
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(session).not.toMatch(/Max-Age|Expires/);
    // Only the token's hash is stored.
    const token = decodeURIComponent(/hl7c_session=([^;]+)/.exec(session ?? '')?.[1] ?? '');
    const rows = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM staff_session WHERE token_sha256 = sha256(convert_to($1, 'UTF8'))`, [token]);
    expect(rows[0]?.n).toBe('1');
    expect(JSON.stringify(await db.query(`SELECT * FROM staff_session`))).not.toContain(token);
    // An outside address is never a place to go back to.
    const evil = await web.post('/signin', { _csrf: web.cookie('hl7c_signin') ?? '', email: 'admin@example.org', password: PASSWORD, next: '//evil.example/x' });
    expect(evil.location).toBe('/');
  });

  it('answers an unknown email, a wrong password, a disabled account and a locked one the same way', async () => {
    await staff.addUser('gone@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI });
    await staff.setDisabled('gone@example.org', true, CLI);
    const attempt = async (email: string, password: string): Promise<{ status: number; error: string }> => {
      const web = new WebClient(base);
      const form = await web.get('/signin');
      const r = await web.post('/signin', { _csrf: WebClient.field(form.text, '_csrf'), email, password, next: '/' });
      return { status: r.status, error: /<p class="error"[^>]*>([^<]*)<\/p>/.exec(r.text)?.[1] ?? '' };
    };
    const unknown = await attempt('nobody@example.org', PASSWORD);
    const wrong = await attempt('viewer@example.org', 'not the password at all');
    const disabled = await attempt('gone@example.org', PASSWORD);
    expect(unknown.status).toBe(401);
    expect(wrong).toEqual(unknown);
    expect(disabled).toEqual(unknown);
    const reasons = await db.query<{ reason: string }>(`SELECT detail->>'reason' AS reason FROM audit_event WHERE action = 'sign_in.failed' ORDER BY id`);
    expect(reasons.map((r) => r.reason)).toEqual(['unknown_email', 'wrong_password', 'disabled']);
  });

  it('locks an account after 5 failures in a row: then even the right password is refused, and the lock runs out', async () => {
    await staff.addUser('target@example.org', 'biller', PASSWORD, { mustChange: false, actor: CLI });
    const web = new WebClient(base);
    const form = await web.get('/signin');
    const token = WebClient.field(form.text, '_csrf');
    for (let i = 0; i < 5; i++) expect((await web.post('/signin', { _csrf: token, email: 'target@example.org', password: `wrong password ${i}`, next: '/' })).status).toBe(401);
    expect((await web.post('/signin', { _csrf: token, email: 'target@example.org', password: PASSWORD, next: '/' })).status).toBe(401);
    const [u] = await db.query<{ failed: number; locked: boolean }>(`SELECT failed_sign_ins AS failed, locked_until > now() AS locked FROM staff_user WHERE email = 'target@example.org'`);
    expect(u).toEqual({ failed: 5, locked: true });
    const audit = await db.query<{ reason: string; failures: string | null; locked: string | null }>(
      `SELECT detail->>'reason' AS reason, detail->>'failures' AS failures, detail->>'locked' AS locked FROM audit_event
        WHERE action = 'sign_in.failed' AND object_id = (SELECT id::text FROM staff_user WHERE email = 'target@example.org') ORDER BY id`,
    );
    expect(audit).toEqual([
      ...[1, 2, 3, 4].map((n) => ({ reason: 'wrong_password', failures: String(n), locked: 'false' })),
      { reason: 'wrong_password', failures: '5', locked: 'true' },
      { reason: 'locked', failures: null, locked: null },
    ]);
    await db.query(`UPDATE staff_user SET locked_until = now() - interval '1 second' WHERE email = 'target@example.org'`);
    expect((await web.post('/signin', { _csrf: token, email: 'target@example.org', password: PASSWORD, next: '/' })).status).toBe(303);
    const [after] = await db.query<{ failed: number }>(`SELECT failed_sign_ins AS failed FROM staff_user WHERE email = 'target@example.org'`);
    expect(after?.failed).toBe(0);
  });

  it('refuses a sign-in form without its CSRF cookie, and a form or htmx request without the session token', async () => {
    const web = new WebClient(base);
    const form = await web.get('/signin');
    const token = WebClient.field(form.text, '_csrf');
    const stranger = new WebClient(base);
    expect((await stranger.post('/signin', { _csrf: token, email: 'admin@example.org', password: PASSWORD, next: '/' })).status).toBe(403);

    const csrf = await web.signIn('admin@example.org', PASSWORD);
    expect((await web.post('/admin/users', { email: 'x@example.org', role: 'viewer' })).status).toBe(403);
    expect((await web.post('/admin/users', { _csrf: 'A'.repeat(32), email: 'x@example.org', role: 'viewer' })).status).toBe(403);
    expect(await db.query(`SELECT 1 FROM staff_user WHERE email = 'x@example.org'`)).toHaveLength(0);
    const byHeader = await web.post('/admin/users', { email: 'x@example.org', role: 'viewer' }, { 'x-csrf-token': csrf });
    expect(byHeader.status).toBe(200);
    expect(await db.query(`SELECT 1 FROM staff_user WHERE email = 'x@example.org'`)).toHaveLength(1);
    // Disabling ends the sessions; setting a password ends the others.
    const [x] = await db.query<{ id: string }>(`SELECT id::text FROM staff_user WHERE email = 'x@example.org'`);
    await staff.setPassword(x?.id ?? '', 'a brand new passphrase', { mustChange: false, actor: CLI });
    await expect(staff.setPassword('999999', 'a brand new passphrase', { mustChange: false, actor: CLI })).rejects.toThrow(/no account/);
  });

  it('lets only admins manage users and read the audit trail; a viewer gets a plain refusal', async () => {
    const viewer = new WebClient(base);
    const csrf = await viewer.signIn('viewer@example.org', PASSWORD);
    const page = await viewer.get('/admin/users');
    expect(page.status).toBe(403);
    expect(page.text).toContain('Your role (viewer) cannot do this');
    expect((await viewer.post('/admin/users', { _csrf: csrf, email: 'y@example.org', role: 'admin' })).status).toBe(403);
    expect((await viewer.get('/admin/audit')).status).toBe(403);
    expect(await db.query(`SELECT 1 FROM staff_user WHERE email = 'y@example.org'`)).toHaveLength(0);
    expect((await viewer.get('/')).status).toBe(200);
  });

  it('makes a one-time password lead to a forced change, after which the old one no longer works', async () => {
    const admin = new WebClient(base);
    const csrf = await admin.signIn('admin@example.org', PASSWORD);
    const added = await admin.post('/admin/users', { _csrf: csrf, email: 'new@example.org', role: 'biller' });
    const otp = /<code class="otp">([^<]+)<\/code>/.exec(added.text)?.[1];
    expect(otp).toMatch(/^[A-Za-z0-9]{20}$/);
    const person = new WebClient(base);
    const form = await person.get('/signin');
    const signedIn = await person.post('/signin', { _csrf: WebClient.field(form.text, '_csrf'), email: 'new@example.org', password: otp ?? '', next: '/' });
    expect(signedIn.location).toBe('/account/password');
    const home = await person.get('/');
    expect(home.location).toBe('/account/password');
    const pwPage = await person.get('/account/password');
    const token = WebClient.field(pwPage.text, '_csrf');
    const short = await person.post('/account/password', { _csrf: token, current: otp ?? '', password: 'short', again: 'short' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('at least 12 characters');
    const ok = await person.post('/account/password', { _csrf: token, current: otp ?? '', password: 'a much better passphrase', again: 'a much better passphrase' });
    expect(ok.status).toBe(200);
    expect((await person.get('/')).status).toBe(200);
    const again = new WebClient(base);
    const f2 = await again.get('/signin');
    expect((await again.post('/signin', { _csrf: WebClient.field(f2.text, '_csrf'), email: 'new@example.org', password: otp ?? '', next: '/' })).status).toBe(401);
  });

  it('ends a session on sign-out, after the idle timeout, and when the account is disabled', async () => {
    const a = new WebClient(base);
    const csrf = await a.signIn('biller@example.org', PASSWORD);
    expect((await a.post('/signout', { _csrf: csrf })).location).toBe('/signin');
    expect((await a.get('/')).location).toBe('/signin');

    const b = new WebClient(base);
    await b.signIn('biller@example.org', PASSWORD);
    const bToken = b.cookie('hl7c_session') ?? '';
    // 4 minutes idle (SESSION_IDLE_MINUTES is 5 here): still signed in; 6: signed out.
    await db.query(`UPDATE staff_session SET last_seen_at = now() - interval '4 minutes' WHERE token_sha256 = sha256(convert_to($1, 'UTF8'))`, [bToken]);
    expect((await b.get('/')).status).toBe(200);
    await db.query(`UPDATE staff_session SET last_seen_at = now() - interval '6 minutes' WHERE token_sha256 = sha256(convert_to($1, 'UTF8'))`, [bToken]);
    expect((await b.get('/')).location).toBe('/signin');

    const c = new WebClient(base);
    await c.signIn('biller@example.org', PASSWORD);
    await staff.setDisabled('biller@example.org', true, CLI);
    expect((await c.get('/')).location).toBe('/signin');
    await staff.setDisabled('biller@example.org', false, CLI);
  });

  it('keeps the last admin enabled', async () => {
    await expect(staff.setDisabled('admin@example.org', true, CLI)).rejects.toThrow(/last enabled admin/);
  });

  it('records every sign-in, view and action in an append-only audit trail an admin can filter and export', async () => {
    const admin = new WebClient(base);
    await admin.signIn('admin@example.org', PASSWORD);
    const list = await admin.get('/admin/audit?action=user.add');
    expect(list.status).toBe(200);
    expect(list.text).toMatch(/\d+ events/);
    const csv = await admin.get('/admin/audit.csv?action=user.add');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('id,at,user_id,actor,action,object_type,object_id,ip,detail');
    const [count] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE action = 'user.add'`);
    expect(lines.length - 1).toBe(Number(count?.n));
    const actions = (await db.query<{ action: string }>(`SELECT DISTINCT action FROM audit_event`)).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['user.add', 'user.disable', 'user.enable', 'user.password', 'sign_in', 'sign_in.failed', 'sign_out', 'work.list', 'audit.view', 'audit.export']));
    const [signIn] = await db.query<{ actor: string; ip: string | null; user_id: string | null }>(`SELECT actor, ip, user_id::text FROM audit_event WHERE action = 'sign_in' ORDER BY id LIMIT 1`);
    expect(signIn?.actor).toMatch(/@example\.org$/);
    expect(signIn?.ip).toMatch(/127\.0\.0\.1/);
    await expect(db.query(`UPDATE audit_event SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_event`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE audit_event CASCADE`)).rejects.toThrow(/append-only/);
  });

  it('gives a person an API token with their role: reads for a viewer, work for a biller, settings for an admin; each request audited; revoked, expired or disabled is refused', async () => {
    const tokens = svc.app.get(ApiTokensService);
    for (const [email, role] of [['t.viewer@example.org', 'viewer'], ['t.biller@example.org', 'biller'], ['t.admin@example.org', 'admin']] as const) {
      await staff.addUser(email, role, PASSWORD, { mustChange: false, actor: CLI });
    }
    const viewer = await tokens.create('t.viewer@example.org', { name: 'report script', expiresDays: null, actor: CLI });
    const biller = await tokens.create('T.Biller@example.org', { name: 'denials sync', expiresDays: 30, actor: CLI });
    const admin = await tokens.create('t.admin@example.org', { name: 'setup tool', expiresDays: null, actor: CLI });
    expect(viewer.token).toMatch(/^hl7c_[A-Za-z0-9_-]{43}$/);
    expect(biller.expiresAt).not.toBeNull();
    // Only the hash is kept.
    const [stored] = await db.query<{ sha: Buffer }>(`SELECT token_sha256 AS sha FROM staff_api_token WHERE id = $1`, [viewer.id]);
    expect(stored?.sha.length).toBe(32);
    expect(JSON.stringify(await db.query(`SELECT * FROM staff_api_token`))).not.toContain(viewer.token.slice(5));

    const call = async (token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, json: text === '' ? null : JSON.parse(text) };
    };
    expect((await call(viewer.token, 'GET', '/api/claims')).status).toBe(200);
    expect((await call(viewer.token, 'POST', '/api/scrub', { claimIds: [] })).status).not.toBe(403); // a dry run changes nothing
    const refused = await call(viewer.token, 'POST', '/api/claims/build', { encounterIds: [] });
    expect(refused).toMatchObject({ status: 403, json: { error: 'forbidden' } });
    expect(refused.json.message).toMatch(/a viewer's token may not do this/);
    expect((await call(biller.token, 'POST', '/api/claims/build', { encounterIds: [] })).status).toBe(200);
    expect((await call(biller.token, 'PATCH', '/api/rules/timely-filing', { params: { days: 300 } })).status).toBe(403);
    expect((await call(admin.token, 'PATCH', '/api/rules/timely-filing', { params: { days: 300 } })).status).toBe(200);
    // What the admin changed is recorded under their name.
    const [setting] = await db.query<{ updated_by: string }>(`SELECT updated_by FROM scrub_rule_setting WHERE rule_id = 'timely-filing'`);
    expect(setting?.updated_by).toBe('api:t.admin@example.org');
    const audit = await db.query<{ action: string; actor: string; object_id: string }>(`SELECT action, actor, object_id FROM audit_event WHERE action LIKE 'api.%' ORDER BY id`);
    expect(audit).toEqual([
      { action: 'api.request', actor: 't.viewer@example.org', object_id: 'GET /api/claims' },
      { action: 'api.request', actor: 't.viewer@example.org', object_id: 'POST /api/scrub' },
      { action: 'api.refused', actor: 't.viewer@example.org', object_id: 'POST /api/claims/build' },
      { action: 'api.request', actor: 't.biller@example.org', object_id: 'POST /api/claims/build' },
      { action: 'api.refused', actor: 't.biller@example.org', object_id: 'PATCH /api/rules/timely-filing' },
      { action: 'api.request', actor: 't.admin@example.org', object_id: 'PATCH /api/rules/timely-filing' },
    ]);
    expect((await tokens.list('t.viewer@example.org'))[0]?.lastUsedAt).not.toBeNull();

    // Refused: a made-up token, a revoked one, an expired one, one whose account is disabled.
    expect((await call(`hl7c_${'A'.repeat(43)}`, 'GET', '/api/claims')).status).toBe(401);
    await tokens.revoke(viewer.id, CLI);
    expect((await call(viewer.token, 'GET', '/api/claims')).status).toBe(401);
    await db.query(`UPDATE staff_api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, [biller.id]);
    expect((await call(biller.token, 'GET', '/api/claims')).status).toBe(401);
    await staff.setDisabled('t.admin@example.org', true, CLI);
    expect((await call(admin.token, 'GET', '/api/claims')).status).toBe(401);
    await expect(tokens.create('t.admin@example.org', { name: 'again', expiresDays: null, actor: CLI })).rejects.toThrow(/disabled/);
    expect((await db.query<{ action: string }>(`SELECT action FROM audit_event WHERE action LIKE 'api_token.%' ORDER BY id`)).map((a) => a.action))
      .toEqual(['api_token.create', 'api_token.create', 'api_token.create', 'api_token.revoke']);
  });
});
