// `npm run test:clients`: end-to-end scenarios with clients nobody here wrote, matrix-nio
// (Python, venv from PyPI: nio-venv.sh) and matrix-bot-sdk (npm), against a fresh Axon on
// embedded defaults, and with CLIENTS_AGAINST_SYNAPSE=1 the same scenarios against Synapse
// (deploy/local/synapse.sh), so a failing step is known to be Axon's or the client's.
//
//   CLIENTS_AGAINST_SYNAPSE=1   also run every scenario against Synapse 1.163.2
//   CLIENTS_ONLY=a,b            only these scenarios (names as in the table)
//
// Prints a table (scenario x server) and `clients: N passed, N failed` for Axon; exits 1
// when any scenario fails against Axon. Logs and data stay in tmp/clients/ for inspection.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitReady } from '../bench/lib/http.mjs';
import { startProcess } from '../bench/lib/process.mjs';
import { configureSynapse, synapsePython } from '../lib/synapse.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { freePort } = require(join(ROOT, 'dist/libs/testing/src/ports.js'));
const SERVER_NAME = 'clients.localhost';
const WORK = join(ROOT, 'tmp/clients');
// Per client process: its scenarios' own timeouts (60 s each) plus start-up, then it is killed.
const CLIENT_PROCESS_MS = 10 * 70_000;

const againstSynapse = process.env.CLIENTS_AGAINST_SYNAPSE === '1';
const only = (process.env.CLIENTS_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

const cleanups = [];
const run = {
  log: (msg) => process.stderr.write(`[clients] ${msg}\n`),
  onCleanup: (fn) => cleanups.push(fn),
};
async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (err) {
      run.log(`cleanup: ${err.message}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

/** The scenario runners: each a command that takes the base URL and scenario names. */
function clients() {
  const python = execFileSync('bash', [join(ROOT, 'tools/clients/nio-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return [
    { name: 'nio', cmd: python, args: [join(ROOT, 'tools/clients/nio/scenarios.py')] },
    { name: 'bot-sdk', cmd: process.execPath, args: [join(ROOT, 'tools/clients/bot-sdk/scenarios.mjs')] },
  ];
}

/** Runs one client's scenarios against baseUrl: its JSON result lines, stderr to a log. */
async function runClient(client, baseUrl, dir) {
  const logFile = join(dir, `${client.name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(client.cmd, [...client.args, baseUrl, ...(client.scenarios ?? [])], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', out] });
  closeSync(out);
  const results = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      results.push(JSON.parse(line));
    } catch {
      run.log(`${client.name}: not a result line: ${line}`);
    }
  });
  const killer = setTimeout(() => {
    run.log(`${client.name}: still running after ${CLIENT_PROCESS_MS / 1000} s; SIGKILL (pid ${child.pid})`);
    child.kill('SIGKILL');
  }, CLIENT_PROCESS_MS);
  const [code, signal] = await new Promise((r) => child.once('close', (c, s) => r([c, s])));
  clearTimeout(killer);
  if (code !== 0) run.log(`${client.name} exited with ${code ?? signal}; its log: ${logFile}`);
  return results.map((r) => ({ ...r, key: `${r.client} ${r.scenario}` }));
}

async function startAxon(dir) {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    AXON_DATA_DIR: join(dir, 'data'),
    AXON_CLIENT_LISTEN: `127.0.0.1:${port}`,
    AXON_FEDERATION_LISTEN: `127.0.0.1:${await freePort()}`,
    AXON_SERVER_NAME: SERVER_NAME,
    AXON_ENABLE_REGISTRATION: 'true',
    AXON_RATE_LIMITS_ENABLED: 'false',
    AXON_LOG_LEVEL: 'warn',
  };
  const proc = startProcess(run, 'axon', process.execPath, ['dist/apps/homeserver/src/main.js'], { env, cwd: ROOT, logFile: join(dir, 'homeserver.log') });
  await waitReady(`http://127.0.0.1:${port}`, proc, 'axon', 60_000);
  return { baseUrl: `http://127.0.0.1:${port}`, proc };
}

