/**
 * The soak's load generator, a process of its own (forked by soak.ts) so that its event loop is
 * not the service's nor the orchestrator's. C connections share one schedule of RATE messages a
 * second: each connection takes the next message when it is due (or at once when behind), sends
 * it and waits for its ACK. The mix (see nextFrame): ADT^A04 registrations and A08 updates,
 * DFT^P03 charges on new and recent visits, resends of earlier messages (same bytes), junk frames.
 * Every 10 s it reports the window's ACK latencies; at the end it writes which messages were
 * answered AA (a byte per message number) to the file it was given.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { MllpDecoder, encodeFrame } from '../../src/lib/mllp';
import { adt, dft } from '../support/hl7';
import { rng } from '../support/rng';

export interface SoakLoadJob {
  port: number;
  connections: number;
  rate: number;
  seconds: number;
  /** Where the AA map goes: byte k is 1 when message k was answered AA, 2 when answered otherwise, 0 unanswered. */
  outFile: string;
}

export interface SoakWindow {
  type: 'window';
  atSeconds: number;
  sent: number;
  p50: number;
  p99: number;
  max: number;
  notAa: number;
}

export interface SoakLoadDone {
  type: 'done';
  messages: number;
  dfts: number;
  charges: number;
  resends: number;
  junk: number;
  acks: number;
  unanswered: number;
  elapsedSeconds: number;
}

interface Visit {
  mrn: string;
  visit: string;
  /** The procedures already charged on it. */
  billed: Set<string>;
}

/** Laboratory tests (CPT) and their charges. */
const LABS: [string, string][] = [['36415', '18.37'], ['80053', '54.20'], ['85025', '31.75'], ['81002', '12.10'], ['84443', '61.00'], ['82947', '14.90'], ['83036', '38.45'], ['80061', '47.30'], ['84153', '70.15'], ['87086', '29.99']];

const percentile = (sorted: number[], p: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number));

