import { Session } from 'node:inspector';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface IdleMemoryOptions {
  /** How long the process must have been idle after work before it reduces (ms). */
  readonly idleMs: number;
  /** How often the event loop's utilization is sampled (ms). Default 500. */
  readonly checkMs?: number;
  /** Utilization of a sample above which it counts as work. Default 0.05 (5% of the interval). */
  readonly busyUtilization?: number;
  /**
   * Reduce only when the process's resident memory grew at least this much since the last
   * reduction (bytes; default 16 MB): a server answering a request now and then never pays
   * a collection for it, one that went idle after a burst pays once.
   */
  readonly minGrowthBytes?: number;
  /**
   * Bytes the process holds, what the reduction gives back from; tests inject one. Default
   * its resident memory, not the heap in use: after a burst the heap in use may be back
   * within the threshold (its garbage collected by ordinary collections) while the pages it
   * grew into stay pooled and resident, which only this reduction returns. Gated on the
   * heap in use, an idle server under `npm run fuzz` (seed 5, 3,000 requests) read 213 MB
   * after 2,000 requests, then 244 and 248 MB; gated on resident memory, 216, 218, 219 MB.
   */
  readonly footprint?: () => number;
  /**
   * Bytes the heap has committed but does not use (outside the young generation); tests
   * inject one. Default `freeHeapBytes`. Reduce also when this grew `minGrowthBytes` since
   * the last reduction, whatever the resident memory did: a reduction in a lull of a burst
   * resets the footprint's baseline, and if V8's own full collections then free the rest
   * of the burst's garbage, they keep its pages committed without the resident memory
   * growing again. After 5,000 idle `/sync` long-polls opened (embedded default), old
   * space held 33 MB of such pages once the server was idle, and its resident memory was
   * 7 MB below what it was right after the reduction in the lull.
   */
  readonly heapSlack?: () => number;
  /** The reduction; tests inject one. Default `reduceHeap`. */
  readonly reduce?: () => Promise<void>;
  /** Event loop utilization since the previous call; tests inject one. */
  readonly sample?: () => number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Hands the heap's freed memory back to the system once the process goes idle after work.
 *
 * V8 keeps the pages a load freed in a pool for reuse (80-130 MB after the send bench on
 * the embedded default) and releases them only in a memory-reducing collection, which its
 * memory reducer starts only when it judges the allocation rate low: after the same load,
 * idle servers gave the memory back after 10 s in one run, 100 s in another, and not within
 * 2 minutes in a third (traced with `--trace-memory-reducer`: "high alloc" at every timer).
 * An idle process allocates nothing, so V8 never collects what a burst left either (19-27
 * KB of the 29-41 KB an idle `/sync` long-poll cost at 5,000 polls was garbage; a lower
 * growth limit for everyone, `--heap-growing-percent=25`, took it back but cost 20-40% of
 * send throughput at 50 senders). So the process asks for one itself: after `idleMs`
 * without work, if its resident memory grew `minGrowthBytes` since the last one, one
 * memory-reducing collection (the one behind `HeapProfiler.collectGarbage`, about 100-150 ms on the 50 MB
 * heap of an idle homeserver), then nothing until the next work. The same when the heap's
 * committed but unused pages grew that much instead (`heapSlack`). Its own collection is not
 * counted as work.
 */
export class IdleMemoryReducer {
  private timer: NodeJS.Timeout | undefined;
  private worked = false;
  private idleFor = 0;
  private reducing = false;
  private readonly checkMs: number;
  private readonly busy: number;
  private readonly sample: () => number;
  private readonly footprint: () => number;
  private readonly heapSlack: () => number;
  private readonly minGrowth: number;
  private baseline: number;
  private slackBaseline: number;
  /** Started and not reduced since: start-up's garbage is reduced whatever the footprint did. */
  private startingUp = false;

  constructor(private readonly options: IdleMemoryOptions) {
    this.checkMs = options.checkMs ?? 500;
    this.busy = options.busyUtilization ?? 0.05;
    this.sample = options.sample ?? eventLoopSampler();
    this.footprint = options.footprint ?? (() => process.memoryUsage.rss());
    this.heapSlack = options.heapSlack ?? freeHeapBytes;
    this.minGrowth = options.minGrowthBytes ?? 16 * 1024 * 1024;
    this.baseline = this.footprint();
    this.slackBaseline = this.heapSlack();
  }

  start(): void {
    if (this.timer !== undefined || this.options.idleMs <= 0) return;
    // Start-up is work: the first idle stretch reduces what it left behind, without the
    // growth test, whose baseline is read here, after start-up (an idle embedded server
    // kept its start-up's 25-30 MB of garbage until something else grew it 16 MB).
    this.worked = true;
    this.startingUp = true;
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample; exposed for tests. */
  async check(): Promise<void> {
    if (this.reducing) return;
    if (this.sample() > this.busy) {
      this.worked = true;
      this.idleFor = 0;
      return;
    }
    this.idleFor += this.checkMs;
    if (!this.worked || this.idleFor < this.options.idleMs) return;
    if (!this.startingUp && this.footprint() - this.baseline < this.minGrowth && this.heapSlack() - this.slackBaseline < this.minGrowth) return;
    this.reducing = true;
    try {
      await (this.options.reduce ?? reduceHeap)();
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.worked = false;
      this.startingUp = false;
      this.baseline = this.footprint();
      this.slackBaseline = this.heapSlack();
      // The collection's own time is not work: start the next sample after it.
      this.sample();
      this.reducing = false;
    }
  }
}

/**
 * Bytes V8 has committed for the heap but does not use, outside the young generation
 * (whose semi-spaces are committed whole and empty after every scavenge).
 */
export function freeHeapBytes(): number {
  let free = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') continue;
    free += Math.max(0, space.physical_space_size - space.space_used_size);
  }
  return free;
}

/** Event loop utilization (0-1) since the previous call. */
function eventLoopSampler(): () => number {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, previous);
    previous = now;
    return delta.utilization;
  };
}

/**
 * One memory-reducing garbage collection: V8 collects everything it can and returns its
 * pooled pages to the system. Through an in-process inspector session (no port is
 * opened); Node offers no other way to ask for this collection without `--expose-gc`,
 * whose `gc()` does not reduce.
 */
export async function reduceHeap(): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await new Promise<void>((resolve, reject) => session.post('HeapProfiler.collectGarbage', (error) => (error ? reject(error) : resolve())));
  } finally {
    session.disconnect();
  }
}
