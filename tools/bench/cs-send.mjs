// Message-send throughput and latency over the Client-Server API: Axon on PGlite, Axon on
// PostgreSQL and Synapse on PostgreSQL (and, with BENCH_AXON_BASELINE, Axon of another
// checkout on both), on this machine, in this run, with the same client code. Run
// `npm run bench:send`.
//
// For each target, one after another (never in parallel): start it fresh (own data dir,
// own database) and read its resident memory once its CPU has settled; register N users
// (N = the largest concurrency) with the m.login.dummy UIA flow; then two shapes:
//   one room:  user 0 creates one public room and everyone joins it; c senders all send
//              into it (the contended case: one room's head);
//   N rooms:   every user creates a public room of its own; c senders each send into its
//              own room (independent rooms).
// Per shape: warm up (every user sends once, then BENCH_SEND_WARMUP s at 10 senders), then
// for each concurrency c, c users send m.room.message events back-to-back (PUT
// .../send/m.room.message/{txn}) for BENCH_SEND_SECONDS, recording every request's latency.
// Only 200 responses with an event_id count; anything else is counted in `errors`. After
// both shapes the server's resident memory is read again once it is idle (BENCH_IDLE_WAIT s
// after its CPU settled, as the fresh reading). The PostgreSQL
// targets then get a statement-counting pass (see countStatements). The server is stopped
// (by pid) before the next target starts, also on failure.
//
// Environment:
//   BENCH_SEND_TARGETS      axon-pglite,axon-postgres,synapse   (any subset; see BENCH_AXON_BASELINE)
//   BENCH_SEND_SHAPES       one-room,rooms
//   BENCH_SEND_CONCURRENCY  1,10,50
//   BENCH_SEND_SECONDS      10    measured seconds per (target, shape, concurrency)
//   BENCH_SEND_WARMUP       5     warm-up seconds per (target, shape)
//   BENCH_SEND_COUNT        200   sends per (shape, concurrency) in the statement-counting pass (0: no pass)
//   BENCH_SEND_KEEP         1 keeps data dirs, logs and databases (printed)
//   BENCH_IDLE_WAIT         10    seconds an idle RSS reading waits after the CPU settled (lib/process.mjs idleRssKb)
//   BENCH_SEND_AXON_NODE_ARGS  extra node flags for Axon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
//   BENCH_AXON_BASELINE     path of another checkout with a built dist/: adds axon-pglite@base
//                           and axon-postgres@base (its homeserver) to the default targets
//   BENCH_PG_LOG            the PostgreSQL server log, if the bench cannot find it (statement-log.mjs)
//
// PostgreSQL: AXON_DATABASE_URL (source deploy/local/env.sh) names the cluster; without a
// reachable cluster the bench runs deploy/local/up.sh, and down.sh at the end (only then).
// Synapse comes from PyPI via deploy/local/synapse.sh (cached venv under ~/.cache/axon).
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClient, must, pool, register, sendPath } from './lib/http.mjs';
import { PgCluster } from './lib/postgres.mjs';
import { cpuMsOf, idleRssKb, postgresCpuMs, procStat } from './lib/process.mjs';
import { fmt, percentile, printTable, ratio } from './lib/report.mjs';
import { BenchRun, list, machineLine, ROOT } from './lib/run.mjs';
import { checkoutVersion, createTargetDatabase, parseTargets, startServer, synapseInfo } from './lib/servers.mjs';
import { StatementLog } from './lib/statement-log.mjs';

const run = new BenchRun('send', { keep: process.env.BENCH_SEND_KEEP === '1' });
const TARGETS = parseTargets(process.env.BENCH_SEND_TARGETS);
const SHAPES = list(process.env.BENCH_SEND_SHAPES, 'one-room,rooms');
const CONCURRENCY = list(process.env.BENCH_SEND_CONCURRENCY, '1,10,50').map(Number);
const SECONDS = Number(process.env.BENCH_SEND_SECONDS ?? 10);
const WARMUP_S = Number(process.env.BENCH_SEND_WARMUP ?? 5);
const COUNT = Number(process.env.BENCH_SEND_COUNT ?? 200);
const NODE_ARGS = (process.env.BENCH_SEND_AXON_NODE_ARGS ?? '').split(' ').filter(Boolean);
const IDLE_WAIT_S = Number(process.env.BENCH_IDLE_WAIT ?? 10);
const USERS = Math.max(...CONCURRENCY);
const SHAPE_TITLE = { 'one-room': 'one room', rooms: `${USERS} rooms` };
const unknownShapes = SHAPES.filter((s) => !SHAPE_TITLE[s]);
if (unknownShapes.length) throw new Error(`unknown BENCH_SEND_SHAPES: ${unknownShapes.join(', ')} (one-room, rooms)`);

