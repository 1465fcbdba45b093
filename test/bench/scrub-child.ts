/**
 * Run as its own process by the scrub benchmark (so that memory is this process's alone): loads
 * the shipped code sets, then scrubs 4-line professional claims for a fixed time.
 */
import { CodeSets } from '../../src/lib/codes/codesets';
import { scrubClaim } from '../../src/lib/scrub';
import type { Claim837 } from '../../src/lib/x12';
import { professionalClaim, professionalLine } from '../support/claims';

export interface ScrubBenchResult {
  loadMs: number;
  heapMb: number;
  rssMb: number;
  claims: number;
  claimsPerSecond: number;
  findingsPerClaim: number;
}

export function run(seconds: number): ScrubBenchResult {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const started = process.hrtime.bigint();
  const codes = CodeSets.shipped();
  const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
  gc?.();
  const after = process.memoryUsage();

  // 1,000 distinct claims: other members, dates across FY2026, a few codes that draw findings.
  const cpt = ['99213', '99214', '99203', '93000', '71046', '80061', '36415', '20610', '97110', '85025'];
  const dx = ['E119', 'I10', 'I2510', 'E785', 'J069', 'M545', 'Z0000', 'R0789', 'E11', 'K219'];
  const claims: Claim837[] = Array.from({ length: 1000 }, (_, i) => {
    const date = `2026-${String(1 + (i % 9)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
    return professionalClaim({
      patientControlNumber: `P${i}`,
      subscriber: { ...professionalClaim().subscriber, memberId: `M${i}` },
      diagnoses: [dx[i % dx.length] as string, dx[(i + 3) % dx.length] as string],
      lines: [0, 1, 2, 3].map((n) =>
        professionalLine(n + 1, { procedureCode: cpt[(i + n) % cpt.length], modifiers: n === 0 && i % 7 === 0 ? ['25'] : [], diagnosisPointers: n === 0 ? [1, 2] : [1 + (n % 2)], serviceDate: date }),
      ),
    });
  });
  let findings = 0;
  let n = 0;
  const t0 = process.hrtime.bigint();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 10_000; i++) findings += scrubClaim({ claim: claims[i % claims.length] as Claim837, today: '2026-10-15' }, codes).length;
    n += 10_000;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    loadMs: Math.round(loadMs), heapMb: Math.round((after.heapUsed - before.heapUsed) / 1e6), rssMb: Math.round(after.rss / 1e6),
    claims: n, claimsPerSecond: Math.round(n / s), findingsPerClaim: Math.round((findings / n) * 100) / 100,
  };
}

process.on('message', (m: { seconds: number }) => {
  process.send?.(run(m.seconds), () => process.exit(0));
});
