import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceName } from '@axon/contracts-routes';
import type { Replica } from './replica-registry';

/** A replica of a running deployment, with the pid the launcher gave it. */
export interface RunningReplica extends Replica {
  readonly pid: number;
}

/**
 * What a detached launcher needs to find a running deployment again (`deploy/local
 * scale`, `down`): nginx's address and pid, the environment every replica shares, the
 * gRPC targets, and every replica with its ports and pid. Written to
 * `<dataDir>/deployment.json`, readable by its owner only (the shared environment holds
 * the database URL and whatever `AXON_*` settings the operator passed, secrets included,
 * as each process's own environment does).
 */
export interface DeploymentState {
  readonly listen: { readonly host: string; readonly port: number };
  readonly shared: Readonly<Record<string, string>>;
  readonly targets: Readonly<Record<string, string>>;
  readonly replicas: readonly RunningReplica[];
  readonly nginxPid: number | undefined;
}

const STATE_FILE = 'deployment.json';

export function writeDeploymentState(dataDir: string, state: DeploymentState): void {
  const path = join(dataDir, STATE_FILE);
  writeFileSync(`${path}.next`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.next`, path);
}

export function readDeploymentState(dataDir: string): DeploymentState | undefined {
  const path = join(dataDir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as DeploymentState;
}

/** Whether `pid` still runs the command we started (a recycled pid is left alone). */
export function isOurs(pid: number | undefined, match: string): boolean {
  if (pid === undefined) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(match);
  } catch {
    return false;
  }
}

/** The command line a replica's process runs, for `isOurs`. */
export const replicaCommand = (service: ServiceName): string => `dist/apps/${service}/src/main.js`;
