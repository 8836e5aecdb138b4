// The local distributed deployment as long-running background processes:
//   node tools/deploy/distributed.mjs up     start it (deploy/local/distributed-up.sh)
//   node tools/deploy/distributed.mjs scale SERVICE N   start or stop replicas until N run
//   node tools/deploy/distributed.mjs down   stop exactly the processes `up` and `scale` started
// Every service is its own process (two room-servers and two syncs), nginx in front on
// 127.0.0.1:8008 (AXON_DISTRIBUTED_LISTEN), on the Postgres, Redis and Kafka of
// deploy/local/up.sh. AXON_* variables of the caller's environment reach every service
// (e.g. AXON_ENABLE_REGISTRATION=true). State and logs: .infra/distributed/ (or
// AXON_DISTRIBUTED_DIR); deployment.json lists what `scale` and `down` act on.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const dir = resolve(process.env.AXON_DISTRIBUTED_DIR ?? join(root, '.infra/distributed'));
const log = (message) => process.stderr.write(`[axon-distributed] ${message}\n`);

/** The launcher's side of @axon/testing, from dist/ (not its index: that also loads the Jest helpers). */
async function testing() {
  const modules = await Promise.all(['distributed', 'distributed-launcher', 'distributed-state'].map((m) => import(join(root, `dist/libs/testing/src/${m}.js`))));
  return Object.assign({}, ...modules.map((m) => m.default ?? m));
}

async function up() {
  const { readDeploymentState, isOurs, replicaCommand, startDistributed } = await testing();
  const running = readDeploymentState(dir)?.replicas.some((r) => isOurs(r.pid, replicaCommand(r.service)));
  if (running) {
    log(`already running (${join(dir, 'deployment.json')}); stop it with deploy/local/distributed-down.sh`);
    return;
  }
  const [host, port] = (process.env.AXON_DISTRIBUTED_LISTEN ?? '127.0.0.1:8008').split(/:(?=\d+$)/);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('AXON_') && !k.startsWith('AXON_TEST_') && !['AXON_DATABASE_URL', 'AXON_KAFKA_BROKERS', 'AXON_REDIS_URL'].includes(k)));
  const t0 = Date.now();
  const deployment = await startDistributed({ env, dataDir: dir, detached: true, listen: { host, port: Number(port) }, sessionTimeoutMs: 3_000 });
  for (const p of deployment.processes) log(`${p.name}: pid ${p.child.pid}, http 127.0.0.1:${p.httpPort}${p.grpcPort ? `, grpc 127.0.0.1:${p.grpcPort}` : ''}`);
  log(`nginx: pid ${deployment.nginx.pid}, ${deployment.baseUrl} (routes from @axon/contracts-routes)`);
  log(`metrics targets for the OpenTelemetry collector: ${join(dir, 'scrape-targets')} (AXON_SCRAPE_TARGETS_DIR)`);
  log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${join(dir, 'logs')}; database ${deployment.databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
  process.exit(0);
}

async function scale(service, count) {
  const { scaleDistributed } = await testing();
  await scaleDistributed(dir, service, Number(count), log);
  process.exit(0);
}

async function down() {
  const { stopDetached } = await testing();
  if (!(await stopDetached(dir, log))) log('nothing to stop (no deployment.json)');
  else log('stopped');
}

const [command, ...args] = process.argv.slice(2);
if (command === 'up') await up();
else if (command === 'down') await down();
else if (command === 'scale' && args.length === 2) await scale(args[0], args[1]);
else {
  process.stderr.write('usage: node tools/deploy/distributed.mjs up | down | scale SERVICE REPLICAS\n');
  process.exit(2);
}
