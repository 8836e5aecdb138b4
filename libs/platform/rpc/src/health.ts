import {
  type HealthDefinition,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import type { ServiceImplementation } from './definition';

export { ServingStatus };

/**
 * Serving status per service, answered by the standard gRPC health service
 * (https://github.com/grpc/grpc/blob/master/doc/health-checking.md) in both bindings.
 * The empty service name is the whole server.
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Set<() => void>();
  private shuttingDown = false;
  private closed = false;

  /**
   * Records a service's status. Once shutdown has begun every service stays
   * NOT_SERVING: a late SERVING from some component must not pull traffic back to a
   * process that is going away.
   */
  set(service: string, status: ServingStatus.SERVING | ServingStatus.NOT_SERVING): void {
    this.update(service, this.shuttingDown ? ServingStatus.NOT_SERVING : status);
  }

  /** The status of a service, `undefined` when it was never registered. */
  check(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Start of shutdown: everything NOT_SERVING, so load balancers move traffic away. */
  beginShutdown(): void {
    this.shuttingDown = true;
    for (const service of this.statuses.keys()) this.update(service, ServingStatus.NOT_SERVING);
  }

  /** End of shutdown: open watches get their last status and end. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /**
   * The status now, then each change, until `signal` aborts or the registry closes.
   * Intermediate statuses may be coalesced, as the protocol allows.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    let last: ServingStatus | undefined;
    for (;;) {
      const current = this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (current !== last) {
        last = current;
        yield current;
        continue; // look again: it may have changed while the consumer held the value
      }
      if (this.closed || signal.aborted) return;
      // Subscribed in the same tick as the read above, so no change falls in between.
      await this.nextChange(signal);
    }
  }

  private update(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves at the next change or abort (never rejects: the watch loop decides). */
  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.listeners.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.listeners.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The `grpc.health.v1.Health` service over a registry; both bindings serve this one. */
export function healthImplementation(registry: HealthRegistry): ServiceImplementation<HealthDefinition> {
  return {
    async check(request) {
      const status = registry.check(request.service);
      // The protocol's answer for an unknown service is the NOT_FOUND status.
      if (status === undefined) throw new MatrixError('M_NOT_FOUND', `Unknown service "${request.service}"`);
      return { status };
    },
    async *watch(request, ctx) {
      for await (const status of registry.watch(request.service, ctx.signal)) yield { status };
    },
  };
}