const cluster = new PgCluster(run);
let statementLog; // set when the PostgreSQL targets' statements can be counted

// ---------------------------------------------------------------------------------------
// The workload, identical for every server.

async function setUp(client) {
  const users = new Array(USERS);
  // Registration hashes a password (argon2 / bcrypt): a few at a time.
  await pool(USERS, 5, async (i) => {
    users[i] = await register(client, `bench${i}`);
  });
  const roomsOf = {};
  if (SHAPES.includes('one-room')) {
    const { room_id: roomId } = await must(client.call('POST', '/_matrix/client/v3/createRoom', { token: users[0].token, body: { preset: 'public_chat', name: 'bench' } }), 'createRoom');
    // Joins one at a time: they all append to the same room, like the sends.
    for (let i = 1; i < USERS; i++) {
      await must(client.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: users[i].token, body: {} }), `join bench${i}`);
    }
    roomsOf['one-room'] = users.map(() => roomId);
  }
  if (SHAPES.includes('rooms')) {
    roomsOf.rooms = new Array(USERS);
    await pool(USERS, 5, async (i) => {
      const body = { preset: 'public_chat', name: `bench ${i}` };
      roomsOf.rooms[i] = (await must(client.call('POST', '/_matrix/client/v3/createRoom', { token: users[i].token, body }), `createRoom bench${i}`)).room_id;
    });
  }
  return { users, roomsOf };
}

let txnCounter = 0;
// c senders, sender i into rooms[i], back-to-back for `seconds`, or until `count` sends were
// made. Returns latencies (ms) of the successful sends.
async function sendPhase(client, server, users, rooms, c, { seconds = Infinity, count = Infinity }) {
  const latencies = [];
  let errors = 0;
  let issued = 0;
  let firstError;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: c }, async (_, i) => {
      const { token } = users[i];
      while (performance.now() < deadline && issued < count) {
        issued++;
        const txn = `${run.id}-${++txnCounter}`;
        const s = performance.now();
        let r;
        try {
          r = await client.call('PUT', sendPath(rooms[i], txn), { token, body: { msgtype: 'm.text', body: `message ${txnCounter} from sender ${i}` } });
        } catch (err) {
          r = { status: 0, json: { error: String(err) } };
        }
        const ms = performance.now() - s;
        if (r.status === 200 && typeof r.json.event_id === 'string') latencies.push(ms);
        else {
          errors++;
          firstError ??= `HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`;
          if (r.status === 0 && server.gone()) break; // the server died: stop this sender
          if (r.status === 0 || r.status >= 500) await sleep(50); // do not spin on errors
        }
      }
    }),
  );
  const end = performance.now();
  return { latencies, errors, firstError, elapsed: (end - t0) / 1000, end };
}

async function warmUp(client, server, users, rooms, target, shape) {
  await pool(USERS, 10, async (i) => {
    await must(client.call('PUT', sendPath(rooms[i], `${run.id}-w${++txnCounter}`), { token: users[i].token, body: { msgtype: 'm.text', body: 'warm-up' } }), `warm-up send bench${i}`);
  });
  if (WARMUP_S > 0) {
    const w = await sendPhase(client, server, users, rooms, Math.min(10, USERS), { seconds: WARMUP_S });
    if (w.errors) run.log(`${target.name} ${shape}: warm-up had ${w.errors} errors (first: ${w.firstError})`);
  }
}

