import net from 'node:net';
import { StaffService } from '../src/modules/staff/staff.service';
import { createTestDatabase, type TestDatabase } from './support/db';
import { startTestService, TEST_TOKEN } from './support/service';
import { WebClient } from './support/web';

type Svc = Awaited<ReturnType<typeof startTestService>>;

const get = (svc: Svc, path: string, token?: string): Promise<Response> =>
  fetch(`http://127.0.0.1:${svc.httpPort}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

/**
 * Rate limits and request timeouts on the HTTP side. The counters live in PostgreSQL, so on a
 * server the API limit is shared by two instances (the embedded database serves one).
 */
describe('rate limits and request timeouts (real HTTP, real PostgreSQL)', () => {
  let db: TestDatabase;
  const services: Svc[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const limits = { RATE_LIMIT_API_PER_MINUTE: 10, RATE_LIMIT_SIGNIN_PER_15_MINUTES: 3, HTTP_REQUEST_TIMEOUT_SECONDS: 5 };
    services.push(await startTestService(db.url, limits));
    if (process.env.HL7C_TEST_MODE !== 'embedded') services.push(await startTestService(db.url, limits));
    await (services[0] as Svc).app.get(StaffService).addUser('limited@example.org', 'biller', 'correct horse battery staple', { mustChange: false, actor: { userId: null, name: 'cli', ip: null } });
  });

  afterAll(async () => {
    for (const s of services) await s.stop();
    await db.drop();
  });

  it('limits API requests per caller across instances: 429 rate_limited with Retry-After, others and health checks unaffected', async () => {
    // Ten requests with the token, spread over the instances, all answered.
    for (let i = 0; i < 10; i++) {
      const res = await get(services[i % services.length] as Svc, '/api/messages?limit=1', TEST_TOKEN);
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
      expect(Number(res.headers.get('x-ratelimit-remaining'))).toBe(9 - i);
    }
    // The eleventh, on any instance, is refused until the minute is over.
    for (const svc of services) {
      const refused = await get(svc, '/api/messages?limit=1', TEST_TOKEN);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({ error: 'rate_limited', message: expect.stringMatching(/^too many requests: at most 10 a minute for each caller; try again in \d+ s$/) });
      const retry = Number(refused.headers.get('retry-after'));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(60);
    }
    // Another caller (no token: counted by address) is not held back by that: it gets its 401.
    expect((await get(services[0] as Svc, '/api/messages')).status).toBe(401);
    // Health checks are never limited (a load balancer polls them).
    for (let i = 0; i < 12; i++) for (const path of ['/api/health/live', '/api/health']) expect((await get(services[0] as Svc, path)).status).toBe(200);
    const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM rate_limit WHERE key LIKE 'default:bearer:%'`);
    expect(row?.n).toBe('1');
  });

  it('limits sign-in attempts per address: the fourth in 15 minutes answers 429, even with the right password, and is audited', async () => {
    const web = new WebClient(`http://127.0.0.1:${services[services.length - 1]?.httpPort ?? 0}`);
    const form = await web.get('/signin');
    const csrf = WebClient.field(form.text, '_csrf');
    for (let i = 0; i < 3; i++) expect((await web.post('/signin', { _csrf: csrf, email: 'limited@example.org', password: 'wrong', next: '/' })).status).toBe(401);
    const refused = await web.post('/signin', { _csrf: csrf, email: 'limited@example.org', password: 'correct horse battery staple', next: '/' });
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('Too many sign-in attempts from this address. Try again in 15 minutes.');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(890);
    expect(web.cookie('hl7c_session')).toBeUndefined();
    const audit = await db.query<{ action: string; reason: string }>(`SELECT action, detail->>'reason' AS reason FROM audit_event WHERE action = 'sign_in.failed' ORDER BY id`);
    expect(audit.map((a) => a.reason)).toEqual(['wrong_password', 'wrong_password', 'wrong_password', 'rate_limited']);
  });

  it('cuts off a client that does not finish sending its request (408)', async () => {
    const svc = services[0] as Svc;
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(svc.httpPort, '127.0.0.1', () => {
        s.write('POST /api/claims/build HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
      });
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      s.on('close', () => {
        resolve(got);
      });
      s.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(4_500);
    expect(took).toBeLessThan(15_000);
  }, 30_000);
});
