import type { Logger } from '@axon/platform-telemetry';

type Check = () => Promise<void>;
type Closer = () => Promise<void>;

/**
 * What `/ready` reports: every registered dependency answers, and the process is not
 * shutting down. Load balancers and Kubernetes stop routing to a replica as soon as it
 * starts draining.
 */
export class Readiness {
  private readonly checks = new Map<string, Check>();
  private draining = false;

  register(name: string, check: Check): void {
    this.checks.set(name, check);
  }

  markDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Runs every check (with a timeout each); `ready` only if all pass and not draining. */
  async evaluate(timeoutMs = 2000): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const results: Record<string, string> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          results[name] = 'ok';
        } catch (err) {
          results[name] = `failing: ${(err as Error).message}`;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    if (this.draining) results['shutdown'] = 'draining';
    return { ready: !this.draining && Object.values(results).every((r) => r === 'ok'), checks: results };
  }
}

/**
 * Ordered shutdown. Nest closes the HTTP server first (in-flight requests finish), then
 * calls this: consumers drain and commit before producers flush, and the database
 * closes last, so nothing acknowledged is lost. Lower stage numbers run first; closers
 * of one stage run together.
 */
export class ShutdownSequence {
  private readonly stages = new Map<number, { name: string; close: Closer }[]>();

  constructor(private readonly logger: Logger) {}

  add(stage: number, name: string, close: Closer): void {
    const list = this.stages.get(stage) ?? [];
    list.push({ name, close });
    this.stages.set(stage, list);
  }

  async run(): Promise<void> {
    for (const stage of [...this.stages.keys()].sort((a, b) => a - b)) {
      const closers = this.stages.get(stage) ?? [];
      this.stages.delete(stage);
      await Promise.all(
        closers.map(async ({ name, close }) => {
          try {
            await close();
            this.logger.debug({ component: name }, 'closed');
          } catch (err) {
            this.logger.error({ err, component: name }, 'failed to close cleanly');
          }
        }),
      );
    }
  }
}

/** Shutdown stages, in order. */
export const STAGE = {
  /** Stop serving inbound gRPC calls (running ones finish). */
  inbound: 5,
  /** Stop consuming: drain in-flight handlers, commit offsets. */
  consumers: 10,
  /** Flush producers and outbox relays. */
  producers: 20,
  /** gRPC servers and clients, caches, pub/sub. */
  connections: 30,
  /** The database, last. */
  database: 40,
  /** Telemetry exporters flush what the others logged. */
  telemetry: 50,
} as const;