// Database counters per message over a timed window. Both readings are complete (taken
// STATS_COMPLETE_AFTER_MS after the last work before them, see lib/postgres.mjs), so the
// delta holds exactly the window's transactions plus whatever the idle server did while
// the bench waited for the counters; that idle part is subtracted at the idle rate
// measured once per target before the first window.
class WindowCounters {
  constructor(dbName) {
    this.dbName = dbName;
  }

  async begin(lastActivity) {
    if (!this.dbName) return;
    this.before = await cluster.completeCounters(this.dbName, lastActivity);
    if (this.idle) return;
    const b = await cluster.completeCounters(this.dbName, this.before.at);
    const s = (b.at - this.before.at) / 1000;
    this.idle = { xacts: (b.xacts - this.before.xacts) / s, written: (b.written - this.before.written) / s, read: (b.read - this.before.read) / s };
    this.before = b;
    return this.idle;
  }

  async perMessage(window, n) {
    if (!this.dbName || !n) return { xacts: NaN, written: NaN, read: NaN };
    const after = await cluster.completeCounters(this.dbName, window.end);
    const idleS = (after.at - this.before.at) / 1000 - window.elapsed;
    const per = (k) => (after[k] - this.before[k] - this.idle[k] * idleS) / n;
    const r = { xacts: per('xacts'), written: per('written'), read: per('read') };
    this.before = after;
    return r;
  }
}

async function timedShape(client, server, target, users, rooms, shape, counters) {
  await warmUp(client, server, users, rooms, target, shape);
  const idle = await counters.begin(performance.now());
  if (idle) run.note(`${target.name} idle (subtracted from db xacts, rows): ${fmt(idle.xacts)} transactions/s, ${fmt(idle.written)} rows written/s, ${fmt(idle.read, 0)} rows read/s`);
  const rows = [];
  for (const c of CONCURRENCY) {
    if (!target.postgres) await sleep(1200); // the PostgreSQL targets waited for their counters
    const client0 = process.cpuUsage();
    const cpu0 = cpuMsOf([server.pid]);
    const db0 = target.postgres ? postgresCpuMs() : 0;
    const r = await sendPhase(client, server, users, rooms, c, { seconds: SECONDS });
    const cpu1 = cpuMsOf([server.pid]);
    const db1 = target.postgres ? postgresCpuMs() : 0;
    const client1 = process.cpuUsage(client0);
    const rssMb = procStat(server.pid)?.rssMb ?? NaN;
    const sorted = Float64Array.from(r.latencies).sort();
    const n = sorted.length;
    const db = await counters.perMessage(r, n);
    const row = {
      target: target.name,
      shape,
      c,
      sent: n,
      errors: r.errors,
      msgPerSec: n / r.elapsed,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: n ? sorted[n - 1] : NaN,
      cpuPerMsg: n ? (cpu1 - cpu0) / n : NaN,
      dbPerMsg: n ? (db1 - db0) / n : NaN,
      rssMb,
      clientPerMsg: n ? (client1.user + client1.system) / 1000 / n : NaN,
      xactsPerMsg: db.xacts,
      writtenPerMsg: db.written,
      readPerMsg: db.read,
      stmtsPerMsg: NaN,
    };
    rows.push(row);
    run.log(
      `${target.name} ${shape} c=${c}: ${row.msgPerSec.toFixed(1)} msg/s, p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms` +
        (target.postgres ? `, ${fmt(row.xactsPerMsg, 2)} xacts/msg` : '') +
        (r.errors ? `, ${r.errors} errors (first: ${r.firstError})` : ''),
    );
    if (r.errors) run.note(`${target.name} ${shape} c=${c}: ${r.errors} failed sends, first: ${r.firstError}`);
    if (server.gone()) break;
  }
  return rows;
}

