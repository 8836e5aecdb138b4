// Bus throughput: publish N messages (batches of B), consume them with a no-op handler
// in one consumer group, and print messages per second for each implementation that is
// available: the in-process log on PGlite always, on Postgres when AXON_DATABASE_URL is
// set, and Kafka when AXON_KAFKA_BROKERS is set. Run `npm run bench:bus`.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { forEachBus } from './lib/buses.mjs';

const require = createRequire(import.meta.url);
const dist = new URL('../../dist/libs/', import.meta.url).pathname;
const { ack } = require(join(dist, 'platform/bus/src/index.js'));
const { defineTopic, jsonCodec } = require(join(dist, 'contracts/kafka/src/index.js'));

const N = Number(process.argv[2] ?? 20000);
const BATCH = Number(process.argv[3] ?? 100);
const PARTITIONS = 8;

async function run(label, open) {
  const { bus, close } = await open();
  const run = `b${Date.now().toString(36)}`;
  const topic = defineTopic({ name: `hs.bench.${run}.v1`, partitions: PARTITIONS, key: (m) => `k${m.i % 64}`, codec: jsonCodec() });
  await bus.ensureTopics([topic]);
  const payload = 'x'.repeat(200);
  let t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    await bus.publish(topic, Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => ({ i: i + j, payload })));
  }
  const publishS = (performance.now() - t0) / 1000;
  let seen = 0;
  let done;
  const all = new Promise((r) => (done = r));
  t0 = performance.now();
  const sub = await bus.subscribe(topic, `bench-${run}`, () => {
    if (++seen === N) done();
    return ack;
  }, { concurrency: 16, startFrom: 'earliest' });
  await all;
  const consumeS = (performance.now() - t0) / 1000;
  await sub.stop();
  await close();
  console.log(
    `${label.padEnd(28)} publish ${Math.round(N / publishS).toString().padStart(7)} msg/s   consume ${Math.round(N / consumeS).toString().padStart(7)} msg/s   (${N} messages of ~220 B, batches of ${BATCH}, ${PARTITIONS} partitions)`,
  );
}

await forEachBus(run, { kafka: true });