function run(job: SoakLoadJob): void {
  const r = rng(Number(process.env.SOAK_SEED ?? 17));
  const capacity = Math.ceil(job.rate * job.seconds * 1.05) + 1000;
  const answered = new Uint8Array(capacity);
  const recent: { k: number; bytes: Buffer }[] = [];
  let next = 0; // scheduled slots taken
  let k = 0; // message numbers used (resends and junk take a slot, not a number)
  const counts = { dfts: 0, charges: 0, resends: 0, junk: 0, acks: 0, unanswered: 0 };
  let window: number[] = [];
  let windowNotAa = 0;
  let sentInWindow = 0;
  const start = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - start) / 1e6;
  const endMs = job.seconds * 1000;

  /** Visits still receiving charges (a feed sends a visit's charges in a few DFTs over a short time). */
  const open: Visit[] = [];
  const remember = (v: Visit): void => {
    if (open.length < 600) open.push(v);
    else open[Math.floor(r() * open.length)] = v;
  };
  const recentVisit = (): Visit | undefined => open[Math.floor(r() * open.length)];

  /**
   * The next frame to send: [payload, message number or -1 for junk]. The mix: 3% resends of an
   * earlier message, 2% junk, 10% ADT^A04 (a new patient and visit), 40% ADT^A08 (an update to a
   * visit), 45% DFT^P03 with 1-3 charges, a fifth of them on a new visit and the rest on a visit
   * registered or charged a moment ago.
   */
  const nextFrame = (): [Buffer, number] => {
    const x = r();
    if (x < 0.03 && recent.length > 0) {
      counts.resends++;
      const old = recent[Math.floor(r() * recent.length)] as { k: number; bytes: Buffer };
      return [old.bytes, old.k];
    }
    if (x < 0.05) {
      counts.junk++;
      const junk = r() < 0.5 ? `MSH|${'x'.repeat(Math.floor(r() * 200))}` : Buffer.from(Array.from({ length: 1 + Math.floor(r() * 300) }, () => 32 + Math.floor(r() * 90))).toString('latin1');
      return [Buffer.from(junk, 'latin1'), -1];
    }
    const n = k++;
    const id = `SK${n}`;
    let text: string;
    const known = recentVisit();
    if (x < 0.15 || known === undefined) {
      const v: Visit = { mrn: `SKM${n}`, visit: `SKV${n}`, billed: new Set() };
      remember(v);
      text = adt('A04', id, v.mrn, v.visit);
    } else if (x < 0.55) {
      text = adt('A08', id, known.mrn, known.visit);
    } else {
      // A visit's charges: the office visit once, then tests not yet billed on it (a test twice
      // on one day is a duplicate line the scrubber holds; feeds seldom send that).
      let v = known;
      if (r() < 0.2 || LABS.every((l) => v.billed.has(l[0]))) {
        v = { mrn: `SKM${n}`, visit: `SKV${n}`, billed: new Set() };
        remember(v);
      }
      const codes: [string, string][] = [];
      if (!v.billed.has('99213')) codes.push(['99213', '125.00']);
      for (const lab of LABS) if (codes.length < 1 + Math.floor(r() * 3) && !v.billed.has(lab[0]) && r() < 0.5) codes.push(lab);
      if (codes.length === 0) codes.push(LABS.find((l) => !v.billed.has(l[0])) as [string, string]);
      for (const [cpt] of codes) v.billed.add(cpt);
      counts.dfts++;
      counts.charges += codes.length;
      text = dft({ controlId: id, mrn: v.mrn, visit: v.visit, charges: codes.map(([cpt, amount]) => ({ cpt: `${cpt}^^C4`, amount, date: '20240105' })) });
    }
    const bytes = Buffer.from(text, 'latin1');
    if (recent.length < 2000) recent.push({ k: n, bytes });
    else recent[Math.floor(r() * recent.length)] = { k: n, bytes };
    return [bytes, n];
  };

  const connection = async (): Promise<void> => {
    const socket = net.connect(job.port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const decoder = new MllpDecoder();
    let waiting: ((ack: string | null) => void) | undefined;
    socket.on('data', (b: Buffer) => {
      for (const ev of decoder.push(b)) {
        if (ev.type !== 'frame') continue;
        const w = waiting;
        waiting = undefined;
        w?.(ev.payload.toString('latin1'));
      }
    });
    socket.on('close', () => {
      const w = waiting;
      waiting = undefined;
      w?.(null);
    });
    for (;;) {
      const slot = next++;
      const due = (slot / job.rate) * 1000;
      if (due >= endMs) break;
      const wait = due - elapsedMs();
      if (wait > 1) await new Promise((res) => setTimeout(res, wait));
      const [payload, n] = nextFrame();
      const t0 = process.hrtime.bigint();
      const ack = await new Promise<string | null>((resolve) => {
        waiting = resolve;
        const timer = setTimeout(() => {
          if (waiting === resolve) {
            waiting = undefined;
            resolve(null);
          }
        }, 30_000);
        timer.unref();
        socket.write(encodeFrame(payload));
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      sentInWindow++;
      if (ack === null) {
        counts.unanswered++;
        if (socket.destroyed) return;
        continue;
      }
      counts.acks++;
      window.push(ms);
      const aa = /\rMSA\|(?:AA|CA)\|/.test(ack);
      if (!aa && n >= 0) windowNotAa++;
      if (n >= 0 && answered[n] !== 1) answered[n] = aa ? 1 : 2;
    }
    socket.end();
  };

  const reporter = setInterval(() => {
    const sorted = window.sort((a, b) => a - b);
    const w: SoakWindow = { type: 'window', atSeconds: Math.round(elapsedMs() / 1000), sent: sentInWindow, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0, notAa: windowNotAa };
    window = [];
    windowNotAa = 0;
    sentInWindow = 0;
    process.send?.(w);
  }, 10_000);

  void Promise.all(Array.from({ length: job.connections }, () => connection())).then(() => {
    clearInterval(reporter);
    writeFileSync(job.outFile, answered.subarray(0, k));
    const done: SoakLoadDone = { type: 'done', messages: k, ...counts, elapsedSeconds: Math.round(elapsedMs() / 1000) };
    process.send?.(done, () => process.exit(0));
  }, (e: unknown) => {
    process.stderr.write(`soak load failed: ${String(e)}\n`);
    process.exit(1);
  });
}

process.once('message', (job: SoakLoadJob) => {
  run(job);
});
