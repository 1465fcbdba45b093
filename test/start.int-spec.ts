import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_PRACTICE_FILE } from '../src/modules/practice/practice.service';
import { createTestDatabase, type TestDatabase } from './support/db';

// bin/ensure-built.js is plain JavaScript run before anything is built.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { staleReason } = require('../bin/ensure-built.js') as { staleReason: (root: string) => string | null };

const ROOT = join(__dirname, '..');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => { resolve(false); });
  });
}

/** `npm start` as a process manager runs it: started, then SIGTERM to npm itself. */
describe('npm start', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  it('builds only when the sources are newer than dist/', () => {
    const root = mkdtempSync(join(tmpdir(), 'hl7c-built-'));
    mkdirSync(join(root, 'src'));
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'src', 'main.ts'), '');
    expect(staleReason(root)).toBe('dist/main.js is missing');
    writeFileSync(join(root, 'dist', 'main.js'), '');
    const now = Date.now() / 1000;
    utimesSync(join(root, 'src', 'main.ts'), now - 100, now - 100);
    utimesSync(join(root, 'dist', 'main.js'), now - 50, now - 50);
    expect(staleReason(root)).toBeNull();
    writeFileSync(join(root, 'tsconfig.json'), '{}');
    expect(staleReason(root)).toBe('sources changed since the last build');
  });

  it('stops the service when npm gets SIGTERM (npm passes it on), within the drain time', async () => {
    const env = {
      ...process.env, DATABASE_URL: db.url, MLLP_PORT: '0', HTTP_PORT: '0', API_TOKEN: 'start-test-token-0123456789', DATA_DIR: mkdtempSync(join(tmpdir(), 'hl7c-start-')),
      PRACTICE_FILE: EXAMPLE_PRACTICE_FILE, LOG_LEVEL: 'info',
    };
    // Its own process group, so that whatever happens nothing it started outlives the test.
    const npm = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['start', '--silent'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => { resolve(code); }));
    try {
      // Started: the service says on which ports (a build first when dist/ is stale).
      const started = Date.now();
      let ports: { httpPort: number; mllpPort: number } | undefined;
      while (ports === undefined && Date.now() - started < 100_000) {
        const line = out.split('\n').find((l) => l.includes('"event":"service_started"'));
        if (line !== undefined) ports = JSON.parse(line) as { httpPort: number; mllpPort: number };
        else await new Promise((r) => setTimeout(r, 200));
      }
      expect(ports).toBeDefined();
      expect(await portOpen(ports?.mllpPort ?? 0)).toBe(true);
      npm.kill('SIGTERM');
      expect(await exited).not.toBeNull();
      // The service itself has stopped, not only npm: its ports are closed and it said so.
      const deadline = Date.now() + 15_000;
      while ((await portOpen(ports?.mllpPort ?? 0)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await portOpen(ports?.mllpPort ?? 0)).toBe(false);
      expect(await portOpen(ports?.httpPort ?? 0)).toBe(false);
      expect(out).toContain('"event":"service_stopped"');
    } finally {
      try {
        process.kill(-(npm.pid as number), 'SIGKILL');
      } catch {
        // the group is gone: nothing outlived npm
      }
      npm.stdout.destroy();
      npm.stderr.destroy();
    }
  }, 150_000);
});
