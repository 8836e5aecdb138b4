// The homeservers a bench compares, started the same way by every bench: Axon's
// homeserver main (what `npm start` runs: embedded PGlite by default, or PostgreSQL) of
// this checkout or of a baseline checkout, and Synapse from PyPI (deploy/local/synapse.sh).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { waitReady } from './http.mjs';
import { startProcess } from './process.mjs';
import { ROOT } from './run.mjs';
import { startCommandOf } from './start-command.mjs';
import { configureSynapse, synapsePython } from '../../lib/synapse.mjs';

const require = createRequire(import.meta.url);
// Listening ports below the ephemeral range (an outgoing connection cannot take one first).
const { freePort } = require(join(ROOT, 'dist/libs/testing/src/ports.js'));

export const SERVER_NAME = 'bench.localhost';

/**
 * The targets of a run, from a comma-separated setting. `BENCH_AXON_BASELINE=<checkout
 * with a built dist/>` adds `axon-pglite@base` and `axon-postgres@base` (that checkout's
 * homeserver) to the default, each before its counterpart of this checkout.
 */
export function parseTargets(setting) {
  const baseline = process.env.BENCH_AXON_BASELINE ? resolve(process.env.BENCH_AXON_BASELINE) : undefined;
  const fallback = baseline ? 'axon-pglite@base,axon-pglite,axon-postgres@base,axon-postgres,synapse' : 'axon-pglite,axon-postgres,synapse';
  const names = (setting ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.map((name) => {
    const [kind, tag] = name.split('@');
    if (!['axon-pglite', 'axon-postgres', 'synapse'].includes(kind) || (tag !== undefined && (tag !== 'base' || kind === 'synapse'))) {
      throw new Error(`unknown target ${name} (axon-pglite, axon-postgres, synapse, and with BENCH_AXON_BASELINE axon-pglite@base, axon-postgres@base)`);
    }
    if (tag === 'base' && !baseline) throw new Error(`${name} needs BENCH_AXON_BASELINE=<path of a checkout with a built dist/>`);
    return { name, axon: kind !== 'synapse', postgres: kind !== 'axon-pglite', root: tag === 'base' ? baseline : ROOT };
  });
}

/** `git describe` of a checkout, for the report ('' outside git). */
export function checkoutVersion(root) {
  try {
    return execFileSync('git', ['-C', root, 'log', '-1', '--format=%h %cs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/**
 * Starts `target` fresh in its own work dir (`databaseUrl`: its own database, for the
 * PostgreSQL targets). The handle's `restart()` stops it by pid and starts it again on the
 * same data; `stop()` stops it; a crash, or an Axon exit other than a clean one on SIGTERM,
 * keeps its log and is noted.
 */
export async function startServer(run, target, { databaseUrl, nodeArgs = [] } = {}) {
  const dir = run.workDir(target.name);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const { launch, logFile, readyMs } = target.axon
    ? axonLauncher(run, target, dir, { port, federationPort: await freePort() }, databaseUrl, nodeArgs)
    : synapseLauncher(run, target, dir, port, databaseUrl);
  let proc;
  const start = async () => {
    proc = launch();
    await waitReady(baseUrl, proc, target.name, readyMs);
  };
  const stop = async () => {
    const crashed = proc.isExited();
    const r = await proc.stop();
    if (crashed || (target.axon && r.code !== 0 && r.signal !== 'SIGTERM')) {
      run.keepLog(target.name, logFile, `exited ${crashed ? 'during the run' : 'on SIGTERM'} (code ${r.code}, signal ${r.signal})`);
    }
  };
  const server = {
    baseUrl,
    port,
    get pid() {
      return proc.pid;
    },
    gone: () => proc.isExited(),
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  return server;
}

function axonLauncher(run, target, dir, { port, federationPort }, databaseUrl, nodeArgs) {
  // As the checkout's own `npm start` runs it: a baseline without flags, this one with its own.
  const start = startCommandOf(target.root);
  const main = start.main;
  nodeArgs = [...start.flags, ...nodeArgs];
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` in ${target.root} first`);
  const env = {
    PATH: process.env.PATH ?? '',
    ...start.env,
    AXON_DATA_DIR: join(dir, 'data'),
    AXON_CLIENT_LISTEN: `127.0.0.1:${port}`,
    AXON_FEDERATION_LISTEN: `127.0.0.1:${federationPort}`,
    AXON_SERVER_NAME: SERVER_NAME,
    AXON_ENABLE_REGISTRATION: 'true',
    AXON_RATE_LIMITS_ENABLED: 'false',
    AXON_LOG_LEVEL: 'warn',
    ...(databaseUrl ? { AXON_DATABASE_URL: databaseUrl.toString() } : {}),
  };
  const logFile = join(dir, 'homeserver.log');
  return { logFile, readyMs: 60_000, launch: () => startProcess(run, target.name, process.execPath, [...nodeArgs, main], { env, cwd: target.root, logFile }) };
}

let synapseVersion = '';
/** 'synapse <version> on python <version>' once a Synapse target started ('' before). */
export const synapseInfo = () => synapseVersion;

function synapseLauncher(run, target, dir, port, dbUrl) {
  let installed;
  try {
    installed = synapsePython();
  } catch (err) {
    throw new Error(`Synapse could not be installed from PyPI (deploy/local/synapse.sh: ${err.message.split('\n')[0]}); no Synapse numbers`);
  }
  synapseVersion = installed.version;
  const database = {
    name: 'psycopg2',
    args: {
      user: decodeURIComponent(dbUrl.username),
      password: decodeURIComponent(dbUrl.password),
      database: dbUrl.pathname.slice(1),
      host: dbUrl.hostname,
      port: Number(dbUrl.port || 5432),
      cp_min: 5,
      cp_max: 10,
    },
  };
  const synapse = configureSynapse(installed.python, dir, { serverName: SERVER_NAME, port, database });
  return {
    logFile: join(dir, 'homeserver.log'),
    readyMs: 120_000,
    launch: () => startProcess(run, target.name, synapse.command, synapse.args, { env: synapse.env, cwd: dir, logFile: join(dir, 'stdout.log') }),
  };
}

/** A PostgreSQL target's fresh database in `cluster` (Synapse's with the collation it needs). */
export function createTargetDatabase(cluster, run, bench, target) {
  const name = `${target.name.replace(/[^a-z0-9]/g, '_')}_bench_${bench}_${run.id}`;
  return cluster.createDatabase(name, { synapse: !target.axon });
}
