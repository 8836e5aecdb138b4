import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { BusMetrics } from '../bus-metrics';
import { GroupLagExporter } from './group-lag';

const brokersEnv = process.env['AXON_KAFKA_BROKERS'];
if (!brokersEnv) throw new Error('AXON_KAFKA_BROKERS is not set: start Kafka with `npm run infra:up` and `eval "$(deploy/local/env.sh --export)"`');

jest.setTimeout(60_000);

describe('GroupLagExporter (real Kafka)', () => {
  const kafka = new Kafka({ clientId: 'axon-group-lag-test', brokers: brokersEnv.split(','), logLevel: logLevel.NOTHING });
  const topic = `hs.test.group-lag-${Math.random().toString(36).slice(2, 8)}.v1`;
  const groupId = `group-lag-${Math.random().toString(36).slice(2, 8)}`;
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2].map((i) => ({ partition: 0, value: `m${i}` })) });
    await producer.send({ topic, messages: [{ partition: 1, value: 'n0' }] });
    await producer.disconnect();
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('reports every partition from the committed offsets, with no member of the group running', async () => {
    const lag = new Map<string, number>();
    const metrics: BusMetrics = {
      consumerLag: () => undefined,
      forgetPartition: () => undefined,
      groupLag: (t, g, partition, value) => lag.set(`${t} ${g} ${partition}`, value),
      forgetGroupPartition: (t, g, partition) => lag.delete(`${t} ${g} ${partition}`),
    };
    const warnings: string[] = [];
    const exporter = new GroupLagExporter(() => Promise.resolve(admin), metrics, { log: (_level, message) => warnings.push(message) }, 60_000);
    const watched = { topic, groupId, labels: { topic: 'hs.test.group-lag.v1', group: 'g' } };
    exporter.watch(watched);
    try {
      // Never committed: everything since the start of the log is lag.
      await exporter.report();
      expect(Object.fromEntries(lag)).toEqual({ 'hs.test.group-lag.v1 g 0': 3, 'hs.test.group-lag.v1 g 1': 1 });
      // A member committed partition 0 up to offset 2 and died: the rest is still reported.
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] });
      await exporter.report();
      expect(Object.fromEntries(lag)).toEqual({ 'hs.test.group-lag.v1 g 0': 1, 'hs.test.group-lag.v1 g 1': 1 });
      exporter.unwatch(watched, 2);
      expect(lag.size).toBe(0);
      expect(warnings).toEqual([]);
    } finally {
      await exporter.close();
    }
  });
});
