import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MatrixClient } from 'matrix-js-sdk';
import { startHomeserver, type HomeserverProcess } from './homeserver-process';
import { freePort } from './ports';
import { createTestCa, type TestCa } from './test-ca';

const ROOT = resolve(__dirname, '../../..');
/** Installs Synapse's venv if needed and writes its configuration (`configureSynapse`). */
const SYNAPSE_TOOL = join(ROOT, 'tools/lib/synapse.mjs');

/** Outbound federation may reach loopback (as Synapse's `ip_range_whitelist`). */
export const LOOPBACK_RANGES = ['127.0.0.1/8', '::1/128'] as const;

/** One homeserver of a {@link FederationNet}. */
export interface FederatedServer {
  readonly label: 'hs1' | 'hs2' | 'synapse';
  readonly implementation: 'axon' | 'synapse';
  /** `localhost:<federation port>`: a name with a port, which peers connect to directly (no well-known, no SRV). */
  readonly serverName: string;
  /** The Client-Server API, plain HTTP: `http://127.0.0.1:<port>`. */
  readonly clientUrl: string;
  /** The federation listener, HTTPS with a certificate of the net's CA: `https://127.0.0.1:<port>`. */
  readonly federationUrl: string;
  readonly pid: number;
}

/** A user registered on one server, with a matrix-js-sdk client (not started: call `startClient` as needed). */
export interface FederatedUser {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
  readonly client: MatrixClient;
}

