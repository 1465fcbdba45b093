import { benchParse } from './parse';
import { benchDft } from './message';
import { benchIntake, benchPeerServer, type IntakeResult } from './intake';
import { benchSerialize } from './x12';
import { benchBatch } from './batch';
import { benchScrub } from './scrub';
import { benchRemit } from './remit';
import { benchQueue } from './queue';

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const size = Buffer.byteLength(benchDft('BENCH000000'));
  process.stdout.write(`\n== Parse and extract: DFT^P03 of ${size} bytes (5 FT1, 3 DG1, escapes, repetitions); MSH-10, PID-3, PID-5, FT1-7/11/19, DG1-3, IN1-36\n`);
  const parse = benchParse(Math.min(seconds, 3));
  const best = Math.max(...parse.filter((p) => p.reader !== 'hl7-claims').map((p) => p.messagesPerSecond));
  for (const p of parse) {
    process.stdout.write(`  ${p.reader.padEnd(14)} ${String(p.messagesPerSecond).padStart(9)} msg/s   ${p.correct ? 'all values right, escapes decoded' : 'differs: ' + p.wrong.join(', ')}\n`);
  }
  const ours = parse.find((p) => p.reader === 'hl7-claims');
  process.stdout.write(`  hl7-claims: ${((ours?.messagesPerSecond ?? 0) / best).toFixed(1)}x the faster peer (required: 8x, values right)\n`);

  process.stdout.write('\n== 837P serialization in-process: 4-line professional claims, streaming batch writer (ISA/GS, 5,000 claims per ST)\n');
  const ser = benchSerialize(Math.min(seconds, 3));
  process.stdout.write(`  hl7-claims     ${String(ser.claimsPerSecond).padStart(9)} claims/s  (${ser.megabytesPerSecond} MB/s of X12; required: 20,000 claims/s -> ${ser.claimsPerSecond >= 20_000 ? 'met' : 'NOT met'})\n`);

  process.stdout.write('\n== Claim scrubber in-process: 4-line professional claims, all professional rules, shipped code sets (ICD-10-CM FY2025-FY2027, ICD-10-PCS, HCPCS, PFS, MCE), own process\n');
  const scrub = await benchScrub(Math.min(seconds, 3));
  process.stdout.write(
    `  code sets loaded in ${scrub.loadMs} ms, ${scrub.heapMb} MB of heap (process RSS ${scrub.rssMb} MB, TypeScript loader included)\n` +
      `  hl7-claims     ${String(scrub.claimsPerSecond).padStart(9)} claims/s  (${scrub.findingsPerClaim} findings per claim; required: 100,000 claims/s and load < 3 s -> ${scrub.claimsPerSecond >= 100_000 && scrub.loadMs < 3000 ? 'met' : 'NOT met'})\n`,
  );

  const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  process.stdout.write(`\n== Durable MLLP intake into PostgreSQL (${new URL(server).host}): DFT^P03 with 5 FT1, send-and-wait per connection, ${seconds} s each\n`);
  const intake = await benchIntake(server, [1, 8, 32], seconds);
  process.stdout.write('  connections   msg/s    p50 ms   p99 ms   AA     not AA   CPU us/msg: service  PostgreSQL  load   busy   AA verified in DB\n');
  const cpu = (r: IntakeResult): string =>
    `${String(r.cpuUs.service).padStart(19)} ${String(r.cpuUs.postgres ?? '-').padStart(11)} ${String(r.cpuUs.load).padStart(5)} ${(r.busyPercent === undefined ? '-' : `${r.busyPercent}%`).padStart(6)}`;
  for (const r of intake) {
    process.stdout.write(
      `  ${String(r.connections).padStart(11)} ${String(r.messagesPerSecond).padStart(7)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(8)}   ${String(r.acked).padEnd(6)} ${String(r.notAcked).padEnd(8)} ${cpu(r)}   ${r.verified === r.acked ? 'all' : `${r.verified} of ${r.acked}`}\n`,
    );
  }
  const [known] = await benchIntake(server, [32], seconds, 200);
  if (known) {
    process.stdout.write(
      `  ${'32*'.padStart(11)} ${String(known.messagesPerSecond).padStart(7)} ${known.p50.toFixed(2).padStart(9)} ${known.p99.toFixed(2).padStart(8)}   ${String(known.acked).padEnd(6)} ${String(known.notAcked).padEnd(8)} ${cpu(known)}   ${known.verified === known.acked ? 'all' : `${known.verified} of ${known.acked}`}   (* charges spread over 200 known visits instead of a new patient per message)\n`,
    );
  }
  process.stdout.write('  (CPU: the service process, its PostgreSQL backends and the load generator, per AA\'d message; busy: their share of all cores)\n');
  const at32 = intake.find((r) => r.connections === 32);
  process.stdout.write(`  required at 32 connections: >= 2000 msg/s and p99 < 50 ms -> ${at32 && at32.messagesPerSecond >= 2000 && at32.p99 < 50 && at32.verified === at32.acked ? 'met' : 'NOT met'}\n`);
  // The peers' MLLP servers under the same load: this machine's speed at the moment, without durability.
  process.stdout.write(`  peers' MLLP servers, ACK only, nothing stored (same load generator, 32 connections; each in its own process):\n`);
  for (const peer of ['simple-hl7', '@medplum/hl7'] as const) {
    const p = await benchPeerServer(peer, 32, seconds);
    process.stdout.write(
      `  ${peer.padEnd(14)} ${String(p.messagesPerSecond).padStart(7)} msg/s  p50 ${p.p50.toFixed(2)} ms  p99 ${p.p99.toFixed(2)} ms  AA ${p.acked}  not AA ${p.notAcked}  CPU us/msg: server ${p.cpuUs.server}, load ${p.cpuUs.load}` +
        (at32 ? `  (hl7-claims durable: ${((at32.messagesPerSecond / p.messagesPerSecond) * 100).toFixed(0)}% of it)` : '') + '\n',
    );
  }

  const batchClaims = Number(process.env.BENCH_BATCH_CLAIMS ?? 100_000);
  process.stdout.write(`\n== Batch creation from PostgreSQL: ${batchClaims} ready 4-line professional claims -> 837 files (streamed, stored in parts), own process\n`);
  const batch = await benchBatch(server, batchClaims);
  process.stdout.write(
    `  ${batch.claims} claims in ${batch.seconds.toFixed(1)} s, peak RSS ${batch.peakRssMb} MB, ${batch.files} file(s), ${(batch.bytes / 1e6).toFixed(1)} MB, ${batch.claimsInFiles} claims read back from the stored file` +
      ` (required: <= 60 s and <= 512 MB -> ${batch.seconds <= 60 && batch.peakRssMb <= 512 && batch.claimsInFiles === batch.claims ? 'met' : 'NOT met'})\n`,
  );

  const remitClaims = Number(process.env.BENCH_REMIT_CLAIMS ?? 100_000);
  process.stdout.write(`\n== 835 import into PostgreSQL: a payer's 835 for ${remitClaims} submitted 5-line claims (CAS on every line, RARCs, denied lines, reversal and correction pairs, PLB; 10 transactions)\n`);
  const remit = await benchRemit(server, remitClaims);
  const mb = (remit.bytes / 1e6).toFixed(1);
  for (const p of remit.parse) {
    process.stdout.write(`  read only, ${p.reader.padEnd(11)} ${String(p.megabytesPerSecond).padStart(6)} MB/s  (${mb} MB in ${p.seconds.toFixed(1)} s${p.reader === 'x12-parser' ? ': segments only' : ': segments, envelopes, 835 order, claims with their lines and balances'}; best of three, each in a fresh process; slowest ${p.slowestSeconds.toFixed(1)} s)\n`);
  }
  const posted = remit.posted;
  const ok = remit.importSeconds <= 60 && remit.peakRssMb <= 384 && posted.matched === remit.claimPayments && posted.balanced;
  process.stdout.write(
    `  whole import (\`hl7-claims remittances import\`, its own process): ${remit.claimPayments} claim payments in ${remit.importSeconds.toFixed(1)} s, peak RSS ${remit.peakRssMb} MB; ` +
      `${posted.matched} matched, ${posted.servicePayments} service payments, ${posted.adjustments} adjustments, ${posted.denials} open denials, claims ${Object.entries(posted.statuses).map(([k, v]) => `${k} ${v}`).join(', ')}, ` +
      `${posted.balanced ? 'every balance holds' : 'BALANCE FAILURES'}\n  (required: <= 60 s and <= 384 MB -> ${ok ? 'met' : 'NOT met'}; aim: 20 s)\n`,
  );

  const queueItems = Number(process.env.BENCH_QUEUE_ITEMS ?? 50_000);
  process.stdout.write(`\n== Work queue pages over HTTP, signed in: ${queueItems} open work items on 5-line claims; each page requested 40 times after 3 warm-ups\n`);
  const queue = await benchQueue(server, queueItems, 40);
  process.stdout.write('  page                                               p50 ms   p95 ms   shown\n');
  for (const p of queue.pages) process.stdout.write(`  ${p.name.padEnd(50)} ${p.p50.toFixed(1).padStart(7)} ${p.p95.toFixed(1).padStart(8)}   ${p.rows}\n`);
  const lists = queue.pages.filter((p) => p.path !== '/dashboard');
  const dash = queue.pages.find((p) => p.path === '/dashboard');
  const listOk = lists.every((p) => p.p95 < 150);
  process.stdout.write(`  (required: list pages p95 < 150 ms -> ${listOk ? 'met' : 'NOT met'}; dashboard < 500 ms -> ${dash !== undefined && dash.p95 < 500 ? 'met' : 'NOT met'} at p95)\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
