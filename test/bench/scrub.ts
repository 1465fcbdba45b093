import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { ScrubBenchResult } from './scrub-child';

/** The scrub benchmark in its own process (code-set load time and memory are that process's). */
export function benchScrub(seconds: number): Promise<ScrubBenchResult> {
  const child = fork(join(__dirname, 'scrub-child.ts'), [], { execArgv: ['--expose-gc', '-r', join(__dirname, '..', 'support', 'ts-register.js')] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      resolve(m as ScrubBenchResult);
    });
    child.once('error', reject);
    child.send({ seconds });
  });
}

if (require.main === module) {
  void benchScrub(Number(process.env.BENCH_SECONDS ?? 3)).then((r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
  });
}
