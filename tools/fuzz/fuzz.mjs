#!/usr/bin/env node
// `npm run fuzz`: generated requests against a homeserver this run starts (embedded
// defaults, a fresh data dir under tmp/fuzz/, a free port), for every operation of the
// Matrix spec's OpenAPI (and Synapse's admin endpoints) that the server routes, built from
// the operation's schemas and mostly mutated with hostile input. It fails on any 5xx, a
// crash, an answer later than the request's own timeout plus a margin, or resident memory
// after the run, once idle, more than 10% above what it was once idle after the warm-up
// (the first requests of the run, which grow an idle server by about 13 MB once: code,
// caches, the embedded database's buffers; what a leak adds grows with every segment
// after it, which the readings between segments show).
//
//   FUZZ_REQUESTS (default 100000)  FUZZ_SEED (default random; printed)
//   FUZZ_CONCURRENCY (default 4)    FUZZ_KEEP=1 keeps tmp/fuzz/<run>/ (data and server log)
//   FUZZ_SEGMENTS (default 4): idle memory is also read between that many segments of the run
//   FUZZ_WARMUP (default a tenth of the requests, at least 2,000, at most 5,000)
//   FUZZ_ONLY=<regex>: only the served operations whose "METHOD /path" matches
//   FUZZ_NODE_ARGS: more Node flags for the server; with --heapsnapshot-signal=SIGUSR2 and
//   FUZZ_HEAP_SNAPSHOTS=1 it writes a heap snapshot at each idle reading (into the repository root)
//   FUZZ_MEMORY_DETAIL=1: at each idle reading, where the memory is (smaps by kind of mapping;
//   V8's heap spaces and code through the server's inspector, which it then opens)
//   FUZZ_SERVER_ENV='NAME=value ...': more environment for the server, after npm start's
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClient, waitReady } from '../bench/lib/http.mjs';
import { idleRssKb, startProcess, vmRssKb } from '../bench/lib/process.mjs';
import { ROOT, tail } from '../bench/lib/run.mjs';
import { startCommandOf } from '../bench/lib/start-command.mjs';
import { describeMemory, Inspector, smapsSummary } from './lib/memory.mjs';
import { makeRng, seedFrom } from './lib/prng.mjs';
import { buildRequest, EXTRA_OPERATIONS, operationKey } from './lib/requests.mjs';
import { SHARED_SECRET, World } from './lib/world.mjs';

const require = createRequire(import.meta.url);
const { Agent } = require('undici');
const { freePort } = require(join(ROOT, 'dist/libs/testing/src/ports.js'));

const SERVER_NAME = 'fuzz.localhost';
/** How long any answer may take beyond the request's own timeout before it counts as a hang. */
const MARGIN_MS = 30_000;
/** Resident memory after the run, idle, may be at most this much above the idle readings before the run and after the warm-up. */
const RSS_BOUND = 1.1;
/** The server's body limit (libs/platform/http/src/http-app.ts bodyLimit). */
const BODY_LIMIT = 1024 * 1024;
/** Long-polls waiting at once beside the workers (each holds a connection, not a worker). */
const MAX_PARKED = 40;

const total = Number(process.env.FUZZ_REQUESTS ?? 100_000);
const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 4);
const seed = seedFrom(process.env.FUZZ_SEED);
const keep = process.env.FUZZ_KEEP === '1';
const segments = Math.max(1, Number(process.env.FUZZ_SEGMENTS ?? 4));
const only = process.env.FUZZ_ONLY ? new RegExp(process.env.FUZZ_ONLY) : undefined;
const snapshots = process.env.FUZZ_HEAP_SNAPSHOTS === '1';
const detail = process.env.FUZZ_MEMORY_DETAIL === '1';
const warmup = Math.min(total, Number(process.env.FUZZ_WARMUP ?? Math.min(5000, Math.max(2000, Math.round(total / 10)))));
if (!Number.isInteger(total) || total < 0) throw new Error(`FUZZ_REQUESTS must be a non-negative integer, not ${process.env.FUZZ_REQUESTS}`);

const log = (msg) => process.stderr.write(`[fuzz] ${msg}\n`);
const cleanups = [];
async function cleanup() {
  while (cleanups.length) await cleanups.pop()().catch((err) => log(`cleanup: ${err.message}`));
}
const cleanupRun = { onCleanup: (fn) => cleanups.push(fn), log };

