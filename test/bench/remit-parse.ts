/**
 * One parse-only pass over an 835, in a process of its own (run by remit.ts): `x12-parser` alone
 * (segment objects from its stream, as its README streams a file) or `hl7-claims` (the product's
 * reader: segments, envelopes, 835 order, claims with their lines and balances). Prints
 * `{seconds, count}`. Each pass gets a fresh process, so that one pass's heap and type feedback do
 * not weigh on the next (see parseOnly in remit.ts for why a pass can still run at half speed).
 */
import { createReadStream } from 'node:fs';
import { X12parser } from 'x12-parser';
import { read835Batches } from '../../src/lib/x12';

async function pass(reader: string, path: string): Promise<number> {
  if (reader === 'x12-parser') {
    let segments = 0;
    await new Promise<void>((resolve, reject) => {
      createReadStream(path, { highWaterMark: 256 * 1024 }).pipe(new X12parser('latin1')).on('data', () => {
        segments++;
      }).on('end', resolve).on('error', reject);
    });
    return segments;
  }
  let claims = 0;
  for await (const batch of read835Batches(createReadStream(path, { highWaterMark: 256 * 1024 }))) for (const e of batch) if (e.kind === 'claim') claims++;
  return claims;
}

const [reader, path] = process.argv.slice(2);
if ((reader !== 'x12-parser' && reader !== 'hl7-claims') || path === undefined) {
  process.stderr.write('usage: remit-parse.ts x12-parser|hl7-claims FILE\n');
  process.exit(2);
}
const t0 = process.hrtime.bigint();
pass(reader, path).then(
  (count) => {
    process.stdout.write(JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, count }) + '\n');
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
