import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMessage } from '../src/lib/hl7v2';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { freePort } from './support/net';

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`service did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('crash right after AA', () => {
  let db: TestDatabase;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await db.drop();
  });

  it('loses nothing that was acknowledged when the process is killed (SIGKILL) mid-stream', async () => {
    const mllpPort = await freePort();
    const httpPort = await freePort();
    child = spawn(process.execPath, ['-r', join(__dirname, 'support', 'ts-register.js'), join(__dirname, '..', 'src', 'main.ts')], {
      env: {
        ...process.env, DATABASE_URL: db.url, MLLP_PORT: String(mllpPort), HTTP_PORT: String(httpPort), API_TOKEN: 'crash-test-token-0123456789',
        LOG_LEVEL: 'silent', DATA_DIR: mkdtempSync(join(tmpdir(), 'hl7c-crash-')), DB_POOL_SIZE: '4',
      },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((r) => child?.once('exit', () => {
      r();
    }));
    await waitForPort(mllpPort, 60_000);

    const acked = new Set<string>();
    const sent = new Map<string, number>();
    const killAfter = 60;
    let killed = false;
    const senders = Array.from({ length: 4 }, async (_, s) => {
      const client = await MllpClient.connect(mllpPort);
      for (let i = 0; !killed; i++) {
        const id = `CRASH-${s}-${i}`;
        const ft1 = 1 + (i % 3);
        sent.set(id, ft1);
        let ack: string;
        try {
          ack = await client.send(dft({ controlId: id, visit: `VC${s}-${i}`, charges: Array.from({ length: ft1 }, () => ({ amount: '1.00' })) }), 5_000);
        } catch {
          break; // the connection died with the process
        }
        if (parseMessage(ack).get('MSA-1') === 'AA') acked.add(id);
        if (acked.size >= killAfter) {
          killed = true;
          child?.kill('SIGKILL');
        }
      }
    });
    await Promise.all(senders);
    await exited;
    expect(acked.size).toBeGreaterThanOrEqual(killAfter);

    const rows = await db.query<{ control_id: string; status: string; n: string }>(
      `SELECT m.control_id, m.status, (SELECT count(*) FROM charge c WHERE c.message_id = m.id)::text AS n FROM inbound_message m`,
    );
    const stored = new Map(rows.map((r) => [r.control_id, r]));
    for (const id of acked) {
      expect({ id, status: stored.get(id)?.status }).toEqual({ id, status: 'processed' });
    }
    // Everything stored is whole: each message has exactly the charges it carried.
    for (const r of rows) expect({ id: r.control_id, n: Number(r.n) }).toEqual({ id: r.control_id, n: sent.get(r.control_id) });
  });
});
