import { IdleCollector, type ProcessLoad } from './idle-collector';

const MB = 1024 * 1024;
const SETTINGS = { intervalMs: 1_000, idleUtilization: 0.05, minGrowthBytes: 16 * MB };

/** A process whose load the test sets; a collection brings the heap back to `live`. */
function fakeProcess(heap: number) {
  const state = { utilization: 0, heap, live: heap, collections: 0 };
  const load: ProcessLoad = { utilization: () => state.utilization, heapUsed: () => state.heap };
  const collect = async (): Promise<void> => {
    state.collections++;
    state.heap = state.live;
  };
  const fail = (error: unknown): never => {
    throw error;
  };
  return { state, collector: new IdleCollector(collect, fail, load, SETTINGS) };
}

describe('IdleCollector', () => {
  it('collects once the process is idle after its heap grew, then not again until it grows again', async () => {
    const { state, collector } = fakeProcess(50 * MB);
    state.utilization = 0.9;
    state.heap = 130 * MB; // a burst: 80 MB more, most of it garbage
    expect(await collector.tick()).toBe(false); // still busy
    state.utilization = 0.01;
    expect(await collector.tick()).toBe(true);
    expect(state.heap).toBe(50 * MB);
    expect(await collector.tick()).toBe(false);
    expect(state.collections).toBe(1);
  });

  it('never collects a busy process, whatever its heap', async () => {
    const { state, collector } = fakeProcess(50 * MB);
    state.utilization = 0.5;
    for (let i = 0; i < 5; i++) {
      state.heap += 100 * MB;
      expect(await collector.tick()).toBe(false);
    }
    expect(state.collections).toBe(0);
  });

  it('leaves an idle process alone while its heap grew less than the threshold since the lowest point seen', async () => {
    const { state, collector } = fakeProcess(50 * MB);
    state.heap = 40 * MB; // V8 collected by itself
    expect(await collector.tick()).toBe(false);
    state.heap = 55 * MB; // 15 MB above the lowest point
    expect(await collector.tick()).toBe(false);
    state.heap = 57 * MB;
    state.live = 45 * MB;
    expect(await collector.tick()).toBe(true);
    expect(state.collections).toBe(1);
  });
});
