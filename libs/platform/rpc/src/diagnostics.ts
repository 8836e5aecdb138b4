import type { DiagnosticsDefinition } from '@axon/contracts-grpc';
import type { ServiceImplementation } from './definition';

/** What a process says about itself through `hs.platform.v1.Diagnostics`. */
export interface ProcessDescription {
  /** The Axon service, e.g. "room-server", or "homeserver" for the single process. */
  readonly service: string;
  /** Which replica: e.g. the pod name plus process id. */
  readonly instanceId: string;
  readonly serverName: string;
  readonly version: string;
  /** Transport per concern, e.g. `{ database: 'postgres', bus: 'kafka', rpc: 'grpc' }`. */
  readonly transports: Readonly<Record<string, string>>;
  /** Process start in ms since the epoch. Default: this process's start. */
  readonly startedAtMs?: number;
  /** Clock, for tests. Default: `Date.now`. */
  readonly now?: () => number;
}

/** The Diagnostics service every Axon process serves (both bindings). */
export function diagnosticsImplementation(
  description: ProcessDescription,
): ServiceImplementation<DiagnosticsDefinition> {
  const startedAtMs = Math.floor(description.startedAtMs ?? performance.timeOrigin);
  const now = description.now ?? Date.now;
  return {
    async describe() {
      return {
        service: description.service,
        instanceId: description.instanceId,
        serverName: description.serverName,
        version: description.version,
        runtime: `node ${process.version}`,
        // int64 fields are decimal strings (forceLong=string, see tools/proto-gen.mjs).
        startedAtMs: String(startedAtMs),
        uptimeMs: String(Math.max(0, Math.floor(now()) - startedAtMs)),
        transports: { ...description.transports },
      };
    },
  };
}
