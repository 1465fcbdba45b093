/**
 * The intake benchmark alone, for tuning: `npm run bench:intake` (CONNS=1,8,32, VISITS=200,
 * BENCH_SECONDS, PEERS=1 to add the peers' ACK-only MLLP servers at the last CONNS as the machine's
 * reference, and any INTAKE_* variable to try a setting). Prints the results as JSON.
 */
import { benchIntake, benchPeerServer, type PeerServerResult } from './intake';

async function main(): Promise<void> {
  const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  const conns = (process.env.CONNS ?? '32').split(',').map(Number);
  const results = await benchIntake(server, conns, Number(process.env.BENCH_SECONDS ?? 5), Number(process.env.VISITS ?? 0));
  process.stdout.write(JSON.stringify(results) + '\n');
  if (process.env.PEERS === '1') {
    const peers: PeerServerResult[] = [];
    for (const peer of ['simple-hl7', '@medplum/hl7'] as const) peers.push(await benchPeerServer(peer, conns[conns.length - 1] ?? 32, Number(process.env.BENCH_SECONDS ?? 5)));
    process.stdout.write(JSON.stringify(peers) + '\n');
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
