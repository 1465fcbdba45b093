import type { Logger } from 'pino';

/**
 * A job run every so often in this process: never two runs at once here (a run still going
 * when the interval comes round is skipped), the timer does not keep the process alive, a failed
 * run is logged by its error's name (no message: it may carry PHI) and the next one tries again,
 * and stop() waits for a run in progress. Across instances the job itself coordinates through
 * PostgreSQL (an advisory lock).
 */
export class IntervalJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly name: string,
    private readonly log: Logger,
    private readonly run: () => Promise<unknown>,
  ) {}

  start(everyMs: number): void {
    if (everyMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.run()
        .catch((e: unknown) => {
          this.log.error({ event: `${this.name}_failed`, err: e instanceof Error ? e.name : 'unknown' });
        })
        .finally(() => {
          this.running = undefined;
        });
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
