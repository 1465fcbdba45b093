/**
 * Load generator, run as its own process (forked by the benchmark) so that it does not share an
 * event loop with the service: C connections, each sending a DFT^P03 and waiting for its ACK
 * before the next, for a fixed time. Reports every ACK's latency and the control ids answered AA.
 */
import net from 'node:net';
import { MllpDecoder, encodeFrame } from '../../src/lib/mllp';
import { benchDft, benchDftBuilder } from './message';

interface Job {
  port: number;
  connections: number;
  seconds: number;
  prefix: string;
  /** 0: every message a new patient and visit; N: messages spread over N known visits. */
  visits: number;
}

export interface LoadResult {
  sent: number;
  acked: string[];
  notAcked: number;
  latenciesMs: number[];
  elapsedMs: number;
  /** CPU time this load generator used for the run, in microseconds. */
  cpuUs: number;
}

const MSA_AA = /\rMSA\|(?:AA|CA)\|([^|\r]*)/;

const message = benchDftBuilder();

async function connection(job: Job, n: number, until: bigint, out: LoadResult): Promise<void> {
  const socket = net.connect(job.port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new MllpDecoder();
  let waiting: ((ack: string) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    for (const ev of decoder.push(chunk)) if (ev.type === 'frame' && waiting) waiting(ev.payload.toString('latin1'));
  });
  for (let i = 0; process.hrtime.bigint() < until; i++) {
    const id = `${job.prefix}${n}-${i}`;
    const frame = encodeFrame(message(id, job.visits > 0 ? (n * 7919 + i) % job.visits : n * 100000 + i));
    const start = process.hrtime.bigint();
    const ack = await new Promise<string>((resolve) => {
      waiting = resolve;
      socket.write(frame);
    });
    out.latenciesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    out.sent++;
    const m = MSA_AA.exec(ack);
    if (m && m[1] === id) out.acked.push(id);
    else out.notAcked++;
  }
  socket.end();
}

async function run(job: Job): Promise<LoadResult> {
  // The builder must send exactly the bench message.
  for (const [id, p] of [['CHECK-1', 0], [`${job.prefix}0-0`, 123456]] as const) {
    if (message(id, p) !== benchDft(id, p)) throw new Error('the load generator\'s message builder differs from benchDft');
  }
  const out: LoadResult = { sent: 0, acked: [], notAcked: 0, latenciesMs: [], elapsedMs: 0, cpuUs: 0 };
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(job.seconds * 1e9));
  await Promise.all(Array.from({ length: job.connections }, (_, n) => connection(job, n, until, out)));
  out.elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  out.cpuUs = used.user + used.system;
  return out;
}

process.on('message', (job: Job) => {
  void run(job).then((r) => {
    process.send?.(r, () => process.exit(0));
  });
});
