import { GroupCommitter } from './group-commit';

/** A writer whose batches finish when the test says so. */
function controlledWriter(): { write: (items: number[]) => Promise<string[]>; batches: number[][]; finish: (i: number) => void } {
  const batches: number[][] = [];
  const done: (() => void)[] = [];
  return {
    batches,
    write: (items) => {
      batches.push(items);
      return new Promise<string[]>((resolve) => done.push(() => { resolve(items.map((n) => `ok${n}`)); }));
    },
    finish: (i) => done[i]?.(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('GroupCommitter', () => {
  it('writes a lone item at once and gathers what arrives meanwhile into the next batch', async () => {
    const w = controlledWriter();
    const gc = new GroupCommitter(w.write, { maxBatch: 100, concurrency: 1 });
    const first = gc.submit(1);
    const rest = [2, 3, 4].map((n) => gc.submit(n));
    expect(w.batches).toEqual([[1]]);
    w.finish(0);
    await expect(first).resolves.toBe('ok1');
    await tick();
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    w.finish(1);
    await expect(Promise.all(rest)).resolves.toEqual(['ok2', 'ok3', 'ok4']);
  });

  it('respects maxBatch and fails every item of a failed batch', async () => {
    const gc = new GroupCommitter<number, number>((items) => (items.includes(3) ? Promise.reject(new Error('boom')) : Promise.resolve(items)), { maxBatch: 2, concurrency: 1 });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => gc.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it('starts a second batch beside one in flight only when fillBatch items wait', async () => {
    const w = controlledWriter();
    const gc = new GroupCommitter(w.write, { maxBatch: 100, concurrency: 2, fillBatch: 3, fillWaitMs: 10_000 });
    void gc.submit(1);
    void gc.submit(2);
    void gc.submit(3);
    expect(w.batches).toEqual([[1]]); // two waiting: not enough for a second batch
    void gc.submit(4);
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    w.finish(0);
    w.finish(1);
    await gc.drain();
  });

  it('starts the second batch when the oldest waiting item has waited fillWaitMs', async () => {
    const w = controlledWriter();
    const gc = new GroupCommitter(w.write, { maxBatch: 100, concurrency: 2, fillBatch: 10, fillWaitMs: 20 });
    void gc.submit(1);
    const started = performance.now();
    const second = gc.submit(2);
    expect(w.batches).toEqual([[1]]);
    while (w.batches.length < 2) await new Promise((r) => setTimeout(r, 2));
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
    expect(w.batches).toEqual([[1], [2]]);
    w.finish(1);
    await expect(second).resolves.toBe('ok2');
    w.finish(0);
    await gc.drain();
  });

  it('does not make a lone item wait: with nothing in flight a batch starts at once', async () => {
    const w = controlledWriter();
    const gc = new GroupCommitter(w.write, { maxBatch: 100, concurrency: 2, fillBatch: 10, fillWaitMs: 10_000 });
    const p = gc.submit(7);
    expect(w.batches).toEqual([[7]]);
    w.finish(0);
    await expect(p).resolves.toBe('ok7');
    await gc.drain();
  });
});
