// The bus implementations a bus bench runs against: the in-process log on PGlite always,
// on Postgres when AXON_DATABASE_URL is set, and (when asked for) Kafka when
// AXON_KAFKA_BROKERS is set. Each comes with the function that closes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = new URL('../../../dist/libs/', import.meta.url).pathname;
const { Database } = require(join(dist, 'platform/database/src/index.js'));
const { InProcessBus, KafkaBus } = require(join(dist, 'platform/bus/src/index.js'));

const quiet = { log: () => undefined };

/** Calls `run(label, open)` for each available bus, in turn; `open()` gives `{ bus, close }`. */
export async function forEachBus(run, { kafka = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-'));
  try {
    await run('in-process log on PGlite', async () => {
      const db = await Database.open({ dataDir: dir });
      const bus = await InProcessBus.open(db, { logger: quiet });
      return { bus, close: async () => { await bus.close(); await db.close(); } };
    });
    if (process.env.AXON_DATABASE_URL) {
      await run('in-process log on Postgres', async () => {
        const db = await Database.open({ url: process.env.AXON_DATABASE_URL, dataDir: dir });
        const bus = await InProcessBus.open(db, { logger: quiet });
        return { bus, close: async () => { await bus.close(); await db.close(); } };
      });
    }
    if (kafka && process.env.AXON_KAFKA_BROKERS) {
      await run('Kafka', async () => {
        const bus = await KafkaBus.connect({ brokers: process.env.AXON_KAFKA_BROKERS.split(','), clientId: 'axon-bench', logger: quiet });
        return { bus, close: () => bus.close() };
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