async function startSynapse(dir) {
  const { python } = synapsePython();
  const port = await freePort();
  const synapse = configureSynapse(python, dir, { serverName: SERVER_NAME, port, database: { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } } });
  const proc = startProcess(run, 'synapse', synapse.command, synapse.args, { env: synapse.env, cwd: dir, logFile: join(dir, 'stdout.log') });
  await waitReady(`http://127.0.0.1:${port}`, proc, 'synapse', 120_000);
  return { baseUrl: `http://127.0.0.1:${port}`, proc };
}

/** Every scenario of every client against one server; the server is stopped afterwards. */
async function against(name, start, runners) {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  run.log(`${name}: starting (logs in ${dir})`);
  const server = await start(dir);
  const results = [];
  try {
    for (const client of runners) results.push(...(await runClient(client, server.baseUrl, dir)));
  } finally {
    const exit = await server.proc.stop();
    if (name === 'axon' && exit.code !== 0 && exit.signal !== 'SIGTERM') run.log(`axon exited with code ${exit.code} on SIGTERM; see ${dir}/homeserver.log`);
  }
  run.log(`${name}: ${results.length} scenarios in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return new Map(results.map((r) => [r.key, r]));
}

function report(axon, synapse) {
  const keys = [...new Set([...axon.keys(), ...(synapse?.keys() ?? [])])];
  const cell = (r) => (r === undefined ? 'missing' : r.ok ? 'pass' : 'FAIL');
  const width = Math.max(...keys.map((k) => k.length), 8);
  const lines = [`${'scenario'.padEnd(width)}  axon     ${synapse ? 'synapse  verdict' : ''}`.trimEnd()];
  const failures = [];
  for (const key of keys) {
    const a = axon.get(key);
    const s = synapse?.get(key);
    let verdict = '';
    if (synapse && !a?.ok) verdict = s?.ok ? 'Axon (passes on Synapse)' : "the client's or the scenario's (fails on Synapse too)";
    lines.push(`${key.padEnd(width)}  ${cell(a).padEnd(7)}  ${synapse ? `${cell(s).padEnd(7)}  ${verdict}` : ''}`.trimEnd());
    if (!a?.ok) failures.push(`  axon    ${key}: ${a?.error ?? 'no result (client process died; see its log)'}`);
    if (synapse && !s?.ok) failures.push(`  synapse ${key}: ${s?.error ?? 'no result (client process died; see its log)'}`);
  }
  console.log(`\n${lines.join('\n')}`);
  if (failures.length) console.log(`\nfailures:\n${failures.join('\n')}`);
  const passed = keys.filter((k) => axon.get(k)?.ok).length;
  console.log(`\nclients: ${passed} passed, ${keys.length - passed} failed`);
  return passed === keys.length;
}

const t0 = performance.now();
let ok = false;
try {
  rmSync(WORK, { recursive: true, force: true });
  const runners = clients();
  if (only.length) for (const c of runners) c.scenarios = only.filter((n) => n.startsWith(`${c.name} `)).map((n) => n.slice(c.name.length + 1));
  const chosen = only.length ? runners.filter((c) => c.scenarios.length) : runners;
  const axon = await against('axon', startAxon, chosen);
  let synapse;
  if (againstSynapse) {
    // Without Synapse the Axon results still stand; the table then says so, without verdicts.
    try {
      synapse = await against('synapse', startSynapse, chosen);
    } catch (err) {
      run.log(`synapse: no results (${err.message.split('\n')[0]}); Axon's results only`);
    }
  }
  ok = report(axon, synapse);
} catch (err) {
  run.log(`FAILED: ${err.stack ?? err}`);
} finally {
  await cleanup();
}
run.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(ok ? 0 : 1);