async function startHomeserver(dir) {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  // The environment (allocator included), Node flags and entry point `npm start` runs the
  // homeserver with, so the memory read is npm start's.
  const { env: startEnv, flags: startFlags, main } = startCommandOf(ROOT);
  const inspectPort = detail ? await freePort() : undefined;
  const flags = [
    ...startFlags,
    ...(process.env.FUZZ_NODE_ARGS ?? '').split(/\s+/),
    ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
  ].filter(Boolean);
  const env = {
    PATH: process.env.PATH ?? '',
    AXON_DATA_DIR: join(dir, 'data'),
    AXON_CLIENT_LISTEN: `127.0.0.1:${port}`,
    AXON_FEDERATION_LISTEN: `127.0.0.1:${await freePort()}`,
    AXON_SERVER_NAME: SERVER_NAME,
    AXON_ENABLE_REGISTRATION: 'true',
    AXON_REGISTRATION_SHARED_SECRET: SHARED_SECRET,
    // The fuzzer is one client sending as fast as it can: rate limits would answer most of it 429.
    AXON_RATE_LIMITS_ENABLED: 'false',
    // Server notices on, so /_synapse/admin/v1/send_server_notice runs past its "not enabled".
    AXON_SERVER_NOTICES_LOCALPART: 'notices',
    AXON_LOG_LEVEL: 'warn',
    ...startEnv,
    // More settings for this run's server, after npm start's (an allocator's, to compare).
    ...Object.fromEntries((process.env.FUZZ_SERVER_ENV ?? '').split(/\s+/).filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])),
  };
  const logFile = join(dir, 'homeserver.log');
  const proc = startProcess(cleanupRun, 'homeserver', process.execPath, [...flags, main], { env, cwd: ROOT, logFile });
  await waitReady(baseUrl, proc, 'homeserver', 60_000);
  return { baseUrl, proc, logFile, inspectPort, flags: [...Object.entries(startEnv).map(([k, v]) => `${k}=${v}`), ...flags] };
}

/** Per-operation counts. */
class Tally {
  constructor() {
    this.byOp = new Map();
    this.byStatus = new Map();
    this.failures = [];
  }
  op(key) {
    let t = this.byOp.get(key);
    if (!t) this.byOp.set(key, (t = { tried: 0, valid: 0, mutated: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, hang: 0, error: 0, closed: 0, answers: {} }));
    return t;
  }
  record(key, req, outcome) {
    const t = this.op(key);
    t.tried++;
    t[req.mutated ? 'mutated' : 'valid']++;
    if (outcome.status !== undefined) {
      const cls = `${Math.floor(outcome.status / 100)}xx`;
      t[cls] = (t[cls] ?? 0) + 1;
      this.byStatus.set(outcome.status, (this.byStatus.get(outcome.status) ?? 0) + 1);
      const code = `${outcome.status} ${outcome.json?.errcode ?? ''}`.trim();
      t.answers[code] = (t.answers[code] ?? 0) + 1;
      if (outcome.status >= 500) this.fail('5xx', key, req, outcome);
    } else if (outcome.closed) {
      t.closed++;
    } else if (outcome.hang) {
      t.hang++;
      this.fail('hang', key, req, outcome);
    } else {
      t.error++;
      this.fail('connection error', key, req, outcome);
    }
  }
  fail(kind, key, req, outcome) {
    if (this.failures.length >= 200) return;
    const body = req.body === undefined ? '' : Buffer.isBuffer(req.body) ? `bytes ${req.body.subarray(0, 120).toString('hex')}` : req.body.slice(0, 300);
    this.failures.push({ kind, op: key, index: req.index, method: req.method, path: req.path.slice(0, 400), mutated: req.notes.join(', '), body, answer: outcome.text?.slice(0, 300) ?? outcome.error ?? '', ms: outcome.ms });
  }
}