// Statements per message, in a pass of its own after the timed windows: logging every
// statement costs the server time, so it never runs while throughput is measured. The
// database gets log_statement = 'all', the server is restarted so that its new sessions
// log, every sender sends once per shape (not counted: caches warm again), then per
// concurrency COUNT sends are counted from the first request to 1 s after the last
// response (trailing work such as the outbox relay included), minus the statements the
// idle server logs in that second (its rate measured over 2 s before the first count).
async function countStatements(server, target, dbName, users, roomsOf, rows) {
  await statementLog.enable(dbName);
  await server.restart();
  const client = makeClient(server.baseUrl);
  try {
    for (const shape of SHAPES) {
      await pool(USERS, 10, async (i) => {
        await must(client.call('PUT', sendPath(roomsOf[shape][i], `${run.id}-s${++txnCounter}`), { token: users[i].token, body: { msgtype: 'm.text', body: 'warm-up' } }), 'send');
      });
    }
    await sleep(1000);
    const idle = await statementLog.start(dbName);
    const idleFrom = performance.now();
    await sleep(2000);
    const idleRate = (await idle.end()) / ((performance.now() - idleFrom) / 1000);
    run.note(`${target.name} idle (subtracted from db stmts for the 1 s after each count): ${fmt(idleRate)} statements/s`);
    for (const shape of SHAPES) {
      for (const c of CONCURRENCY) {
        const counting = await statementLog.start(dbName);
        const r = await sendPhase(client, server, users, roomsOf[shape], c, { count: COUNT });
        await sleep(1000);
        const drainS = (performance.now() - r.end) / 1000;
        const statements = await counting.end();
        const n = r.latencies.length;
        const row = rows.find((x) => x.shape === shape && x.c === c);
        if (row && n) row.stmtsPerMsg = (statements - idleRate * drainS) / n;
        run.log(`${target.name} ${shape} c=${c}: ${statements} statements for ${n} sends (idle ${idleRate.toFixed(1)}/s)`);
        if (r.errors) run.note(`${target.name} statement pass ${shape} c=${c}: ${r.errors} failed sends, first: ${r.firstError}`);
      }
    }
  } finally {
    await client.close();
    await statementLog.disable(dbName).catch((err) => run.log(`resetting log_statement on ${dbName}: ${err.message}`));
  }
}

