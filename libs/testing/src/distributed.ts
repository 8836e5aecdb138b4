import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SERVICE_NAMES, type ServiceName } from '@axon/contracts-routes';
import { freePort } from './ports';
import { GRPC_SERVED, ReplicaRegistry, type Replica } from './replica-registry';
import { spawnService, waitForHttp, type ExitStatus, type ServiceProcess } from './service-process';
import { writeDeploymentState } from './distributed-state';
import { destroyTestResources, ensureTestDatabase, recordTestResources, type TestResources } from './test-resources';

export type { ExitStatus, ServiceProcess } from './service-process';

/** The repository: from the sources (Jest) or from dist/ (the launcher and benches). */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const NGINX = process.env['AXON_NGINX'] ?? '/usr/sbin/nginx';

/** The services of a distributed deployment, each a separate process (`apps/<service>`), the room server first. */
export const DISTRIBUTED_SERVICES: readonly ServiceName[] = ['room-server', ...SERVICE_NAMES.filter((s) => s !== 'room-server')];

export interface DistributedInfra {
  /** A Postgres server URL; the deployment gets its own database on it. */
  readonly postgres: string;
  readonly kafkaBrokers: string;
  readonly redis: string;
}

/**
 * The real infrastructure to run on: `AXON_TEST_POSTGRES_URL`, `AXON_TEST_KAFKA_BROKERS`,
 * `AXON_TEST_REDIS_URL`, or else what `deploy/local/env.sh` exports.
 */
export function distributedInfra(env: NodeJS.ProcessEnv = process.env): DistributedInfra {
  const postgres = env['AXON_TEST_POSTGRES_URL'] || env['AXON_DATABASE_URL'];
  const kafkaBrokers = env['AXON_TEST_KAFKA_BROKERS'] || env['AXON_KAFKA_BROKERS'];
  const redis = env['AXON_TEST_REDIS_URL'] || env['AXON_REDIS_URL'];
  if (!postgres || !kafkaBrokers || !redis) {
    throw new Error('the distributed deployment needs Postgres, Kafka and Redis: `npm run infra:up`, then `source deploy/local/env.sh`');
  }
  return { postgres, kafkaBrokers, redis };
}

export interface DistributedOptions {
  /** Environment for every service process (configuration, as for `startHomeserver`). */
  readonly env?: Record<string, string>;
  /** Where every process keeps its files; the same directory again restarts the same deployment (same database, topics, keys). */
  readonly dataDir?: string;
  /** Replicas per service (default: 2 room-servers, 2 syncs, 1 of each other). */
  readonly replicas?: Partial<Record<ServiceName, number>>;
  /** nginx's listen address (default a free port on 127.0.0.1). */
  readonly listen?: { host: string; port: number };
  /** Per process: write stdout/stderr to `<dataDir>/logs/<name>.log` and detach (a launcher that outlives its caller). */
  readonly detached?: boolean;
  readonly infra?: DistributedInfra;
  /**
   * From the first process's spawn, every process must be ready within this, and each
   * `restart`'s within this of its spawn (default 45 s: below Jest's 60 s hook timeout, so
   * a start that hangs is killed here rather than left running when Jest gives up on the
   * hook). Creating the database before, and nginx after, take a little more.
   */
  readonly startTimeoutMs?: number;
  /** A crashed replica's partitions move after this long (default 3 s: deploy/local's broker allows down to 1 s). */
  readonly sessionTimeoutMs?: number;
}

