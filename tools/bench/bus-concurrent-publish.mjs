// Concurrent publishers on the in-process log: S senders each publish M single-message
// calls one after the other (each awaits its own), all S at once, and the bench prints
// messages per second and the per-call latency. This is the shape of a busy homeserver's
// write path (many requests, one message each), where coalescing publishes into shared
// transactions pays. PGlite always; Postgres when AXON_DATABASE_URL is set.
// Run: npm run bench:bus-concurrent -- [senders=50] [perSender=40]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { forEachBus } from './lib/buses.mjs';

const require = createRequire(import.meta.url);
const dist = new URL('../../dist/libs/', import.meta.url).pathname;
const { defineTopic, jsonCodec } = require(join(dist, 'contracts/kafka/src/index.js'));
// Counts the log's append transactions (one LogStore.append is one transaction).
const { LogStore } = require(join(dist, 'platform/bus/src/in-process/log-store.js'));
let transactions = 0;
const append = LogStore.prototype.append;
LogStore.prototype.append = function countedAppend(...args) {
  transactions++;
  return append.apply(this, args);
};

const SENDERS = Number(process.argv[2] ?? 50);
const PER_SENDER = Number(process.argv[3] ?? 40);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(label, open) {
  const { bus, close } = await open();
  const id = `c${Date.now().toString(36)}`;
  const topic = defineTopic({ name: `hs.bench.${id}.v1`, partitions: 8, key: (m) => `room${m.sender}`, codec: jsonCodec() });
  await bus.ensureTopics([topic]);
  const payload = 'x'.repeat(200);
  // Warm-up: statement caches, first-use paths.
  await Promise.all(Array.from({ length: SENDERS }, (_, sender) => bus.publish(topic, [{ sender, i: -1, payload }])));
  for (const senders of [1, 10, SENDERS]) {
    const latencies = [];
    transactions = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: senders }, async (_, sender) => {
        for (let i = 0; i < PER_SENDER; i++) {
          const start = performance.now();
          await bus.publish(topic, [{ sender, i, payload }]);
          latencies.push(performance.now() - start);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(28)} ${String(senders).padStart(3)} senders  ${Math.round((senders * PER_SENDER) / seconds).toString().padStart(6)} msg/s   p50 ${percentile(latencies, 50).toFixed(1).padStart(6)} ms   p99 ${percentile(latencies, 99).toFixed(1).padStart(6)} ms   ${(transactions / (senders * PER_SENDER)).toFixed(2)} transactions/publish   (${senders}×${PER_SENDER} single-message publishes)`,
    );
  }
  await close();
}

await forEachBus(run);
