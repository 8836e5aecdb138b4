import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/**
 * A full garbage collection, as V8's `gc` (`node --expose-gc`) runs it: as a task of its
 * own, resolving when done. `last-resort` collects until nothing more is freed and gives
 * the emptied pages back to the system (a plain major collection frees the objects but
 * keeps the pages committed, so the resident size does not move).
 */
export type FullCollection = (options: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => Promise<void>;

/** What the collector reads of the process: how busy its event loop was, and its heap. */
export interface ProcessLoad {
  /** The event loop's utilization (0-1) since the previous call. */
  utilization(): number;
  /** Bytes of JavaScript heap in use, garbage included until a collection finds it. */
  heapUsed(): number;
}

export interface IdleCollectorSettings {
  /** How often the load is looked at. */
  readonly intervalMs: number;
  /** At or below this event-loop utilization over an interval the process is idle. */
  readonly idleUtilization: number;
  /** Collect only when the heap grew at least this much since the last collection. */
  readonly minGrowthBytes: number;
}

export const IDLE_COLLECTOR_DEFAULTS: IdleCollectorSettings = { intervalMs: 500, idleUtilization: 0.05, minGrowthBytes: 16 * 1024 * 1024 };

/** The process's own event loop and heap. */
export function processLoad(): ProcessLoad {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    utilization: () => {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, previous);
      previous = now;
      return delta.utilization;
    },
    heapUsed: () => getHeapStatistics().used_heap_size,
  };
}

/**
 * Collects the garbage of a burst once the process is idle again. V8 collects old space
 * only when it reaches a limit set at 1.5-4× what survived the last full collection, and an
 * idle process allocates nothing, so whatever a burst left behind (thousands of `/sync`
 * long-polls connecting, a large sync, a send storm) stays resident while the server
 * waits: 19-27 KB per idle long-poll at 5,000 polls (`docs/benchmarks.md`, "Idle
 * long-polls"). A lower limit for everyone (`--heap-growing-percent`) took the same
 * memory back but cost 20-40% of send throughput in more frequent collections under load;
 * this one collects only after an interval in which the event loop was idle, and only if
 * the heap grew since the last collection, so a loaded process never pays for it and an
 * idle one pays once.
 */
export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  private collecting = false;
  private baseline: number;

  constructor(
    private readonly collect: FullCollection,
    private readonly onError: (error: unknown) => void,
    private readonly load: ProcessLoad = processLoad(),
    private readonly settings: IdleCollectorSettings = IDLE_COLLECTOR_DEFAULTS,
  ) {
    this.baseline = load.heapUsed();
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick().catch(this.onError), this.settings.intervalMs);
    // Never what keeps a process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the load: collects if the last interval was idle and the heap grew. Resolves with whether it collected. */
  async tick(): Promise<boolean> {
    const utilization = this.load.utilization();
    const used = this.load.heapUsed();
    // V8's own collections lower the heap too: growth counts from the lowest point seen.
    if (used < this.baseline) this.baseline = used;
    if (this.collecting || utilization > this.settings.idleUtilization || used - this.baseline < this.settings.minGrowthBytes) return false;
    this.collecting = true;
    try {
      await this.collect({ type: 'major', execution: 'async', flavor: 'last-resort' });
    } finally {
      this.collecting = false;
      this.baseline = this.load.heapUsed();
    }
    return true;
  }
}

/** V8's `gc` when the process runs with `--expose-gc` (as `npm start` does), else undefined. */
export function exposedCollection(): FullCollection | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as FullCollection) : undefined;
}