export interface DistributedDeployment {
  /** nginx in front of every service: what clients use. */
  readonly baseUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** The deployment's own database, Kafka topic prefix and Redis key prefix. */
  readonly databaseUrl: string;
  readonly namespace: string;
  readonly processes: ServiceProcess[];
  readonly nginx: ChildProcess;
  /** Every JSON log line of every process, each with `process` added. */
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<ExitStatus>;
  /** The replicas of one service. */
  replicasOf(service: ServiceName): ServiceProcess[];
  /** Starts `old`'s replacement on the same ports (after a crash or a stop). */
  restart(old: ServiceProcess): Promise<ServiceProcess>;
  /**
   * Starts one more replica of `service` on ports of its own and, once it is ready,
   * registers it: its gRPC address in the service's targets file, its HTTP port in
   * nginx's upstreams (reloaded), its `/metrics` in the scrape targets.
   */
  addReplica(service: ServiceName): Promise<ServiceProcess>;
  /**
   * Removes a replica. `SIGTERM` is a graceful removal: the replica leaves discovery
   * first (targets file, nginx reloaded), then is stopped and drains. Any other signal
   * is a crash: the process dies first and leaves discovery after, as a Kubernetes pod's
   * endpoint goes once the pod is gone.
   */
  removeReplica(replica: ServiceProcess, signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** SIGTERM to every process (then nginx); resolves with the first failure, or success. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** `stop`, then removes the deployment's database, Kafka topics and Redis keys: it cannot be restarted. */
  destroy(): Promise<ExitStatus>;
}

/** After nginx's reload, before a removed replica is stopped: the new workers take the new connections. */
export const NGINX_RELOAD_SETTLE_MS = 300;

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** A replica's name and ports, on free ports; named after the highest of `existing` of its service. */
export async function nextSlot(service: ServiceName, existing: readonly Replica[]): Promise<Replica> {
  const taken = existing.filter((r) => r.service === service).map((r) => Number(r.name.slice(service.length + 1)));
  const index = Math.max(0, ...taken) + 1;
  return { name: `${service}-${index}`, service, httpPort: await freePort(), grpcPort: GRPC_SERVED[service] ? await freePort() : undefined };
}

/** The environment every process of the deployment shares (its own ports and data directory come on top: `replicaEnv`). */
export interface SharedEnv {
  readonly [name: string]: string;
}

/** One replica's environment: the shared one, its own listeners and data directory, and the gRPC targets of every service but its own. */
export function replicaEnv(shared: SharedEnv, dataDir: string, slot: Replica, targets: Record<string, string>): Record<string, string> {
  const own = new Set(GRPC_SERVED[slot.service] ?? []);
  const grpcTargets = Object.entries(targets)
    .filter(([name]) => !own.has(name))
    .map(([name, target]) => `${name}=${target}`)
    .join(';');
  return {
    ...shared,
    AXON_DATA_DIR: join(dataDir, slot.name),
    AXON_CLIENT_LISTEN: `127.0.0.1:${slot.httpPort}`,
    AXON_GRPC_LISTEN: `127.0.0.1:${slot.grpcPort ?? 0}`,
    // A federation receiver also listens on `listen.federation`: each on a port of its own
    // (nginx routes the Server-Server API to their HTTP port, which serves it too).
    ...(slot.service === 'federation-receiver' ? { AXON_FEDERATION_LISTEN: '127.0.0.1:0' } : {}),
    AXON_GRPC_TARGETS: grpcTargets,
    AXON_SERVICE_NAME: shared['AXON_SERVICE_NAME'] ?? `axon-${slot.service}`,
  };
}

/**
 * Brings up Axon's distributed deployment on this machine: every service as its own
 * process (`dist/apps/<service>/src/main.js`, two room-servers and two syncs by default)
 * on real Postgres (a database of its own), Kafka (a topic prefix of its own) and Redis
 * (a key prefix of its own), talking gRPC to each other, with nginx in front rendered
 * from the routing table (`@axon/contracts-routes`). Resolves when every process logged
 * `<app> ready` and nginx answers. Replicas can be added and removed while it runs
 * (`addReplica`, `removeReplica`); discovery follows through the `ReplicaRegistry`.
 */
export async function startDistributed(options: DistributedOptions = {}): Promise<DistributedDeployment> {
  const infra = options.infra ?? distributedInfra();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'axon-dist-'));
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const id = digest(resolve(dataDir));
  const namespace = `t${id}`;
  const databaseName = `axon_dist_${id}`;
  const databaseUrl = await ensureTestDatabase(infra.postgres, databaseName);
  const resources: TestResources = {
    postgres: { url: infra.postgres, database: databaseName },
    kafka: { brokers: infra.kafkaBrokers, prefix: `${namespace}.` },
    redis: { url: infra.redis, prefix: `axon:${namespace}:` },
  };
  // In a test run, removed by the global teardown (this one may be restarted until then).
  recordTestResources(namespace, resources);
  for (const service of DISTRIBUTED_SERVICES) {
    const main = join(ROOT, `dist/apps/${service}/src/main.js`);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  }
  if (!existsSync(NGINX)) throw new Error(`nginx is not installed at ${NGINX} (apt-get install nginx-light, or set AXON_NGINX)`);

  const replicas: Partial<Record<ServiceName, number>> = { 'room-server': 2, sync: 2, ...options.replicas };
  const slots: Replica[] = [];
  for (const service of DISTRIBUTED_SERVICES) {
    for (let i = 0; i < (replicas[service] ?? 1); i++) slots.push(await nextSlot(service, slots));
  }
  const listen = options.listen ?? { host: '127.0.0.1', port: await freePort() };
  // Each gRPC service is reached at every registered replica of its app, round-robin,
  // through the app's targets file (a `file:` target, followed as it changes).
  const registry = new ReplicaRegistry(dataDir, NGINX, listen);
  registry.add(...slots);
  const targets = registry.grpcTargets();
  const shared: SharedEnv = {
    PATH: process.env['PATH'] ?? '',
    AXON_LOG_LEVEL: 'info',
    ...options.env,
    AXON_DATABASE_URL: databaseUrl,
    AXON_KAFKA_BROKERS: infra.kafkaBrokers,
    AXON_KAFKA_TOPIC_PREFIX: resources.kafka!.prefix,
    AXON_KAFKA_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 3000),
    AXON_REDIS_URL: infra.redis,
    AXON_REDIS_KEY_PREFIX: resources.redis!.prefix,
    AXON_SIGNING_KEY_PATH: join(dataDir, 'signing.key'),
  };

  const logs: Record<string, unknown>[] = [];
  // Every process ever spawned, ready or not: a failed start, or a stop, kills them all.
  const spawned: ServiceProcess[] = [];
  const launch = (slot: Replica, deadline: number): Promise<ServiceProcess> => {
    const env = replicaEnv(shared, dataDir, slot, targets);
    const { proc, ready } = spawnService(ROOT, slot, env, join(dataDir, 'logs', `${slot.name}.log`), logs, options.detached ?? false, deadline);
    spawned.push(proc);
    return ready.then(() => proc);
  };
  const startTimeoutMs = options.startTimeoutMs ?? 45_000;

  const processes: ServiceProcess[] = [];
  let nginx: ChildProcess | undefined;
  const persist = (): void =>
    writeDeploymentState(dataDir, {
      listen,
      shared,
      targets,
      replicas: processes.map((p) => ({ name: p.name, service: p.service, httpPort: p.httpPort, grpcPort: p.grpcPort, pid: p.child.pid! })),
      nginxPid: nginx?.pid,
    });
  const stopAll = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> => {
    await Promise.all(spawned.map((p) => p.stop(signal)));
    // The outcome is that of the current processes (not of replicas a restart replaced or removed).
    const statuses = await Promise.all(processes.map((p) => p.exited));
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      const gone = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGTERM');
      await gone;
    }
    return statuses.find((s) => s.code !== 0) ?? { code: 0, signal: null };
  };
  try {
    // The first room server alone: it generates the signing key every process shares.
    const deadline = Date.now() + startTimeoutMs;
    const [first, ...rest] = slots;
    processes.push(await launch(first!, deadline));
    processes.push(...(await Promise.all(rest.map((slot) => launch(slot, deadline)))));

    nginx = spawn(NGINX, ['-p', registry.nginxDir, '-c', registry.confPath, '-g', 'daemon off;'], {
      stdio: options.detached ? ['ignore', openSync(join(dataDir, 'logs', 'nginx.log'), 'a'), openSync(join(dataDir, 'logs', 'nginx.log'), 'a')] : ['ignore', 'ignore', 'pipe'],
      detached: options.detached ?? false,
    });
    registry.nginxStarted();
    const baseUrl = `http://${listen.host}:${listen.port}`;
    await waitForHttp(`${baseUrl}/_matrix/client/versions`, Math.max(deadline - Date.now(), 1_000), nginx);
    persist();

    const deployment: DistributedDeployment = {
      baseUrl,
      port: listen.port,
      dataDir,
      databaseUrl,
      namespace,
      processes,
      nginx,
      logs,
      get exited() {
        return Promise.all(processes.map((p) => p.exited)).then((all) => all.find((s) => s.code !== 0) ?? { code: 0, signal: null });
      },
      replicasOf: (service) => processes.filter((p) => p.service === service),
      async restart(old) {
        if (!processes.includes(old)) throw new Error(`${old.name} is not a process of this deployment`);
        await old.stop('SIGKILL');
        const next = await launch({ name: old.name, service: old.service, httpPort: old.httpPort, grpcPort: old.grpcPort }, Date.now() + startTimeoutMs);
        processes.splice(processes.indexOf(old), 1, next);
        persist();
        return next;
      },
      async addReplica(service) {
        const slot = await nextSlot(service, [...processes, ...spawned]);
        const next = await launch(slot, Date.now() + startTimeoutMs);
        processes.push(next);
        registry.add(slot);
        registry.reloadNginx();
        persist();
        return next;
      },
      async removeReplica(replica, signal = 'SIGTERM') {
        if (!processes.includes(replica)) throw new Error(`${replica.name} is not a running replica of this deployment`);
        if (processes.filter((p) => p.service === replica.service).length < 2) throw new Error(`${replica.name} is the last ${replica.service}`);
        let status: ExitStatus;
        if (signal === 'SIGTERM') {
          registry.remove(replica.name);
          registry.reloadNginx();
          await new Promise((r) => setTimeout(r, NGINX_RELOAD_SETTLE_MS));
          status = await replica.stop('SIGTERM');
        } else {
          status = await replica.stop(signal);
          registry.remove(replica.name);
          registry.reloadNginx();
        }
        processes.splice(processes.indexOf(replica), 1);
        persist();
        return status;
      },
      stop: stopAll,
      async destroy() {
        const status = await stopAll();
        await destroyTestResources(resources);
        return status;
      },
    };
    return deployment;
  } catch (err) {
    await stopAll('SIGKILL');
    throw err;
  }
}
