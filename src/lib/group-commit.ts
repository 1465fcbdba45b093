/**
 * Group commit: callers submit one item each and wait; items that arrive while a batch is being
 * written are gathered and written together by the next one. Under load this turns N concurrent
 * single-message transactions into a few multi-row ones, without delaying a lone message (a batch
 * starts as soon as a writer is free; there is no timer).
 */
export interface GroupCommitOptions {
  /** Most items per batch. */
  maxBatch: number;
  /** Batches written at once. */
  concurrency: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  /** `write` must return one output per input, in order, or throw to fail the whole batch. */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly opts: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  submitAll(items: I[]): Promise<O[]> {
    return Promise.all(items.map((i) => this.submit(i)));
  }

  /** Items waiting plus batches in flight. */
  get load(): { queued: number; running: number } {
    return { queued: this.queue.length, running: this.running };
  }

  /** Resolves when nothing is queued or in flight. */
  async drain(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.running++;
      void this.run(batch);
    }
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    try {
      const out = await this.write(batch.map((p) => p.item));
      if (out.length !== batch.length) throw new Error(`group commit writer returned ${out.length} results for ${batch.length} items`);
      batch.forEach((p, i) => {
        p.resolve(out[i] as O);
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.running--;
      this.pump();
      if (this.running === 0 && this.queue.length === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
