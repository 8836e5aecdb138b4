import { join } from 'node:path';
import type { ServiceName } from '@axon/contracts-routes';
import { DISTRIBUTED_SERVICES, NGINX, NGINX_RELOAD_SETTLE_MS, ROOT, nextSlot, replicaEnv } from './distributed';
import { isOurs, readDeploymentState, replicaCommand, writeDeploymentState, type DeploymentState, type RunningReplica } from './distributed-state';
import { ReplicaRegistry } from './replica-registry';
import { spawnService } from './service-process';

/**
 * The detached local deployment (`deploy/local`, `tools/deploy/distributed.mjs`) after
 * `up` returned: found again from `<dataDir>/deployment.json`, scaled and stopped by pid.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if it still runs after `graceMs`. */
async function stopPid(pid: number, match: string, graceMs: number, log: (message: string) => void, name: string): Promise<void> {
  if (!isOurs(pid, match)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && isOurs(pid, match) && Date.now() < deadline) await sleep(100);
  if (alive(pid) && isOurs(pid, match)) {
    log(`${name}: pid ${pid} still running after ${graceMs} ms, SIGKILL`);
    process.kill(pid, 'SIGKILL');
  }
}

function stateOf(dataDir: string): DeploymentState {
  const state = readDeploymentState(dataDir);
  if (state === undefined) throw new Error(`no deployment in ${dataDir} (start it with deploy/local/distributed-up.sh)`);
  return state;
}

/**
 * Starts or stops replicas of `service` until `count` run. Added replicas start detached
 * (their logs in `<dataDir>/logs/`), and are registered once ready; removed ones (the
 * highest numbered first) leave discovery, then get SIGTERM (SIGKILL after 30 s). Replicas
 * found dead are dropped from discovery on the way.
 */
export async function scaleDistributed(
  dataDir: string,
  service: ServiceName,
  count: number,
  log: (message: string) => void,
  startTimeoutMs = 60_000,
): Promise<void> {
  if (!DISTRIBUTED_SERVICES.includes(service)) throw new Error(`unknown service ${service} (one of ${DISTRIBUTED_SERVICES.join(', ')})`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`replicas must be a whole number of at least 1, not ${count}`);
  const state = stateOf(dataDir);
  let replicas: RunningReplica[] = state.replicas.filter((r) => {
    const ok = isOurs(r.pid, replicaCommand(r.service));
    if (!ok) log(`${r.name}: pid ${r.pid} is gone; removed from discovery`);
    return ok;
  });
  const save = (): void => writeDeploymentState(dataDir, { ...state, replicas });
  const registry = new ReplicaRegistry(dataDir, NGINX, state.listen);
  registry.add(...replicas);
  registry.reloadNginx();
  save();

  const current = replicas.filter((r) => r.service === service);
  for (let i = current.length; i < count; i++) {
    const slot = await nextSlot(service, replicas);
    const started = Date.now();
    const env = replicaEnv(state.shared, dataDir, slot, state.targets);
    const { proc, ready } = spawnService(ROOT, slot, env, join(dataDir, 'logs', `${slot.name}.log`), [], true, started + startTimeoutMs);
    await ready;
    replicas = [...replicas, { ...slot, pid: proc.child.pid! }];
    registry.add(slot);
    registry.reloadNginx();
    save();
    log(`${slot.name}: pid ${proc.child.pid}, http 127.0.0.1:${slot.httpPort}${slot.grpcPort ? `, grpc 127.0.0.1:${slot.grpcPort}` : ''}; ready and registered in ${Date.now() - started} ms`);
  }
  const index = (r: RunningReplica): number => Number(r.name.slice(service.length + 1));
  const surplus = [...current].sort((a, b) => index(b) - index(a)).slice(0, Math.max(0, current.length - count));
  for (const victim of surplus) {
    registry.remove(victim.name);
    registry.reloadNginx();
    await sleep(NGINX_RELOAD_SETTLE_MS);
    const started = Date.now();
    await stopPid(victim.pid, replicaCommand(victim.service), 30_000, log, victim.name);
    replicas = replicas.filter((r) => r !== victim);
    save();
    log(`${victim.name}: removed from discovery and stopped in ${Date.now() - started} ms`);
  }
  log(`${service}: ${replicas.filter((r) => r.service === service).length} replica(s)`);
}

/** Stops every replica (they drain; SIGKILL after 30 s), then nginx. Returns false if there was nothing to stop. */
export async function stopDetached(dataDir: string, log: (message: string) => void): Promise<boolean> {
  const state = readDeploymentState(dataDir);
  if (state === undefined) return false;
  await Promise.all(
    state.replicas.map((r) => {
      if (isOurs(r.pid, replicaCommand(r.service))) log(`${r.name}: stopping pid ${r.pid}`);
      return stopPid(r.pid, replicaCommand(r.service), 30_000, log, r.name);
    }),
  );
  if (state.nginxPid !== undefined) await stopPid(state.nginxPid, join(dataDir, 'nginx'), 10_000, log, 'nginx');
  writeDeploymentState(dataDir, { ...state, replicas: [], nginxPid: undefined });
  return true;
}
