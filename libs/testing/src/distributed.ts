import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { GRPC_SERVICES, SERVICE_NAMES, renderNginxConfig, type ServiceName } from '@axon/contracts-routes';
import { freePort } from './ports';
import { destroyTestResources, ensureTestDatabase, recordTestResources, type TestResources } from './test-resources';

/** The repository: from the sources (Jest) or from dist/ (the launcher and benches). */
const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
const NGINX = process.env['AXON_NGINX'] ?? '/usr/sbin/nginx';

/** The services of a distributed deployment, each a separate process (`apps/<service>`), the room server first. */
export const DISTRIBUTED_SERVICES: readonly ServiceName[] = ['room-server', ...SERVICE_NAMES.filter((s) => s !== 'room-server')];

/** The gRPC services each app serves, by full name (the routing table's): the others reach them through `grpc.targets`. */
const GRPC_SERVED: Partial<Record<ServiceName, readonly string[]>> = {};
for (const [name, service] of Object.entries(GRPC_SERVICES)) GRPC_SERVED[service] = [...(GRPC_SERVED[service] ?? []), name];

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
  /** A crashed replica's partitions move after this long (default 6 s, the broker's minimum). */
  readonly sessionTimeoutMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One service process of the deployment. */
export interface ServiceProcess {
  /** `room-server-1`, `sync-2`, `client-api-1`... */
  readonly name: string;
  readonly service: ServiceName;
  readonly httpPort: number;
  readonly grpcPort: number | undefined;
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<ExitStatus>;
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
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
  /** SIGTERM to every process (then nginx); resolves with the first failure, or success. */
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** `stop`, then removes the deployment's database, Kafka topics and Redis keys: it cannot be restarted. */
  destroy(): Promise<ExitStatus>;
}

const digest = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** Creates the database `name` on the server if it does not exist; returns its URL. */
interface Slot {
  readonly name: string;
  readonly service: ServiceName;
  readonly httpPort: number;
  readonly grpcPort: number | undefined;
}

