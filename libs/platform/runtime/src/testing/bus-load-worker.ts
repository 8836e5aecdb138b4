/**
 * A process for the shutdown-under-load tests (`../shutdown.spec.ts`): it boots the
 * runtime on the transports its environment configures, publishes numbered messages as
 * fast as the bus takes them and consumes them into a table, until SIGTERM. Then it
 * shuts down exactly as an Axon service does (Nest close → drain consumers and commit →
 * close connections → database last).
 *
 * stdout lines (JSON): `{"published": n}` once messages 1..n are acknowledged (durable),
 * `{"handled": n, "duplicates": d}` periodically and at exit, `{"exit": "clean"}`.
 * Mode `produce` (default) publishes and consumes; mode `drain` only consumes until
 * `expect` ids are in the table, then exits (parameters: `LoadParams`, as JSON in argv[2]).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack, type MessageBus } from '@axon/platform-bus';
import { loadConfig } from '@axon/platform-config';
import { Database, type MigrationInterface, type QueryRunner } from '@axon/platform-database';
import { createLogger, Metrics } from '@axon/platform-telemetry';
import { RuntimeModule } from '../runtime.module';
import { BUS } from '../tokens';

class CreateSeen1700000000100 implements MigrationInterface {
  name = 'CreateSeen1700000000100';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE TABLE seen (id BIGINT PRIMARY KEY, deliveries INT NOT NULL DEFAULT 1)');
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE seen');
  }
}

/** What one run of the worker does (argv[2], JSON). */
export interface LoadParams {
  readonly topic: string;
  readonly mode: 'produce' | 'drain';
  /** Drain mode: exit once this many ids are in the table. */
  readonly expect: number;
  readonly schema: string;
}

interface LoadMessage {
  readonly id: number;
}

const say = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

async function main(): Promise<void> {
  // The run's own parameters come as one JSON argument; Axon's configuration comes from
  // the environment through loadConfig(), as in every Axon process.
  const params = JSON.parse(process.argv[2] ?? '{}') as Partial<LoadParams>;
  const topicName = params.topic ?? 'hs.loadtest.events.v1';
  const mode = params.mode ?? 'produce';
  const expect = params.expect ?? 0;
  const schema = params.schema ?? 'loadtest';

  const config = loadConfig();
  const logger = createLogger({ level: 'warn', service: 'loadtest', destination: process.stderr });
  const app = await NestFactory.createApplicationContext(
    RuntimeModule.forRoot({ config, logger, metrics: new Metrics('loadtest'), version: '0.0.0' }),
    { logger: false },
  );
  const bus = app.get<MessageBus>(BUS);
  const results = await app.get(Database).dataSource({ schema, migrations: [CreateSeen1700000000100] });
  const topic = defineTopic<LoadMessage>({
    name: topicName,
    partitions: 4,
    key: (m) => `k${m.id % 16}`,
    codec: jsonCodec<LoadMessage>(),
  });

  let handled = 0;
  let duplicates = 0;
  const report = (): void => say({ handled, duplicates });
  await bus.subscribe(
    topic,
    `${schema}-consumer`,
    async (message) => {
      // Idempotent consumer: the row is the effect, a second delivery only counts.
      const rows: { deliveries: number }[] = await results.query(
        `INSERT INTO seen (id) VALUES ($1)
         ON CONFLICT (id) DO UPDATE SET deliveries = seen.deliveries + 1
         RETURNING deliveries`,
        [message.value.id],
      );
      if ((rows[0]?.deliveries ?? 1) > 1) duplicates++;
      handled++;
      // A little work per message, so some are always in flight when SIGTERM lands.
      await new Promise((r) => setTimeout(r, message.value.id % 5));
      return ack;
    },
    { concurrency: 8, commitIntervalMs: 50 },
  );

  let stopping = false;
  const producing = (async () => {
    if (mode !== 'produce') return;
    let next = 1;
    while (!stopping) {
      const batch = Array.from({ length: 20 }, (_, i) => ({ id: next + i }));
      await bus.publish(topic, batch);
      next += batch.length;
      say({ published: next - 1 });
    }
  })();

  const ticker = setInterval(report, 200);
  const done = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    if (mode === 'drain') {
      const poll = setInterval(() => {
        void results.query('SELECT count(*)::int AS n FROM seen').then((r: { n: number }[]) => {
          if ((r[0]?.n ?? 0) >= expect) {
            clearInterval(poll);
            resolve();
          }
        });
      }, 50);
    }
  });
  await done;
  stopping = true;
  await producing;
  await app.close();
  clearInterval(ticker);
  report();
  say({ exit: 'clean' });
}

main().catch((err: unknown) => {
  process.stderr.write(`loadtest worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
