import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseMessage } from '../src/lib/hl7v2';
import { MllpDecoder, encodeFrame } from '../src/lib/mllp';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { startTestService } from './support/service';

type Svc = Awaited<ReturnType<typeof startTestService>>;

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => {
      resolve();
    });
  });
}

describe('MLLP listener options', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  it('decodes ISO-8859-1 when configured, and honours MSH-18 per message', async () => {
    const svc = await startTestService(db.url, { MLLP_CHARSET: 'iso-8859-1' });
    try {
      const client = await MllpClient.connect(svc.mllpPort);
      const latin = Buffer.from(dft({ controlId: 'CS-1', mrn: 'CSMRN1', visit: 'VCS1' }).replace('DOE^JANE', 'MÜLLER^JOSÉ'), 'latin1');
      expect(parseMessage(await client.send(latin)).get('MSA-1')).toBe('AA');
      // MSH-18 says UTF-8: the bytes are read as UTF-8 even on an ISO-8859-1 listener.
      const utf8 = Buffer.from(dft({ controlId: 'CS-2', mrn: 'CSMRN2', visit: 'VCS2' }).replace('DOE^JANE', 'ÅSTRÖM^SIRI').replace('|P|2.5.1', '|P|2.5.1||||||UNICODE UTF-8'), 'utf8');
      expect(parseMessage(await client.send(utf8)).get('MSA-1')).toBe('AA');
      await client.close();
      const names = await db.query<{ mrn: string; family_name: string }>(`SELECT mrn, family_name FROM patient WHERE mrn IN ('CSMRN1', 'CSMRN2') ORDER BY mrn`);
      expect(names).toEqual([{ mrn: 'CSMRN1', family_name: 'MÜLLER' }, { mrn: 'CSMRN2', family_name: 'ÅSTRÖM' }]);
      const raw = await db.query<{ raw: Buffer; charset: string }>(`SELECT raw, charset FROM inbound_message WHERE control_id = 'CS-1'`);
      expect(raw[0]?.charset).toBe('iso-8859-1');
      expect(raw[0]?.raw.equals(latin)).toBe(true);
    } finally {
      await svc.stop();
    }
  });

  it('refuses addresses outside MLLP_ALLOW', async () => {
    const svc = await startTestService(db.url, { MLLP_ALLOW: '10.1.2.0/24' });
    try {
      const socket = net.connect(svc.mllpPort, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(encodeFrame(dft({ controlId: 'DENIED', visit: 'VD' })));
      await closed(socket);
      const rows = await db.query(`SELECT 1 FROM inbound_message WHERE control_id = 'DENIED'`);
      expect(rows).toHaveLength(0);
    } finally {
      await svc.stop();
    }
    const open = await startTestService(db.url, { MLLP_ALLOW: '127.0.0.0/8, ::1' });
    try {
      const client = await MllpClient.connect(open.mllpPort);
      expect(parseMessage(await client.send(dft({ controlId: 'ALLOWED', visit: 'VA' }))).get('MSA-1')).toBe('AA');
      await client.close();
    } finally {
      await open.stop();
    }
  });

  it('closes idle connections and caps the number of connections', async () => {
    const svc = await startTestService(db.url, { MLLP_IDLE_TIMEOUT_MS: 300, MLLP_MAX_CONNECTIONS: 2 });
    try {
      const a = net.connect(svc.mllpPort, '127.0.0.1');
      const b = net.connect(svc.mllpPort, '127.0.0.1');
      await Promise.all([a, b].map((s) => new Promise((r) => s.once('connect', r))));
      await new Promise((r) => setTimeout(r, 50));
      const c = net.connect(svc.mllpPort, '127.0.0.1');
      c.on('error', () => undefined);
      await closed(c); // over the cap: dropped at once
      const started = Date.now();
      await Promise.all([closed(a), closed(b)]); // idle: closed by the server
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await svc.stop();
    }
  });

  it('serves MLLP over TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hl7c-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const svc = await startTestService(db.url, { MLLP_TLS_CERT: cert, MLLP_TLS_KEY: key });
    try {
      const socket = tls.connect({ port: svc.mllpPort, host: '127.0.0.1', ca: readFileSync(cert), servername: 'localhost' });
      await new Promise((r) => socket.once('secureConnect', r));
      const decoder = new MllpDecoder();
      const ack = new Promise<string>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          for (const ev of decoder.push(chunk)) if (ev.type === 'frame') resolve(ev.payload.toString('utf8'));
        });
      });
      socket.write(encodeFrame(dft({ controlId: 'TLS-1', visit: 'VT1' })));
      expect(parseMessage(await ack).get('MSA-1')).toBe('AA');
      socket.end();
      const health = (await (await fetch(`http://127.0.0.1:${svc.httpPort}/api/health`)).json()) as { listener: { tls: boolean } };
      expect(health.listener.tls).toBe(true);
      // A plain-TCP client gets no ACK from a TLS listener.
      const plain = net.connect(svc.mllpPort, '127.0.0.1');
      plain.on('error', () => undefined);
      plain.write(encodeFrame(dft({ controlId: 'PLAIN', visit: 'VP' })));
      await closed(plain);
      expect(await db.query(`SELECT 1 FROM inbound_message WHERE control_id = 'PLAIN'`)).toHaveLength(0);
    } finally {
      await svc.stop();
    }
  });

  it('finishes and acknowledges frames in flight on graceful shutdown, then refuses new connections', async () => {
    const svc: Svc = await startTestService(db.url);
    const client = await MllpClient.connect(svc.mllpPort);
    const ids = Array.from({ length: 30 }, (_, i) => `GS-${i}`);
    client.write(Buffer.concat(ids.map((id) => encodeFrame(dft({ controlId: id, visit: `VGS${id}` })))));
    await new Promise((r) => setTimeout(r, 20));
    const port = svc.mllpPort;
    await svc.stop();
    const acks = await client.waitForAcks(ids.length, 10_000);
    expect(acks.map((a) => parseMessage(a).get('MSA-2'))).toEqual(ids);
    expect(acks.every((a) => parseMessage(a).get('MSA-1') === 'AA')).toBe(true);
    const n = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM inbound_message WHERE control_id LIKE 'GS-%' AND status = 'processed'`);
    expect(n[0]?.n).toBe('30');
    await expect(MllpClient.connect(port)).rejects.toThrow();
  });
});
