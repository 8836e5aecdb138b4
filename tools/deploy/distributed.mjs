// The local distributed deployment as long-running background processes:
//   node tools/deploy/distributed.mjs up     start it (deploy/local/distributed-up.sh)
//   node tools/deploy/distributed.mjs down   stop exactly the processes `up` started
// Every service is its own process (two room-servers and two syncs), nginx in front on
// 127.0.0.1:8008 (AXON_DISTRIBUTED_LISTEN), on the Postgres, Redis and Kafka of
// deploy/local/up.sh. AXON_* variables of the caller's environment reach every service
// (e.g. AXON_ENABLE_REGISTRATION=true). State and logs: .infra/distributed/ (or
// AXON_DISTRIBUTED_DIR); the pid file lists what `down` stops.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const dir = resolve(process.env.AXON_DISTRIBUTED_DIR ?? join(root, '.infra/distributed'));
const pidFile = join(dir, 'pids.json');
const log = (message) => process.stderr.write(`[axon-distributed] ${message}\n`);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ours only if the pid still runs the command we started (a recycled pid is left alone). */
function ours(entry) {
  try {
    return readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(entry.match);
  } catch {
    return false;
  }
}

async function up() {
  if (existsSync(pidFile) && JSON.parse(readFileSync(pidFile, 'utf8')).some((e) => alive(e.pid) && ours(e))) {
    log(`already running (${pidFile}); stop it with deploy/local/distributed-down.sh`);
    return;
  }
  const testing = await import(join(root, 'dist/libs/testing/src/distributed.js'));
  const { startDistributed } = testing.default ?? testing;
  const [host, port] = (process.env.AXON_DISTRIBUTED_LISTEN ?? '127.0.0.1:8008').split(/:(?=\d+$)/);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('AXON_') && !k.startsWith('AXON_TEST_') && !['AXON_DATABASE_URL', 'AXON_KAFKA_BROKERS', 'AXON_REDIS_URL'].includes(k)));
  const t0 = Date.now();
  const deployment = await startDistributed({ env, dataDir: dir, detached: true, listen: { host, port: Number(port) }, sessionTimeoutMs: 10_000 });
  const entries = [
    ...deployment.processes.map((p) => ({ name: p.name, pid: p.child.pid, match: `dist/apps/${p.service}/src/main.js` })),
    { name: 'nginx', pid: deployment.nginx.pid, match: join(dir, 'nginx') },
  ];
  writeFileSync(pidFile, `${JSON.stringify(entries, null, 2)}\n`);
  // Prometheus file_sd targets for deploy/telemetry/otel-collector.yaml
  // (AXON_SCRAPE_TARGETS_DIR=<this dir>/scrape-targets): every process's /metrics.
  mkdirSync(join(dir, 'scrape-targets'), { recursive: true });
  const targets = deployment.processes.map((p) => ({ targets: [`127.0.0.1:${p.httpPort}`], labels: { service: p.service, instance_name: p.name } }));
  writeFileSync(join(dir, 'scrape-targets', 'axon-local.json'), `${JSON.stringify(targets, null, 2)}\n`);
  for (const p of deployment.processes) log(`${p.name}: pid ${p.child.pid}, http 127.0.0.1:${p.httpPort}${p.grpcPort ? `, grpc 127.0.0.1:${p.grpcPort}` : ''}`);
  log(`nginx: pid ${deployment.nginx.pid}, ${deployment.baseUrl} (routes from @axon/contracts-routes)`);
  log(`metrics targets for the OpenTelemetry collector: ${join(dir, 'scrape-targets')} (AXON_SCRAPE_TARGETS_DIR)`);
  log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${join(dir, 'logs')}; database ${deployment.databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
  process.exit(0);
}

async function down() {
  if (!existsSync(pidFile)) {
    log('nothing to stop (no pid file)');
    return;
  }
  const entries = JSON.parse(readFileSync(pidFile, 'utf8'));
  // Services first (they drain), nginx last.
  const services = entries.filter((e) => e.name !== 'nginx');
  const stop = async (list, graceMs) => {
    for (const e of list) {
      if (alive(e.pid) && ours(e)) {
        log(`${e.name}: stopping pid ${e.pid}`);
        process.kill(e.pid, 'SIGTERM');
      }
    }
    const deadline = Date.now() + graceMs;
    while (list.some((e) => alive(e.pid) && ours(e)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const e of list.filter((x) => alive(x.pid) && ours(x))) {
      log(`${e.name}: pid ${e.pid} still running after ${graceMs} ms, SIGKILL`);
      process.kill(e.pid, 'SIGKILL');
    }
  };
  await stop(services, 30_000);
  await stop(entries.filter((e) => e.name === 'nginx'), 10_000);
  rmSync(pidFile);
  log('stopped');
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  process.stderr.write('usage: node tools/deploy/distributed.mjs up|down\n');
  process.exit(2);
}