export interface FederationNet {
  /** The CA every federation certificate of the net comes from, and that every server trusts. */
  readonly ca: TestCa;
  readonly hs1: FederatedServer;
  readonly hs2: FederatedServer;
  readonly synapse: FederatedServer;
  /** `synapse X on python Y`. */
  readonly synapseVersion: string;
  /** Where each server keeps its files and logs (`hs1/`, `hs2/`, `synapse/homeserver.log`). */
  readonly dir: string;
  /** A request to a server's federation listener over HTTPS, trusting the net's CA. */
  federationRequest(server: FederatedServer, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<HttpsAnswer>;
  /** Registers `localpart` on `server` (open registration, `m.login.dummy`) and returns a client for it. */
  register(server: FederatedServer, localpart: string): Promise<FederatedUser>;
  /** The log lines an Axon server of the net wrote since it (last) started, parsed. */
  logsOf(server: FederatedServer): readonly Record<string, unknown>[];
  /** Stops an Axon server of the net, its data kept (an outage). */
  stopServer(server: FederatedServer): Promise<void>;
  /**
   * Starts a stopped Axon server again on its data and federation port. Its client
   * listener gets a new port: `server.clientUrl` follows (clients made before do not).
   */
  startServer(server: FederatedServer): Promise<void>;
  /** Stops every client, then every server by its pid. */
  stop(): Promise<void>;
}

export interface HttpsAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * One HTTPS request with `node:https`, trusting only `ca` (PEM) when given, the system's
 * CAs otherwise, with `headers` added; rejects on a TLS failure (an unverifiable certificate, a peer that does
 * not speak TLS).
 */
export function httpsRequest(url: string, options: { method?: string; body?: unknown; ca?: string; headers?: Readonly<Record<string, string>> } = {}): Promise<HttpsAnswer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolveAnswer, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        // One connection per request: nothing left open once a test ends.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolveAnswer({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
          } catch (err) {
            reject(new Error(`${url}: status ${res.statusCode}, not JSON: ${text.slice(0, 200)}`, { cause: err }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

interface SynapseLaunch {
  readonly command: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly version: string;
}

interface RunningSynapse {
  readonly server: FederatedServer;
  readonly version: string;
  stop(): Promise<void>;
}

const SYNAPSE_READY_MS = 90_000;
const SYNAPSE_STOP_MS = 15_000;

/**
 * Starts, for one test file, a small federation on 127.0.0.1: two Axon homeservers
 * (`hs1`, `hs2`: separate processes, embedded defaults, data directories of their own)
 * and Synapse (the reference implementation, from PyPI through `tools/lib/synapse.mjs`;
 * the venv is cached under `~/.cache/axon`), each named `localhost:<federation port>`,
 * each with a federation listener whose certificate (SANs `localhost`, `127.0.0.1`) comes
 * from one test CA that every server trusts for outbound federation, certificate
 * verification on. Registration is open, rate limits are off, loopback is allowed as a
 * federation destination. Starting takes about 5 s on a quiet machine (the three in
 * parallel), more under load; give `beforeAll` two minutes.
 */
export async function startFederationNet(): Promise<FederationNet> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-fed-'));
  const ca = createTestCa(join(dir, 'ca'));
  const certificate = ca.issue('localhost', ['localhost', '127.0.0.1']);
  const [hs1Port, hs2Port, synapseFederationPort, synapseClientPort] = [await freePort(), await freePort(), await freePort(), await freePort()];

  const startAxon = (label: 'hs1' | 'hs2', port: number): Promise<HomeserverProcess> => {
    mkdirSync(join(dir, label), { recursive: true });
    return startHomeserver(
      {
        AXON_SERVER_NAME: `localhost:${port}`,
        AXON_FEDERATION_LISTEN: `127.0.0.1:${port}`,
        AXON_FEDERATION_TLS_CERT: certificate.certificatePath,
        AXON_FEDERATION_TLS_KEY: certificate.privateKeyPath,
        AXON_ENABLE_REGISTRATION: 'true',
        AXON_RATE_LIMITS_ENABLED: 'false',
      },
      {
        dataDir: join(dir, label),
        // Synapse starts beside them on the same cores.
        startTimeoutMs: 45_000,
        // A server brought back after an outage is retried within a second or two, not
        // after the production backoff (up to an hour).
        config: {
          federation: {
            client: { ca_files: [ca.certificatePath], ip_range_whitelist: [...LOOPBACK_RANGES] },
            sender: { backoff_base_ms: 200, backoff_max_ms: 1500 },
          },
        },
      },
    );
  };
  const started = await Promise.allSettled([
    startAxon('hs1', hs1Port),
    startAxon('hs2', hs2Port),
    startSynapse(join(dir, 'synapse'), {
      serverName: `localhost:${synapseFederationPort}`,
      port: synapseClientPort,
      database: { name: 'sqlite3', args: { database: join(dir, 'synapse', 'homeserver.db') } },
      federation: {
        port: synapseFederationPort,
        certificatePath: certificate.certificatePath,
        privateKeyPath: certificate.privateKeyPath,
        caFiles: [ca.certificatePath],
        ipRangeWhitelist: [...LOOPBACK_RANGES],
      },
    }),
  ]);
  const [hs1, hs2, synapse] = started;
  if (hs1.status !== 'fulfilled' || hs2.status !== 'fulfilled' || synapse.status !== 'fulfilled') {
    // What did start must not outlive the failure.
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    const failures = started.flatMap((s, i) => (s.status === 'rejected' ? [`${['hs1', 'hs2', 'synapse'][i]}: ${(s.reason as Error).message}`] : []));
    throw new Error(`the federation net did not start (files in ${dir}):\n${failures.join('\n')}`);
  }
  const axonServer = (label: 'hs1' | 'hs2', hs: HomeserverProcess, port: number): FederatedServer => {
    // Undefined only for the distributed deployment, which this net does not use.
    if (hs.federationUrl === undefined) throw new Error(`${label}: no federation listener`);
    return { label, implementation: 'axon', serverName: `localhost:${port}`, clientUrl: hs.baseUrl, federationUrl: hs.federationUrl, pid: hs.child.pid! };
  };

  const clients: MatrixClient[] = [];
  const axon = new Map<'hs1' | 'hs2', { process: HomeserverProcess | undefined; port: number; server: FederatedServer }>([
    ['hs1', { process: hs1.value, port: hs1Port, server: axonServer('hs1', hs1.value, hs1Port) }],
    ['hs2', { process: hs2.value, port: hs2Port, server: axonServer('hs2', hs2.value, hs2Port) }],
  ]);
  const axonOf = (server: FederatedServer) => {
    const entry = server.label === 'synapse' ? undefined : axon.get(server.label);
    if (entry === undefined) throw new Error(`${server.label} is not an Axon server of this net`);
    return entry;
  };
  return {
    ca,
    hs1: axon.get('hs1')!.server,
    hs2: axon.get('hs2')!.server,
    synapse: synapse.value.server,
    synapseVersion: synapse.value.version,
    dir,
    logsOf: (server) => axonOf(server).process?.logs ?? [],
    async stopServer(server) {
      const entry = axonOf(server);
      await entry.process?.stop();
      entry.process = undefined;
    },
    async startServer(server) {
      const entry = axonOf(server);
      if (entry.process !== undefined) return;
      entry.process = await startAxon(server.label as 'hs1' | 'hs2', entry.port);
      // Same data and federation port; the client listener has a port of its own each start.
      Object.assign(entry.server, { clientUrl: entry.process.baseUrl, pid: entry.process.child.pid! });
    },
    federationRequest: (server, method, path, body) => httpsRequest(`${server.federationUrl}${path}`, { method, body, ca: ca.certificate }),
    async register(server, localpart) {
      const session = await registerUser(server.clientUrl, localpart);
      const sdk = await import('matrix-js-sdk');
      const client = sdk.createClient({ baseUrl: server.clientUrl, accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id });
      clients.push(client);
      return { userId: session.user_id, accessToken: session.access_token, deviceId: session.device_id, client };
    },
    async stop() {
      for (const client of clients) client.stopClient();
      await Promise.all([...[...axon.values()].map((entry) => entry.process?.stop()), synapse.value.stop()]);
    },
  };
}

interface SynapseOptions {
  readonly serverName: string;
  readonly port: number;
  readonly database: Record<string, unknown>;
  readonly federation: {
    readonly port: number;
    readonly certificatePath: string;
    readonly privateKeyPath: string;
    readonly caFiles: readonly string[];
    readonly ipRangeWhitelist: readonly string[];
  };
}

/** Configures Synapse in `dir` (tools/lib/synapse.mjs), starts it and waits until its client API answers. */
async function startSynapse(dir: string, options: SynapseOptions): Promise<RunningSynapse> {
  mkdirSync(dir, { recursive: true });
  const launch = JSON.parse(
    execFileSync(process.execPath, [SYNAPSE_TOOL, 'configure', dir, JSON.stringify(options)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  ) as SynapseLaunch;
  const out = openSync(join(dir, 'stdout.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(launch.command, launch.args, { cwd: dir, env: launch.env, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), SYNAPSE_STOP_MS);
    await exited;
    clearTimeout(killer);
  };
  const clientUrl = `http://127.0.0.1:${options.port}`;
  try {
    await waitForVersions(clientUrl, exited, dir);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    version: launch.version,
    server: {
      label: 'synapse',
      implementation: 'synapse',
      serverName: options.serverName,
      clientUrl,
      federationUrl: `https://127.0.0.1:${options.federation.port}`,
      pid: child.pid!,
    },
    stop,
  };
}

async function waitForVersions(clientUrl: string, exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>, dir: string): Promise<void> {
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((status) => (gone = status));
  const deadline = Date.now() + SYNAPSE_READY_MS;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`synapse exited while starting (code ${gone.code}, signal ${gone.signal}); see ${dir}/homeserver.log`);
    const answered = await fetch(`${clientUrl}/_matrix/client/versions`).then(
      (res) => res.ok,
      // Not listening yet.
      () => false,
    );
    if (answered) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`synapse did not answer ${clientUrl} within ${SYNAPSE_READY_MS / 1000} s; see ${dir}/homeserver.log`);
}

/** Open registration, as both implementations offer it: a first call for the session, then `m.login.dummy`. */
async function registerUser(clientUrl: string, localpart: string): Promise<{ user_id: string; access_token: string; device_id: string }> {
  const register = async (body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${clientUrl}/_matrix/client/v3/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const credentials = { username: localpart, password: `${localpart} correct horse` };
  const first = await register(credentials);
  if (first.status !== 401 || typeof first.body['session'] !== 'string') throw new Error(`register ${localpart} at ${clientUrl}: ${first.status} ${JSON.stringify(first.body)}`);
  const done = await register({ ...credentials, auth: { type: 'm.login.dummy', session: first.body['session'] } });
  if (done.status !== 200) throw new Error(`register ${localpart} at ${clientUrl}: ${done.status} ${JSON.stringify(done.body)}`);
  return done.body as { user_id: string; access_token: string; device_id: string };
}
