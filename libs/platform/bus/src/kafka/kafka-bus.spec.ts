import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack } from '../bus';
import type { BusMetrics } from '../bus-metrics';
import type { BusLogger } from '../logger';
import { FakeKafka } from '../testing/fake-kafka';
import { KAFKA_TEST_TIMING } from './kafka-options';
import { KafkaBus } from './kafka-bus';

const topic = defineTopic<{ key: string }>({ name: 'hs.test.kafka-bus.v1', partitions: 2, key: (m) => m.key, codec: jsonCodec() });

describe('KafkaBus (fake kafkajs)', () => {
  it('ping rejects, with the reason, once a consumer has crashed for good', async () => {
    const kafka = new FakeKafka();
    const logged: { level: string; message: string }[] = [];
    const logger: BusLogger = { log: (level, message) => logged.push({ level, message }) };
    const bus = await KafkaBus.fromClient(kafka.asKafka(), { timing: KAFKA_TEST_TIMING, logger });
    try {
      await bus.subscribe(topic, 'room-server', () => ack);
      await bus.subscribe(topic, 'other', () => ack);
      await expect(bus.ping()).resolves.toBeUndefined();

      // A crash kafkajs restarts from is not a failure.
      kafka.consumers[1]!.crash(new Error('Connection closed'), true);
      await expect(bus.ping()).resolves.toBeUndefined();

      kafka.consumers[0]!.crash(new Error('Not authorized to access group'), false);
      await expect(bus.ping()).rejects.toThrow(/hs\.test\.kafka-bus\.v1.*room-server.*Not authorized to access group/);
      expect(logged.some((l) => l.level === 'error' && /crashed for good/.test(l.message))).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it('retries topic creation while the broker answers that it does not host the topic yet, then publishes', async () => {
    const kafka = new FakeKafka();
    kafka.failCreates = 2; // a broker that just started, or replicas creating topics together
    const bus = await KafkaBus.fromClient(kafka.asKafka(), { timing: KAFKA_TEST_TIMING, logger: { log: () => undefined } });
    try {
      await bus.publish(topic, [{ key: 'a' }]);
      expect(kafka.failCreates).toBe(0);
      expect(kafka.sent).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });

  it('connects again while a just-started broker is still electing leaders', async () => {
    const kafka = new FakeKafka();
    kafka.failConnects = 2;
    const bus = await KafkaBus.fromClient(kafka.asKafka(), { timing: KAFKA_TEST_TIMING, logger: { log: () => undefined } });
    try {
      expect(kafka.failConnects).toBe(0);
      await bus.publish(topic, [{ key: 'a' }]);
      expect(kafka.sent).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });

  it('labels consumer lag with the logical topic and group, not the namespaced Kafka names', async () => {
    const kafka = new FakeKafka();
    const labels: string[] = [];
    const metrics: BusMetrics = {
      consumerLag: (topicName, group, partition, lag) => labels.push(`${topicName} ${group} ${partition} ${lag}`),
      forgetPartition: () => undefined,
      groupLag: () => undefined,
      forgetGroupPartition: () => undefined,
    };
    const bus = await KafkaBus.fromClient(kafka.asKafka(), { timing: KAFKA_TEST_TIMING, logger: { log: () => undefined }, namespace: 't1.', metrics });
    try {
      await bus.subscribe(topic, 'room-server', () => ack);
      await kafka.consumers[0]!.deliver(0, 0, ['a'], 3);
      expect(labels).toContain('hs.test.kafka-bus.v1 room-server 0 3');
      expect(labels.filter((l) => l.includes('t1.'))).toEqual([]);
    } finally {
      await bus.close();
    }
  });

  it('starts a consumer again itself after kafkajs gave up on a restarting broker (no group coordinator)', async () => {
    const kafka = new FakeKafka();
    const logged: { level: string; message: string }[] = [];
    const bus = await KafkaBus.fromClient(kafka.asKafka(), { timing: KAFKA_TEST_TIMING, logger: { log: (level, message) => logged.push({ level, message }) } });
    try {
      const subscription = await bus.subscribe(topic, 'sync', () => ack);
      const consumer = kafka.consumers[0]!;
      expect(consumer.runs).toBe(1);
      // What kafkajs emits when the broker is down for longer than its retries: a
      // non-retriable error around KafkaJSGroupCoordinatorNotFound, and no restart.
      const cause = Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound', retriable: false });
      const wrapped = Object.assign(new Error('Failed to find group coordinator', { cause }), { name: 'KafkaJSNonRetriableError', retriable: false });
      consumer.crash(wrapped, false);
      expect(subscription.assignment()).toEqual([]);
      await expect(bus.ping()).resolves.toBeUndefined();
      const deadline = Date.now() + 5_000;
      while (consumer.runs < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(consumer.runs).toBe(2);
      expect(subscription.assignment()).toEqual([0]);
      expect(logged.some((l) => l.level === 'error')).toBe(false);
    } finally {
      await bus.close();
    }
  });
});