/**
 * Brings up Axon's distributed deployment on this machine: every service as its own
 * process (`dist/apps/<service>/src/main.js`, two room-servers and two syncs by default)
 * on real Postgres (a database of its own), Kafka (a topic prefix of its own) and Redis
 * (a key prefix of its own), talking gRPC to each other, with nginx in front rendered
 * from the routing table (`@axon/contracts-routes`). Resolves when every process logged
 * `<app> ready` and nginx answers.
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
  const slots: Slot[] = [];
  for (const service of DISTRIBUTED_SERVICES) {
    const count = replicas[service] ?? 1;
    for (let i = 1; i <= count; i++) {
      slots.push({ name: `${service}-${i}`, service, httpPort: await freePort(), grpcPort: GRPC_SERVED[service] ? await freePort() : undefined });
    }
  }
  // Each gRPC service is reached at every replica of its app, round-robin, through the
  // app's registry file (a `file:` target, followed as it changes).
  const targets: Record<string, string> = {};
  const registry = join(dataDir, 'grpc-targets');
  mkdirSync(registry, { recursive: true });
  for (const [service, names] of Object.entries(GRPC_SERVED) as [ServiceName, readonly string[]][]) {
    const addresses = slots.filter((s) => s.service === service).map((s) => `127.0.0.1:${s.grpcPort}`);
    if (addresses.length === 0) continue;
    const file = join(registry, `${service}.targets`);
    writeFileSync(file, `${addresses.join('\n')}\n`);
    for (const name of names) targets[name] = `file://${file}`;
  }

  const logs: Record<string, unknown>[] = [];
  // Every process ever spawned, ready or not: a failed start, or a stop, kills them all.
  const spawned: ServiceProcess[] = [];
  const launch = (slot: Slot, deadline: number): Promise<ServiceProcess> => {
    const own = new Set(GRPC_SERVED[slot.service] ?? []);
    const grpcTargets = Object.entries(targets)
      .filter(([name]) => !own.has(name))
      .map(([name, target]) => `${name}=${target}`)
      .join(';');
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      AXON_LOG_LEVEL: 'info',
      ...options.env,
      AXON_DATA_DIR: join(dataDir, slot.name),
      AXON_CLIENT_LISTEN: `127.0.0.1:${slot.httpPort}`,
      AXON_GRPC_LISTEN: `127.0.0.1:${slot.grpcPort ?? 0}`,
      AXON_DATABASE_URL: databaseUrl,
      AXON_KAFKA_BROKERS: infra.kafkaBrokers,
      AXON_KAFKA_TOPIC_PREFIX: resources.kafka!.prefix,
      AXON_KAFKA_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 6000),
      AXON_REDIS_URL: infra.redis,
      AXON_REDIS_KEY_PREFIX: resources.redis!.prefix,
      AXON_SIGNING_KEY_PATH: join(dataDir, 'signing.key'),
      AXON_GRPC_TARGETS: grpcTargets,
      AXON_SERVICE_NAME: options.env?.['AXON_SERVICE_NAME'] ?? `axon-${slot.service}`,
    };
    const { proc, ready } = spawnService(slot, env, join(dataDir, 'logs', `${slot.name}.log`), logs, options.detached ?? false, deadline);
    spawned.push(proc);
    return ready.then(() => proc);
  };
  const startTimeoutMs = options.startTimeoutMs ?? 45_000;

  const processes: ServiceProcess[] = [];
  let nginx: ChildProcess | undefined;
  const stopAll = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> => {
    await Promise.all(spawned.map((p) => p.stop(signal)));
    // The outcome is that of the current processes (not of replicas a restart replaced).
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

    const listen = options.listen ?? { host: '127.0.0.1', port: await freePort() };
    const upstreams = {} as Record<ServiceName, string[]>;
    for (const slot of slots) (upstreams[slot.service] ??= []).push(`127.0.0.1:${slot.httpPort}`);
    const nginxDir = join(dataDir, 'nginx');
    mkdirSync(nginxDir, { recursive: true });
    const confPath = join(nginxDir, 'nginx.conf');
    writeFileSync(confPath, renderNginxConfig({ listen: `${listen.host}:${listen.port}`, upstreams, prefix: nginxDir }));
    const check = spawnSync(NGINX, ['-t', '-p', nginxDir, '-c', confPath], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx refused ${confPath}:\n${check.stderr}`);
    nginx = spawn(NGINX, ['-p', nginxDir, '-c', confPath, '-g', 'daemon off;'], {
      stdio: options.detached ? ['ignore', openSync(join(dataDir, 'logs', 'nginx.log'), 'a'), openSync(join(dataDir, 'logs', 'nginx.log'), 'a')] : ['ignore', 'ignore', 'pipe'],
      detached: options.detached ?? false,
    });
    const baseUrl = `http://${listen.host}:${listen.port}`;
    await waitForHttp(`${baseUrl}/_matrix/client/versions`, Math.max(deadline - Date.now(), 1_000), nginx);

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
        const slot = slots.find((s) => s.name === old.name);
        if (!slot) throw new Error(`${old.name} is not a process of this deployment`);
        await old.stop('SIGKILL');
        const next = await launch(slot, Date.now() + startTimeoutMs);
        processes.splice(processes.indexOf(old), 1, next);
        return next;
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

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (code ${child.exitCode})`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Spawns one service process; `ready` settles when it is ready, exits, or `deadline` passes. */
function spawnService(
  slot: Slot,
  env: Record<string, string>,
  logFile: string,
  all: Record<string, unknown>[],
  detached: boolean,
  deadline: number,
): { proc: ServiceProcess; ready: Promise<void> } {
  const main = join(ROOT, `dist/apps/${slot.service}/src/main.js`);
  const child = spawn(process.execPath, [main], {
    cwd: ROOT,
    env,
    stdio: detached ? ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] : ['ignore', 'pipe', 'pipe'],
    detached,
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<ExitStatus>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${slot.name} did not start in time\n${stderr.join('')}`)), Math.max(deadline - Date.now(), 0));
    const onEntry = (entry: Record<string, unknown>): void => {
      logs.push(entry);
      all.push({ ...entry, process: slot.name });
      if (entry['msg'] === `${slot.service} ready`) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    // Ready once /ready answers 200 (whatever the log level), or at the ready log line.
    void pollReady(`http://127.0.0.1:${slot.httpPort}/ready`, exited).then(() => {
      clearTimeout(timer);
      resolveReady();
    }, reject);
    if (!detached) {
      // Kept in memory for the tests and in the log file for a post-mortem.
      const file = createWriteStream(logFile, { flags: 'a' });
      child.stdout!.pipe(file);
      child.stderr!.on('data', (c: Buffer) => {
        stderr.push(c.toString());
        file.write(c);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          onEntry(JSON.parse(line) as Record<string, unknown>);
        } catch (err) {
          onEntry({ unparsed: line, error: (err as Error).message });
        }
      });
    }
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${slot.name} exited early (code ${code}, signal ${signal})\n${stderr.join('')}`));
    });
  });
  if (detached) child.unref();
  const proc: ServiceProcess = {
    ...slot,
    child,
    logs,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return { proc, ready };
}

async function pollReady(url: string, exited: Promise<ExitStatus>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
