import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/db';
import { startTestService } from './support/service';

/** Routes anyone may call: the load balancer's and monitoring's health checks. */
const PUBLIC = new Set(['GET /api/health', 'GET /api/health/live', 'GET /api/health/ready']);

interface Operation {
  security?: Record<string, string[]>[];
}
interface OpenApiDoc {
  openapi: string;
  security?: Record<string, string[]>[];
  components?: { securitySchemes?: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * The OpenAPI document the service publishes (/docs/json): it passes a linter (Redocly's
 * recommended rules), and every route in it is covered by auth, in the document (a bearer
 * security requirement) and in fact (called without credentials it answers 401).
 */
describe('the OpenAPI document', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let doc: OpenApiDoc;

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startTestService(db.url);
    const res = await fetch(`http://127.0.0.1:${svc.httpPort}/docs/json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDoc;
  });

  afterAll(async () => {
    await svc.stop();
    await db.drop();
  });

  it('passes the linter without an error', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hl7c-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const run = spawnSync(process.execPath, [join(__dirname, 'support', 'openapi-lint.mjs'), file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const problems = JSON.parse(run.stdout) as { rule: string; severity: string; message: string; at?: string }[];
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    // Two warnings are left, on purpose: a health check has no 4XX answer to document (it answers
    // 200 or 503 to anyone), and the package is UNLICENSED (private), so there is no licence URL.
    const accepted = (p: { rule: string; at?: string }): boolean =>
      (p.rule === 'operation-4xx-response' && /^#\/paths\/~1api~1health/.test(p.at ?? '')) || (p.rule === 'info-license-strict' && p.at === '#/info/license/url');
    expect(problems.filter((p) => !accepted(p))).toEqual([]);
  });

  it('covers every route with auth: a bearer requirement in the document, and 401 without credentials', async () => {
    expect(doc.components?.securitySchemes?.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    const routes: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = ops[method];
        if (op === undefined) continue;
        const route = `${method.toUpperCase()} ${path}`;
        routes.push(route);
        if (PUBLIC.has(route)) {
          expect({ route, security: op.security }).toEqual({ route, security: [] });
          continue;
        }
        expect({ route, public: op.security?.length === 0 }).toEqual({ route, public: false });
        const security = op.security ?? doc.security ?? [];
        expect({ route, security }).toEqual({ route, security: expect.arrayContaining([{ bearer: [] }]) });
        const url = `http://127.0.0.1:${svc.httpPort}${path.replace(/\{[^}]+\}/g, '1')}`;
        const res = await fetch(url, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: method === 'get' || method === 'delete' ? undefined : '{}' });
        expect({ route, status: res.status }).toEqual({ route, status: 401 });
      }
    }
    // The document lists the API (a route lost from it would escape this check).
    expect(routes.length).toBeGreaterThan(30);
    for (const r of PUBLIC) expect(routes).toContain(r);
  });
});