async function send(agent, baseUrl, req) {
  const started = performance.now();
  const limit = req.waitMs + MARGIN_MS;
  const signal = AbortSignal.timeout(Math.ceil(limit));
  try {
    const res = await agent.request({ origin: baseUrl, path: req.path, method: req.method, headers: req.headers, body: req.body, signal });
    const text = await res.body.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json, ms: performance.now() - started };
  } catch (err) {
    const ms = performance.now() - started;
    // Past the body limit the server answers 413 and closes the connection, which may come
    // before the client finished sending: a refusal, not a failure.
    const size = req.body === undefined ? 0 : Buffer.byteLength(req.body);
    if (size > BODY_LIMIT && ['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(err.code)) return { closed: true, ms };
    if (signal.aborted) return { hang: true, error: `no answer within ${limit} ms (own timeout ${req.waitMs} ms + ${MARGIN_MS} ms)`, ms };
    return { error: `${err.code ?? ''} ${err.message}`.trim(), ms };
  }
}

const pad = (s, n) => String(s).padStart(n);

/** Waits for a heap snapshot the server writes on a signal: its CPU settles again. */
async function settleAfterSnapshot(pid) {
  await sleep(1000);
  await idleRssKb(pid, 0);
}

/**
 * What the idle readings say about native memory: glibc's main heap (the [heap] mapping,
 * resident kB), or that the allocator is jemalloc, which keeps its memory in anonymous
 * mappings of its own (deploy/allocator.sh).
 */
function nativeHeap(pid) {
  try {
    const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
    if (/libjemalloc/.test(smaps)) return 'allocator jemalloc';
    const m = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(smaps);
    return m ? `glibc heap ${(Number(m[1]) / 1024).toFixed(1)} MB` : 'no [heap] mapping';
  } catch {
    return 'smaps unreadable';
  }
}

function printReport(tally, ops, served, extra) {
  const rows = [...tally.byOp.entries()].sort(([a], [b]) => a.localeCompare(b));
  console.log(`\n${'operation'.padEnd(78)} ${pad('tried', 6)} ${pad('valid', 6)} ${pad('mutated', 7)} ${pad('2xx', 6)} ${pad('3xx', 4)} ${pad('4xx', 6)} ${pad('5xx', 4)} ${pad('hang', 4)} ${pad('error', 5)}`);
  for (const [key, t] of rows) {
    console.log(`${key.slice(0, 78).padEnd(78)} ${pad(t.tried, 6)} ${pad(t.valid, 6)} ${pad(t.mutated, 7)} ${pad(t['2xx'], 6)} ${pad(t['3xx'], 4)} ${pad(t['4xx'], 6)} ${pad(t['5xx'], 4)} ${pad(t.hang, 4)} ${pad(t.error, 5)}`);
  }
  const sum = (k) => rows.reduce((n, [, t]) => n + t[k], 0);
  console.log(`\noperations in the spec (client-server, server-server) and Synapse's admin API: ${ops.length}; served by Axon and fuzzed: ${served.length}`);
  console.log(`not served (404/405 M_UNRECOGNIZED to every valid probe): ${ops.length - served.length}`);
  console.log(`requests: ${sum('tried')} (valid ${sum('valid')}, mutated ${sum('mutated')}); 2xx ${sum('2xx')}, 3xx ${sum('3xx')}, 4xx ${sum('4xx')}, 5xx ${sum('5xx')}, hangs ${sum('hang')}, connection errors ${sum('error')}; bodies past 1 MiB refused by closing the connection while they were sent ${sum('closed')}`);
  console.log(`statuses: ${[...tally.byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  for (const line of extra) console.log(line);
}

async function main() {
  const started = performance.now();
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${seed}`;
  const dir = join(ROOT, 'tmp/fuzz', runId);
  mkdirSync(dir, { recursive: true });
  if (!keep) cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

  log(`seed ${seed} (reproduce: FUZZ_SEED=${seed} FUZZ_REQUESTS=${total} npm run fuzz), ${total} requests, concurrency ${concurrency}`);
  const spec = JSON.parse(readFileSync(join(ROOT, 'tools/fuzz/openapi-requests.json'), 'utf8'));
  const ops = [...spec.operations, ...EXTRA_OPERATIONS];
  const hs = await startHomeserver(dir);
  log(`homeserver pid ${hs.proc.pid} at ${hs.baseUrl} (${hs.flags.join(' ')}), data in ${dir}`);
  const client = makeClient(hs.baseUrl);
  cleanups.push(() => client.close());
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: null, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  cleanups.push(() => agent.close());

  const world = new World(client, SERVER_NAME);
  await world.setup();
  const tally = new Tally();
  const extra = [];
  let crashed = false;
  const crashWatch = hs.proc.exited.then((r) => {
    crashed = true;
    return r;
  });

  const exchange = async (op, req) => {
    const outcome = await send(agent, hs.baseUrl, req);
    tally.record(operationKey(op), req, outcome);
    if (outcome.status === 200 && req.method === 'PUT' && /\/send\/|\/state\//.test(req.path)) world.addEvent(outcome.json?.event_id);
    if (req.user && outcome.status === 401) await world.heal(req.user, outcome);
    return outcome;
  };

  // Which operations the server routes: three valid requests each; an operation every
  // one of them answers 404/405 M_UNRECOGNIZED is not served (and not fuzzed).
  const served = [];
  const probeRng = makeRng(seed);
  for (const op of ops) {
    let routed = false;
    for (let i = 0; i < 3; i++) {
      const req = { ...buildRequest(op, world, probeRng, false), index: -1 };
      const outcome = await exchange(op, req);
      if (outcome.status === undefined || !((outcome.status === 404 || outcome.status === 405) && outcome.json?.errcode === 'M_UNRECOGNIZED')) routed = true;
    }
    if (routed && (only === undefined || only.test(operationKey(op)))) served.push(op);
    else tally.byOp.delete(operationKey(op));
  }
  log(`${served.length} of ${ops.length} operations served; idle memory before the run...`);
  const inspector = hs.inspectPort ? await Inspector.connect(hs.inspectPort) : undefined;
  if (inspector) cleanups.push(async () => inspector.close());
  // An idle reading, then (when asked) where the memory is and a heap snapshot, in that
  // order: neither is in the reading.
  const readIdle = async (label) => {
    const reading = await idleRssKb(hs.proc.pid, 5);
    if (keep) writeFileSync(join(dir, `smaps ${label}.txt`.replace(/ /g, '-')), readFileSync(`/proc/${hs.proc.pid}/smaps`));
    if (detail) log(`memory ${label}: ${describeMemory(smapsSummary(hs.proc.pid), inspector ? await inspector.breakdown() : undefined)}`);
    if (snapshots) {
      process.kill(hs.proc.pid, 'SIGUSR2');
      await settleAfterSnapshot(hs.proc.pid);
    }
    return reading;
  };
  const cold = await readIdle('before the run');
  log(`idle RSS before the run: ${(cold.kb / 1024).toFixed(1)} MB${cold.settled ? '' : ' (CPU never settled)'}`);
  let before = cold;

  // The requests: operation, validity and content from request i's own generator, so the
  // same seed gives the same inputs (identifiers taken from the run's world may differ).
  const parked = new Set();
  let next = 0;
  let done = 0;
  const progressEvery = Math.max(1000, Math.floor(total / 20));
  const fuzzStarted = performance.now();
  let broken;
  let segmentEnd = 0;
  const worker = async () => {
    while (next < segmentEnd && !crashed && !broken) {
      const index = next++;
      const rng = makeRng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
      const op = rng.pick(served);
      let req;
      try {
        req = { ...buildRequest(op, world, rng, rng.chance(0.65)), index };
      } catch (err) {
        // A fault of the fuzzer, not of the server: stop, and say which request.
        broken = new Error(`generating request #${index} (${operationKey(op)}): ${err.stack}`);
        break;
      }
      const failed = (err) => {
        broken ??= new Error(`request #${index} (${operationKey(op)}): ${err.stack}`);
      };
      if (req.waitMs > 2000 && parked.size < MAX_PARKED) {
        // A long-poll waits for its own timeout: it holds a connection, not a worker.
        const p = exchange(op, req)
          .catch(failed)
          .finally(() => parked.delete(p));
        parked.add(p);
      } else {
        await exchange(op, req).catch(failed);
      }
      done++;
      if (done % progressEvery === 0) log(`${done}/${total} (${((done / (performance.now() - fuzzStarted)) * 1000).toFixed(0)} req/s, ${parked.size} long-polls waiting, RSS now ${(vmRssKb(hs.proc.pid) / 1024).toFixed(0)} MB, 5xx ${tally.failures.filter((f) => f.kind === '5xx').length})`);
      if (done % 5000 === 0) await world.maintain();
    }
  };
  // In segments, with the idle memory read between them: growth that levels off is the
  // server warming up, growth with every segment a leak.
  const checkpoints = [];
  let idleSeconds = 0;
  const ends = [warmup, ...Array.from({ length: segments }, (_, i) => warmup + Math.round(((total - warmup) * (i + 1)) / segments))];
  for (const [segment, end] of [...new Set(ends)].entries()) {
    if (crashed || broken) break;
    segmentEnd = end;
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (parked.size > 0) log(`waiting for ${parked.size} long-polls (each within its own timeout + ${MARGIN_MS / 1000} s)`);
    await Promise.all(parked);
    if (end < total && !crashed && !broken) {
      const idleStarted = performance.now();
      const reading = await readIdle(`after ${done} requests`);
      idleSeconds += (performance.now() - idleStarted) / 1000;
      if (segment === 0) before = reading;
      checkpoints.push(`${done}: ${(reading.kb / 1024).toFixed(1)} MB`);
      log(`idle RSS after ${done} requests${segment === 0 ? ' (the warm-up)' : ''}: ${(reading.kb / 1024).toFixed(1)} MB (${nativeHeap(hs.proc.pid)})`);
    }
  }
  if (broken) throw broken;
  const fuzzSeconds = (performance.now() - fuzzStarted) / 1000 - idleSeconds;

  let after;
  if (!crashed) {
    log('idle memory after the run...');
    after = await readIdle('after the run');
  }
  extra.push(`seed ${seed}; ${done} generated requests in ${fuzzSeconds.toFixed(0)} s (${(done / fuzzSeconds).toFixed(0)} req/s) at concurrency ${concurrency}, after ${served.length * 3} probes`);
  extra.push(`world: ${world.users.length} users (${world.heals.relogins} re-logins after a valid logout, ${world.heals.replaced} accounts replaced), ${world.heals.rooms} rooms rotated in`);
  const rssLine = after
    ? `idle RSS: before the run ${(cold.kb / 1024).toFixed(1)} MB, after the warm-up of ${Math.min(warmup, done)} requests ${(before.kb / 1024).toFixed(1)} MB, after the run ${(after.kb / 1024).toFixed(1)} MB: ${((after.kb / cold.kb - 1) * 100).toFixed(1)}% over the cold reading and ${((after.kb / before.kb - 1) * 100).toFixed(1)}% over the warm-up (bound +${((RSS_BOUND - 1) * 100).toFixed(0)}% over both)${after.settled ? '' : ' (CPU never settled)'}`
    : 'idle RSS: no reading (the server exited)';
  extra.push(rssLine);
  if (checkpoints.length > 0) extra.push(`idle RSS between segments (after N requests): ${checkpoints.join(', ')}`);

  const problems = [];
  if (crashed) {
    const r = await crashWatch;
    problems.push(`the homeserver exited during the run (code ${r.code}, signal ${r.signal}); last lines of its log:\n${tail(hs.logFile, 20)}`);
  }
  // Over the cold reading: the server back within 10% of where it started, so what the
  // warm-up left behind counts too; over the warm-up: growth while the run went on.
  if (after && (after.kb > cold.kb * RSS_BOUND || after.kb > before.kb * RSS_BOUND)) problems.push(`idle resident memory grew beyond the bound: ${rssLine}`);
  for (const f of tally.failures) {
    problems.push(`${f.kind}: request #${f.index} ${f.method} ${f.path}\n    mutated: ${f.mutated || '(valid)'}\n    body: ${f.body}\n    answer: ${f.answer} (${f.ms.toFixed(0)} ms)`);
  }

  extra.push(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  printReport(tally, ops, served, extra);
  writeFileSync(join(ROOT, 'tmp/fuzz', `report-${runId}.json`), JSON.stringify({ seed, total, served: served.map(operationKey), notServed: ops.filter((op) => !served.includes(op)).map(operationKey), byOp: Object.fromEntries(tally.byOp), statuses: Object.fromEntries(tally.byStatus), cold, before, after, checkpoints, failures: tally.failures }, null, 1));
  if (problems.length > 0) {
    if (!keep) cleanups.splice(0, 1); // keep the data dir and the server log for a failure
    console.log(`\nFAILED (${problems.length}${tally.failures.length >= 200 ? '+' : ''}):`);
    for (const p of problems.slice(0, 50)) console.log(`- ${p}`);
    console.log(`server log and data kept in ${dir}`);
    process.exitCode = 1;
  } else {
    console.log('\nOK: no 5xx, no crash, no hang, idle memory within bound');
  }
  // An inspector session still attached would hold the server's exit ("Waiting for the debugger to disconnect").
  inspector?.close();
  await hs.proc.stop();
  await sleep(0);
}

main()
  .catch((err) => {
    console.error(`[fuzz] ${err.stack ?? err.message}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
