import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startDistributed } from './distributed';
import { freePort } from './ports';
import { ensureTestDatabase, recordTestResources } from './test-resources';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/homeserver/src/main.js');

export interface HomeserverProcess {
  /** The client listener (`http://127.0.0.1:<port>`). */
  readonly baseUrl: string;
  readonly port: number;
  /**
   * The federation listener (`listen.federation`): `https://127.0.0.1:<port>` when
   * `federation.tls` is configured, `http://` otherwise. Undefined for the distributed
   * deployment, whose nginx routes the Server-Server API to the federation receivers'
   * HTTP port (`baseUrl`).
   */
  readonly federationUrl: string | undefined;
  readonly federationPort: number | undefined;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Every JSON log line the process wrote so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (if still running) and resolves with the exit code and signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the built homeserver within 20 s (the bar a fresh machine must meet) (`npm run build` output; the unit project's global setup
 * builds it) as a real child process on free ports (client and federation listeners)
 * with its own data directory.
 */
export async function startHomeserver(
  env: Record<string, string> = {},
  options: {
    dataDir?: string;
    startTimeoutMs?: number;
    /** Resolve at this log message instead of "homeserver ready" (the port is then 0). */
    waitFor?: string;
    /**
     * Configuration file contents (`AXON_CONFIG`), for settings without an environment
     * variable (`federation.client.ca_files`...); the environment overrides it.
     */
    config?: Record<string, unknown>;
  } = {},
): Promise<HomeserverProcess> {
  if (options.config !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), 'axon-config-')), 'axon.yaml');
    // YAML is a superset of JSON.
    writeFileSync(file, JSON.stringify(options.config, null, 2));
    env = { AXON_CONFIG: file, ...env };
  }
  if (process.env['AXON_TEST_DISTRIBUTED'] === '1' && options.waitFor === undefined) {
    // `npm run test:distributed`: the same suites against the distributed deployment
    // (every service its own process on Postgres, Kafka, Redis and gRPC, nginx in front).
    const deployment = await startDistributed({ env, ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}) });
    return {
      baseUrl: deployment.baseUrl,
      port: deployment.port,
      federationUrl: undefined,
      federationPort: undefined,
      dataDir: deployment.dataDir,
      child: deployment.nginx,
      logs: deployment.logs,
      exited: deployment.exited,
      stop: (signal) => deployment.stop(signal),
    };
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'axon-hs-'));
  const postgres = process.env['AXON_TEST_POSTGRES_URL'];
  if (postgres !== undefined && postgres !== '' && env['AXON_DATABASE_URL'] === undefined) {
    env = { ...env, AXON_DATABASE_URL: await databaseFor(postgres, dataDir) };
  }
  // A port picked here rather than 0: `/.well-known/matrix/server` advertises the configured one.
  const federationListen = env['AXON_FEDERATION_LISTEN'] ?? `127.0.0.1:${await freePort()}`;
  const federationTls = env['AXON_FEDERATION_TLS_CERT'] !== undefined || hasFederationTls(options.config);
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      AXON_DATA_DIR: dataDir,
      AXON_CLIENT_LISTEN: '127.0.0.1:0',
      AXON_LOG_LEVEL: 'info',
      ...env,
      AXON_FEDERATION_LISTEN: federationListen,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );

  let federationPort: number | undefined;
  const started = new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`homeserver did not start in time\n${stderr.join('')}`)),
      options.startTimeoutMs ?? 20000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        entry = { unparsed: line, error: (err as Error).message };
      }
      logs.push(entry);
      if (options.waitFor !== undefined && entry['msg'] === options.waitFor) {
        clearTimeout(timer);
        resolvePort(0);
      } else if (entry['msg'] === 'homeserver ready') {
        clearTimeout(timer);
        if (typeof entry['federation'] === 'string') federationPort = Number(entry['federation'].split(':').pop());
        resolvePort(Number(String(entry['listen']).split(':').pop()));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`homeserver exited early (code ${code}, signal ${signal})\n${stderr.join('')}`));
    });
  });
  let port: number;
  try {
    port = await started;
  } catch (err) {
    // A start that timed out must not leave its process running.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw err;
  }

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    federationUrl: federationPort === undefined ? undefined : `${federationTls ? 'https' : 'http'}://127.0.0.1:${federationPort}`,
    federationPort,
    dataDir,
    child,
    logs,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function hasFederationTls(config: Record<string, unknown> | undefined): boolean {
  const federation = config?.['federation'];
  return typeof federation === 'object' && federation !== null && 'tls' in federation;
}

/**
 * With `AXON_TEST_POSTGRES_URL` set (CI does, after `deploy/local/up.sh`), every end-to-end
 * suite runs against real Postgres: each data directory gets its own database (created
 * on first use, reused by a restart on the same directory), so homeservers never share
 * state.
 */
async function databaseFor(serverUrl: string, dataDir: string): Promise<string> {
  const name = `axon_e2e_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
  const url = await ensureTestDatabase(serverUrl, name);
  recordTestResources(name, { postgres: { url: serverUrl, database: name } });
  return url;
}