async function benchTarget(target) {
  const dbUrl = target.postgres ? await createTargetDatabase(cluster, run, 'send', target) : undefined;
  const dbName = dbUrl?.pathname.slice(1);
  const server = await startServer(run, target, { databaseUrl: dbUrl, nodeArgs: target.axon ? NODE_ARGS : [] });
  try {
    const memory = { target: target.name };
    const fresh = await idleRssKb(server.pid, IDLE_WAIT_S);
    if (!fresh.settled) run.note(`${target.name}: CPU not settled 60 s after start-up; fresh RSS read anyway`);
    memory.freshMb = fresh.kb / 1024;
    const client = makeClient(server.baseUrl);
    const rows = [];
    let setup;
    try {
      const s = performance.now();
      setup = await setUp(client);
      run.log(`${target.name}: ${USERS} users registered, rooms created and joined in ${((performance.now() - s) / 1000).toFixed(1)} s`);
      const counters = new WindowCounters(dbName);
      for (const shape of SHAPES) rows.push(...(await timedShape(client, server, target, setup.users, setup.roomsOf[shape], shape, counters)));
    } finally {
      await client.close();
    }
    const after = await idleRssKb(server.pid, IDLE_WAIT_S);
    if (!after.settled) run.note(`${target.name}: CPU not settled 60 s after the sends; RSS read anyway`);
    memory.afterMb = after.kb / 1024;
    if (dbName && statementLog && COUNT > 0 && !server.gone()) await countStatements(server, target, dbName, setup.users, setup.roomsOf, rows);
    return { rows, memory };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Main

console.log(machineLine());
console.log(
  `${USERS} users; shapes: ${SHAPES.map((s) => (s === 'rooms' ? `${USERS} rooms (sender i in its own room)` : 'one room (every sender in one public room)')).join(', ')}; ` +
    `concurrency ${CONCURRENCY.join(', ')}; ${SECONDS} s per measurement after ${WARMUP_S} s warm-up per shape; targets run one after another`,
);
const results = [];
const memory = [];
try {
  const havePg = TARGETS.some((t) => t.postgres) ? await cluster.ensure() : false;
  if (havePg && COUNT > 0) {
    try {
      statementLog = await StatementLog.open(cluster);
    } catch (err) {
      run.note(`no statement counts: ${err.message}`);
    }
  }
  for (const target of TARGETS) {
    if (run.interrupted) break;
    run.log(`--- ${target.name}`);
    try {
      if (target.postgres && !havePg) throw new Error('no PostgreSQL');
      const r = await benchTarget(target);
      results.push(...r.rows);
      memory.push(r.memory);
    } catch (err) {
      run.fail(target.name, err);
    }
  }
} finally {
  await run.cleanup();
}

// ---------------------------------------------------------------------------------------
// Report

const versions = [`node ${process.version}`];
if (cluster.version) versions.push(cluster.version);
if (synapseInfo()) versions.push(synapseInfo());
console.log(versions.join('; '));
if (TARGETS.some((t) => t.root !== ROOT)) {
  const base = TARGETS.find((t) => t.root !== ROOT).root;
  console.log(`axon: ${ROOT} (${checkoutVersion(ROOT)}); @base: ${base} (${checkoutVersion(base)})`);
}
const tw = Math.max(13, ...TARGETS.map((t) => t.name.length));
for (const shape of SHAPES) {
  console.log(`\n${SHAPE_TITLE[shape]}:`);
  printTable(
    ['target', 'senders', 'msgs', 'errors', 'msg/s', 'p50 ms', 'p99 ms', 'max ms', 'server CPU', 'db CPU', 'client CPU', 'db xacts', 'db stmts', 'rows written', 'rows read', 'RSS MB'],
    [tw, 7, 6, 6, 7, 7, 7, 7, 10, 6, 10, 8, 8, 12, 9, 6],
    results
      .filter((r) => r.shape === shape)
      .map((r) => [r.target, r.c, r.sent, r.errors, fmt(r.msgPerSec), fmt(r.p50), fmt(r.p99), fmt(r.max), fmt(r.cpuPerMsg, 2), fmt(r.dbPerMsg, 2), fmt(r.clientPerMsg, 2), fmt(r.xactsPerMsg, 2), fmt(r.stmtsPerMsg, 2), fmt(r.writtenPerMsg, 1), fmt(r.readPerMsg, 0), fmt(r.rssMb, 0)]),
  );
}
console.log('(server/db/client CPU in ms per message; db xacts, rows written, rows read per message from pg_stat_database, read when complete;');
console.log(` db stmts per message from the server log in a separate pass of ${COUNT} sends per row; RSS of the server process after the window)`);

printTable(
  ['idle RSS', 'fresh MB', 'after sends MB'],
  [tw, 8, 14],
  memory.map((m) => [m.target, fmt(m.freshMb, 0), fmt(m.afterMb, 0)]),
);
console.log(`(VmRSS of the server process ${IDLE_WAIT_S} s after its CPU settled: after start-up, and after the timed sends of every shape)`);

// Ratios: Axon / Synapse. Throughput > 1 = Axon sends more per second; latency < 1 =
// Axon answers faster.
for (const shape of SHAPES) {
  const shapeRows = results.filter((r) => r.shape === shape);
  const synapseRows = new Map(shapeRows.filter((r) => r.target === 'synapse').map((r) => [r.c, r]));
  const ratioRows = shapeRows
    .filter((r) => r.target !== 'synapse' && synapseRows.has(r.c))
    .map((a) => {
      const s = synapseRows.get(a.c);
      return [a.target, a.c, ratio(a.msgPerSec, s.msgPerSec), ratio(a.p50, s.p50), ratio(a.p99, s.p99)];
    });
  console.log(`\n${SHAPE_TITLE[shape]}, Axon / Synapse:`);
  if (ratioRows.length) {
    printTable(['Axon / Synapse', 'senders', 'msg/s ratio', 'p50 ratio', 'p99 ratio'], [Math.max(14, tw), 7, 11, 9, 9], ratioRows);
  } else {
    console.log('no Axon / Synapse ratios: ' + (synapseRows.size ? 'no Axon results' : 'no Synapse results in this run'));
  }
}
console.log('(msg/s ratio > 1: Axon sends more per second; latency ratio < 1: Axon answers faster)');
run.printFooter({ infraStartedByUs: cluster.startedByUs });
