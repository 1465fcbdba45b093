import { parseMessage } from '../src/lib/hl7v2';
import { createTestDatabase, type TestDatabase } from './support/db';
import { dft } from './support/hl7';
import { MllpClient } from './support/mllp-client';
import { startTestService } from './support/service';
import { TcpProxy } from './support/tcp-proxy';

describe('database outage', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let svc: Awaited<ReturnType<typeof startTestService>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const u = new URL(db.url);
    proxy = new TcpProxy(u.hostname, Number(u.port || 5432));
    await proxy.start();
    svc = await startTestService(proxy.url(db.url));
  });

  afterAll(async () => {
    proxy.restore();
    await svc.stop();
    await proxy.stop();
    await db.drop();
  });

  it('never answers AA while the database is down, and accepts the same message once it is back', async () => {
    const client = await MllpClient.connect(svc.mllpPort);
    expect(parseMessage(await client.send(dft({ controlId: 'UP-1', visit: 'VO1' }))).get('MSA-1')).toBe('AA');

    proxy.cut();
    const during = dft({ controlId: 'DOWN-1', visit: 'VO2', charges: [{ amount: '10.00' }, { amount: '20.00' }] });
    for (let i = 0; i < 3; i++) {
      const ack = parseMessage(await client.send(during, 30_000));
      expect(ack.get('MSA-1')).toBe('AR');
      expect(ack.get('MSA-2')).toBe('DOWN-1');
      expect(ack.get('ERR-3.1')).toBe('207');
    }
    const health = await fetch(`http://127.0.0.1:${svc.httpPort}/api/health`);
    expect(health.status).toBe(503);

    proxy.restore();
    let code = '';
    // The pool reconnects on its own; the sender's resend is accepted (a few tries at most).
    for (let i = 0; i < 20 && code !== 'AA'; i++) {
      code = parseMessage(await client.send(during, 30_000)).get('MSA-1');
      if (code !== 'AA') await new Promise((r) => setTimeout(r, 250));
    }
    expect(code).toBe('AA');
    await client.close();

    const rows = await db.query<{ status: string; n: string }>(
      `SELECT m.status, (SELECT count(*) FROM charge c WHERE c.message_id = m.id)::text AS n FROM inbound_message m WHERE control_id = 'DOWN-1' ORDER BY id`,
    );
    expect(rows).toEqual([{ status: 'processed', n: '2' }]);
  });
});
