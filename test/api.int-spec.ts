import { ENTITIES } from '../src/database/data-source';
import { createDataSource } from '../src/database/data-source';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { MetricsServer } from '../src/modules/metrics/metrics.module';
import { startTestService, TEST_TOKEN } from './support/service';

describe('HTTP API', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let base: string;
  const get = async (path: string, token: string | null = TEST_TOKEN): Promise<{ status: number; body: any }> => {
    const res = await fetch(base + path, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
  };
  const post = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url);
    base = `http://127.0.0.1:${svc.httpPort}`;
    const client = await MllpClient.connect(svc.mllpPort);
    await client.send(dft({ controlId: 'API-1', visit: 'VAPI', charges: [{ amount: '125.10', cpt: '99213', modifiers: ['25'] }, { amount: '19.99', qty: '3', cpt: '36415' }] }));
    await client.send(dft({ controlId: 'API-BAD', visit: 'VBAD', charges: [{ date: '20241399' }] }));
    await client.close();
  });

  afterAll(async () => {
    await svc.stop();
    await db.drop();
  });

  it('serves health without a token and everything else only with it', async () => {
    const h = await get('/api/health', null);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', database: { ok: true }, listener: { listening: true, port: svc.mllpPort } });
    expect((await get('/api/messages', null)).status).toBe(401);
    expect((await get('/api/messages', 'wrong-token-wrong-token1')).status).toBe(401);
    expect((await get('/api/messages')).status).toBe(200);
  });

  it('answers liveness and readiness without a token: ready means database, migrations, code sets and listener', async () => {
    expect(await get('/api/health/live', null)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get('/api/health/ready', null)).toEqual({
      status: 200, body: { status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, codeSets: { ok: true }, listener: { ok: true } } },
    });
    // A migration recorded as not applied: not ready, and it says why.
    const [last] = await db.query<{ id: number; timestamp: string; name: string }>(`SELECT id, timestamp::text, name FROM schema_migration ORDER BY id DESC LIMIT 1`);
    await db.query(`DELETE FROM schema_migration WHERE id = $1`, [last?.id]);
    try {
      expect(await get('/api/health/ready', null)).toMatchObject({ status: 503, body: { status: 'not_ready', checks: { migrations: { ok: false, detail: 'migrations pending' } } } });
    } finally {
      await db.query(`INSERT INTO schema_migration (id, timestamp, name) VALUES ($1, $2, $3)`, [last?.id, last?.timestamp, last?.name]);
    }
    expect((await get('/api/health/ready', null)).status).toBe(200);
  });

  it('answers a body over its limit with 413 and a malformed one with 400, not 500', async () => {
    const post = async (path: string, type: string, body: string, token: string | null = TEST_TOKEN): Promise<{ status: number; body: any }> => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type, ...(token !== null ? { authorization: `Bearer ${token}` } : {}) }, body });
      return { status: res.status, body: await res.json() };
    };
    const huge = JSON.stringify({ encounterIds: ['1'], pad: 'x'.repeat(20_000_000) });
    expect(await post('/api/claims/build', 'application/json', huge)).toEqual({ status: 413, body: { error: 'payload_too_large', message: 'the request body is larger than this route takes (5242880 bytes)' } });
    expect((await post('/api/claims/build', 'application/json', '{not json')).status).toBe(400);
    expect((await post('/signin', 'application/x-www-form-urlencoded', `email=${'x'.repeat(2_000_000)}`, null)).status).toBe(413);
    // The service is still answering.
    expect((await get('/api/messages')).status).toBe(200);
  });

  it('exposes Prometheus metrics with the token (and on METRICS_PORT without one): messages, ACK latency, connections, claims', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^hl7c_messages_total\{type="DFT\^P03",status="processed",ack="AA"\} [1-9]/m);
    expect(text).toMatch(/^hl7c_messages_total\{type="DFT\^P03",status="error",ack="AE"\} [1-9]/m);
    expect(text).toMatch(/^hl7c_ack_latency_seconds_count [1-9]/m);
    expect(text).toMatch(/^hl7c_group_commit_size_count [1-9]/m);
    expect(text).toMatch(/^hl7c_mllp_connections 0$/m);
    expect(text).toMatch(/^hl7c_messages_in_error [1-9]/m);
    expect(text).toMatch(/^hl7c_db_pool_connections\{state="total"\} [1-9]/m);
    expect(text).toMatch(/^hl7c_process_resident_memory_bytes /m);
    // A scraper on a private network: its own port, no token.
    const scraped = await startTestService(db.url, { METRICS_PORT: 0 });
    try {
      const port = scraped.app.get(MetricsServer).port;
      const plain = await fetch(`http://127.0.0.1:${port ?? 0}/metrics`);
      expect(plain.status).toBe(200);
      expect(await plain.text()).toMatch(/^hl7c_claims|^# HELP hl7c_claims /m);
      expect((await fetch(`http://127.0.0.1:${port ?? 0}/other`)).status).toBe(404);
    } finally {
      await scraped.stop();
    }
  });

  it('serves the OpenAPI document at /docs', async () => {
    const doc = await get('/docs/json', null);
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/messages', '/api/messages/{id}', '/api/messages/{id}/reprocess', '/api/encounters', '/api/encounters/{id}', '/api/health']));
    expect((await get('/docs', null)).status).toBe(200);
  });

  it('lists messages with filters and validates the query', async () => {
    const all = await get('/api/messages');
    expect(all.body.total).toBe(2);
    const errors = await get('/api/messages?status=error');
    expect(errors.body.items).toEqual([expect.objectContaining({ controlId: 'API-BAD', type: 'DFT^P03', status: 'error', error: 'FT1-4: is not a valid HL7 date/time (YYYYMMDD[HHMM[SS]][+ZZZZ])' })]);
    expect((await get('/api/messages?type=DFT^P03&controlId=API-1')).body.items).toHaveLength(1);
    expect((await get('/api/messages?status=nonsense')).status).toBe(400);
    expect((await get('/api/messages?limit=0')).status).toBe(400);
    expect((await get('/api/messages?unknown=1')).status).toBe(400);
  });

  it('returns one message with its raw text', async () => {
    const list = await get('/api/messages?controlId=API-1');
    const one = await get(`/api/messages/${list.body.items[0].id}`);
    expect(one.body).toMatchObject({ controlId: 'API-1', status: 'processed', ackCode: 'AA', charges: 2 });
    expect(one.body.raw).toContain('|API-1|P|2.5.1');
    expect((await get('/api/messages/999999')).status).toBe(404);
    expect((await get('/api/messages/abc')).status).toBe(400);
  });

  it('finds encounters and returns one with patient, coverages, diagnoses and charges (amounts as decimal strings)', async () => {
    const list = await get('/api/encounters?visitNumber=VAPI');
    expect(list.body.total).toBe(1);
    const byMrn = await get('/api/encounters?mrn=MRN1');
    expect(byMrn.body.items.map((e: { visitNumber: string }) => e.visitNumber)).toContain('VAPI');
    const e = await get(`/api/encounters/${list.body.items[0].id}`);
    expect(e.body.patient).toMatchObject({ mrn: 'MRN1', familyName: 'DOE', birthDate: '1980-02-14' });
    expect(e.body.coverages).toEqual([expect.objectContaining({ setId: 1, payerId: 'PAYER01', memberId: 'MEM123456' })]);
    expect(e.body.diagnoses).toEqual([expect.objectContaining({ code: 'E11.9', codingSystem: 'I10', priority: 1 })]);
    expect(e.body.charges).toEqual([
      expect.objectContaining({ transactionId: 'TAPI-1-1', serviceDate: '2024-01-05', code: '99213', modifiers: ['25'], quantity: '1.000', amount: '125.10', status: 'posted' }),
      expect.objectContaining({ transactionId: 'TAPI-1-2', code: '36415', quantity: '3.000', amount: '19.99', status: 'posted' }),
    ]);
  });

  it('reprocesses a message in error once it is fixed, applying it exactly once', async () => {
    const bad = (await get('/api/messages?controlId=API-BAD')).body.items[0];
    // Still broken: reprocessing keeps it in error and counts the attempt.
    const again = await post(`/api/messages/${bad.id}/reprocess`);
    expect(again.body).toMatchObject({ previousStatus: 'error', status: 'error', charges: 0 });
    // An operator corrects the stored message (the date of service), then reprocesses it.
    await db.query(`UPDATE inbound_message SET raw = convert_to(replace(convert_from(raw, 'UTF8'), '20241399', '20241130'), 'UTF8') WHERE id = $1`, [bad.id]);
    const fixed = await post(`/api/messages/${bad.id}/reprocess`);
    expect(fixed.status).toBe(200);
    expect(fixed.body).toMatchObject({ previousStatus: 'error', status: 'processed', charges: 1 });
    const twice = await post(`/api/messages/${bad.id}/reprocess`);
    expect(twice.status).toBe(409);
    const rows = await db.query<{ n: string; attempts: number }>(
      `SELECT (SELECT count(*) FROM charge WHERE message_id = $1)::text AS n, attempts FROM inbound_message WHERE id = $1`,
      [bad.id],
    );
    expect(rows[0]).toEqual({ n: '1', attempts: 3 });
    expect((await post('/api/messages/424242/reprocess')).status).toBe(404);
  });

  it('entities and migrations describe the same schema', async () => {
    const ds = createDataSource(db.url, 1);
    await ds.initialize();
    try {
      expect(ENTITIES.length).toBeGreaterThan(5);
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });
});
