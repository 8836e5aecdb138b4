import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@axon/platform-database';
import { Metrics } from '@axon/platform-telemetry';
import { ack, type HandlerOutcome } from './bus';
import { createBusMetrics } from './bus-metrics';
import { InProcessBus } from './in-process/in-process-bus';
import { deferred, eventually, messages, quietLogger, TestNames } from './testing/contract-helpers';

const dataDir = mkdtempSync(join(tmpdir(), 'axon-bus-metrics-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The value of `name{labels}` in the registry's text exposition, if present. */
async function sample(metrics: Metrics, name: string, labels: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('bus metrics on the in-process log', () => {
  it('reports consumer lag (log head minus the group position) and pending messages per partition', async () => {
    const names = new TestNames();
    const metrics = new Metrics('bustest');
    const database = await Database.open({ dataDir });
    const bus = await InProcessBus.open(database, { logger: quietLogger, pollIntervalMs: 50, metrics: createBusMetrics(metrics) });
    try {
      const topic = names.topic(1);
      const group = names.group('lag');
      const labels = `topic="${topic.name}",group="${group}",partition="0"`;
      await bus.publish(topic, messages(10, (seq) => `k${seq}`));
      const gate = deferred();
      const pending = new Map<number, number>();
      // One at a time: 0-3 finish, 4 waits at the gate, 5-9 queue behind it.
      const subscription = await bus.subscribe(
        topic,
        group,
        async (m): Promise<HandlerOutcome> => {
          if (m.value.seq === 4) await gate.promise;
          return ack;
        },
        { concurrency: 1, observer: { pending: (partition, count) => pending.set(partition, count) } },
      );
      await eventually('4 running', () => pending.get(0) === 6);
      expect(await sample(metrics, 'hs_bustest_bus_consumer_lag_messages', labels)).toBe(6);

      // A publish moves the head at once (the log is this process's).
      await bus.publish(topic, messages(2, (seq) => `n${seq}`));
      await eventually('head moved', () => pending.get(0) === 8);
      expect(await sample(metrics, 'hs_bustest_bus_consumer_lag_messages', labels)).toBe(8);

      gate.resolve();
      await eventually('all done', () => pending.get(0) === 0);
      expect(await sample(metrics, 'hs_bustest_bus_consumer_lag_messages', labels)).toBe(0);

      await subscription.stop();
      // Stopped: this process reports nothing for the partition any more.
      expect(await sample(metrics, 'hs_bustest_bus_consumer_lag_messages', labels)).toBeUndefined();
    } finally {
      await bus.close();
      await database.close();
    }
  });
});
