import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { setRootLogger } from '../src/common/logger';
import { parseMessage, splitBatch } from '../src/lib/hl7v2';
import { createTestDatabase, type TestDatabase } from './support/db';
import { MllpClient } from './support/mllp-client';
import { startTestService } from './support/service';

const FIXTURES = join(__dirname, '..', 'fixtures', 'hl7');
const files = ['adt', 'dft', 'other', 'batch', 'malformed'].flatMap((dir) =>
  readdirSync(join(FIXTURES, dir)).map((f) => ({ dir, name: `${dir}/${f}`, bytes: readFileSync(join(FIXTURES, dir, f)) })),
);

/** Values that are PHI in the sample messages: names, birth dates, member ids, street addresses. */
function phiValues(text: string): string[] {
  const out = new Set<string>();
  for (const m of splitBatch(text).messages) {
    let msg;
    try {
      msg = parseMessage(m);
    } catch {
      continue;
    }
    for (const path of ['PID-5.1', 'PID-5.2', 'PID-7', 'PID-11.1', 'PID-19', 'IN1-36', 'IN1-16.1', 'GT1-3.1', 'PID-13']) {
      for (const v of msg.getAll(path)) if (v.trim().length >= 4 && !/^\d{1,6}$/.test(v.trim())) out.add(v.trim());
    }
  }
  return [...out];
}

describe('the published sample corpus over MLLP', () => {
  let db: TestDatabase;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  const logLines: string[] = [];

  beforeAll(async () => {
    // Capture every log line the service writes while it handles the corpus, at the most verbose level.
    setRootLogger(
      pino(
        { level: 'trace', base: { service: 'hl7-claims' } },
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            logLines.push(chunk.toString('utf8'));
            cb();
          },
        }),
      ),
    );
    db = await createTestDatabase();
    svc = await startTestService(db.url);
  });

  afterAll(async () => {
    await svc.stop();
    await db.drop();
    setRootLogger(pino({ level: 'silent' }));
  });

  it('answers every file with exactly one ACK: positive for the well-formed, AE/AR (or CR) with a reason for the malformed', async () => {
    const client = await MllpClient.connect(svc.mllpPort);
    for (const f of files) {
      const before = client.received.length;
      const ack = parseMessage(await client.send(f.bytes));
      const code = ack.get('MSA-1');
      if (f.dir === 'malformed') {
        expect({ file: f.name, positive: ['AA', 'CA'].includes(code) }).toEqual({ file: f.name, positive: false });
        expect(ack.get('ERR-8')).not.toBe('');
      } else {
        expect({ file: f.name, code }).toEqual({ file: f.name, code: expect.stringMatching(/^(AA|CA)$/) });
      }
      // MSA-2 echoes MSH-10 (or the batch's BHS-11).
      const text = f.bytes.toString('latin1');
      const batch = splitBatch(text);
      const expected = batch.envelope ? (batch.envelope.batchControlIds[0] ?? '') : (() => {
        try {
          return parseMessage(batch.messages[0] ?? text).controlId;
        } catch {
          return '';
        }
      })();
      expect({ file: f.name, msa2: ack.get('MSA-2') }).toEqual({ file: f.name, msa2: expected });
      // Nothing else arrives for this frame.
      await new Promise((r) => setTimeout(r, 5));
      expect(client.received.length).toBe(before + 1);
    }
    await client.close();
    const stored = await db.query<{ n: string }>(`SELECT count(DISTINCT raw)::text AS n FROM inbound_message`);
    expect(Number(stored[0]?.n)).toBeGreaterThanOrEqual(files.length - 10);
  });

  it('writes no PHI from the corpus into the logs', () => {
    expect(logLines.length).toBeGreaterThan(files.length);
    const log = logLines.join('');
    // A value counts as leaked when it stands as a token of its own (not as part of a longer word or id).
    const present = (v: string): boolean => new RegExp(`(?<![A-Za-z0-9])${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`).test(log);
    const leaks = files.flatMap((f) => phiValues(f.bytes.toString('latin1')).filter(present).map((v) => `${f.name}: ${v}`));
    expect(leaks).toEqual([]);
    // And no raw segment text.
    expect(log).not.toMatch(/PID\|/);
    expect(log).not.toMatch(/FT1\|/);
  });
});
