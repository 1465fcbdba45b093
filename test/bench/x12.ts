/**
 * 837P serialization in-process: 4-line professional claims through the streaming batch writer
 * (envelopes, HL levels, 5,000 claims per transaction set), text counted but not kept.
 */
import { Batch837Writer, type Claim837 } from '../../src/lib/x12';
import { batchOptions, professionalClaim, professionalLine } from '../support/claims';

export interface SerializeResult {
  claims: number;
  claimsPerSecond: number;
  megabytesPerSecond: number;
}

export function benchSerialize(seconds: number): SerializeResult {
  // Distinct claims (control numbers, subscribers) so that no level is shared by accident.
  const claims: Claim837[] = Array.from({ length: 1000 }, (_, i) =>
    professionalClaim({
      patientControlNumber: `P${String(i).padStart(8, '0')}`,
      totalCharge: '332.40',
      subscriber: { ...professionalClaim().subscriber, memberId: `M${i}` },
      lines: [
        professionalLine(1, { modifiers: ['25'], diagnosisPointers: [1, 2] }),
        professionalLine(2, { procedureCode: '93000', charge: '62.50' }),
        professionalLine(3, { procedureCode: '80061', charge: '48.25', diagnosisPointers: [2] }),
        professionalLine(4, { procedureCode: '36415', charge: '36.65', diagnosisPointers: [2] }),
      ],
    }),
  );
  let bytes = 0;
  let n = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < until) {
    const w = new Batch837Writer(batchOptions('professional'), (chunk) => {
      bytes += chunk.length;
    });
    for (let i = 0; i < 20_000; i++) w.add(claims[i % claims.length] as Claim837);
    w.finish();
    n += 20_000;
  }
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  return { claims: n, claimsPerSecond: Math.round(n / s), megabytesPerSecond: Math.round(bytes / s / 1e6) };
}
