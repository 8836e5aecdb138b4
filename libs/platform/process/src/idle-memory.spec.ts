import { freeHeapBytes, IdleMemoryReducer, reduceHeap } from './idle-memory';

describe('IdleMemoryReducer', () => {
  /** A reducer over scripted utilization samples, checked by hand. */
  function scripted(idleMs: number) {
    const samples: number[] = [];
    let reductions = 0;
    let heap = 0;
    const reducer = new IdleMemoryReducer({
      idleMs,
      checkMs: 500,
      minGrowthBytes: 100,
      // Every sample of work grows the footprint past the threshold.
      footprint: () => heap,
      heapSlack: () => 0,
      sample: () => {
        const value = samples.shift() ?? 0;
        if (value > 0.05) heap += 1000;
        return value;
      },
      reduce: async () => {
        reductions++;
        // The reduction itself is busy; the reducer must not count it as work.
        samples.unshift(0.9);
      },
    });
    return {
      async feed(...values: number[]) {
        for (const value of values) {
          samples.push(value);
          await reducer.check();
        }
      },
      reductions: () => reductions,
    };
  }

  it('reduces once after work followed by idleMs of idleness, not again until there is work', async () => {
    const r = scripted(1500);
    await r.feed(0.5, 0.3, 0, 0);
    expect(r.reductions()).toBe(0);
    await r.feed(0);
    expect(r.reductions()).toBe(1);
    await r.feed(0, 0, 0, 0, 0, 0, 0, 0);
    expect(r.reductions()).toBe(1);
    await r.feed(0.2, 0.04, 0);
    expect(r.reductions()).toBe(1);
    await r.feed(0);
    expect(r.reductions()).toBe(2);
  });

  it('waits for an unbroken idle stretch: work in between starts it again', async () => {
    const r = scripted(1500);
    await r.feed(0.5, 0, 0, 0.1, 0, 0);
    expect(r.reductions()).toBe(0);
    await r.feed(0);
    expect(r.reductions()).toBe(1);
  });

  it('does not reduce after work that left the footprint as it was', async () => {
    let reductions = 0;
    const samples = [0.5, 0, 0, 0, 0];
    const reducer = new IdleMemoryReducer({ idleMs: 1000, footprint: () => 5_000_000, heapSlack: () => 0, sample: () => samples.shift() ?? 0, reduce: async () => void reductions++ });
    for (let i = 0; i < 5; i++) await reducer.check();
    expect(reductions).toBe(0);
  });

  it('reduces after work that left the footprint as it was but the heap holding freed pages, once', async () => {
    let reductions = 0;
    let slack = 1_000_000;
    const samples = [0.5, 0, 0, 0.5, 0, 0];
    const reducer = new IdleMemoryReducer({
      idleMs: 1000,
      minGrowthBytes: 16_000_000,
      footprint: () => 5_000_000,
      heapSlack: () => slack,
      sample: () => samples.shift() ?? 0,
      reduce: async () => {
        reductions++;
        slack = 2_000_000;
      },
    });
    // V8's own full collection freed a burst's garbage and kept its 30 MB of pages.
    slack = 31_000_000;
    for (let i = 0; i < 3; i++) await reducer.check();
    expect(reductions).toBe(1);
    // After the reduction, new work that frees nothing more is not reduced again.
    for (let i = 0; i < 3; i++) await reducer.check();
    expect(reductions).toBe(1);
  });

  it('freeHeapBytes counts committed but unused heap outside the young generation', () => {
    expect(freeHeapBytes()).toBeGreaterThanOrEqual(0);
    expect(freeHeapBytes()).toBeLessThanOrEqual(process.memoryUsage().heapTotal);
  });

  it('reduces once after start-up whatever the footprint did, then only after growth', async () => {
    let reductions = 0;
    const samples = [0, 0, 0, 0, 0.5, 0, 0, 0];
    const reducer = new IdleMemoryReducer({ idleMs: 1000, footprint: () => 5_000_000, heapSlack: () => 0, sample: () => samples.shift() ?? 0, reduce: async () => void reductions++ });
    reducer.start();
    reducer.stop();
    for (let i = 0; i < 2; i++) await reducer.check();
    expect(reductions).toBe(1);
    for (let i = 0; i < 6; i++) await reducer.check();
    expect(reductions).toBe(1);
  });

  it('never reduces with idleMs 0', async () => {
    const reducer = new IdleMemoryReducer({ idleMs: 0, reduce: () => Promise.reject(new Error('must not run')) });
    reducer.start();
    reducer.stop();
  });

  it('reduceHeap gives freed heap pages back to the system', async () => {
    let junk: Array<{ a: number; b: string }> | undefined = Array.from({ length: 400_000 }, (_, i) => ({ a: i, b: `x${i}` }));
    expect(junk.length).toBe(400_000);
    junk = undefined;
    const before = process.memoryUsage().heapTotal;
    await reduceHeap();
    expect(process.memoryUsage().heapTotal).toBeLessThan(before);
  });
});
