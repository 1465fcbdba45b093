import { benchIntake } from './intake';
async function main(): Promise<void> {
  const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  const conns = (process.env.CONNS ?? '32').split(',').map(Number);
  const r = await benchIntake(server, conns, Number(process.env.BENCH_SECONDS ?? 5), Number(process.env.VISITS ?? 0));
  console.log(JSON.stringify(r));
}
void main().then(() => process.exit(0));
