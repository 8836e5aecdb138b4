import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack } from './bus';
import { KafkaBus } from './kafka/kafka-bus';
import { KAFKA_TEST_TIMING } from './kafka/kafka-options';
import { stderrLogger } from './logger';

it('smoke', async () => {
  const t0 = Date.now();
  const bus = await KafkaBus.connect({ brokers: ['127.0.0.1:9092'], clientId: 'smoke', timing: KAFKA_TEST_TIMING, logger: stderrLogger('info') });
  const topic = defineTopic<{ k: string; n: number }>({ name: `hs.smoke.t${Date.now()}.v1`, partitions: 3, key: (m) => m.k, codec: jsonCodec() });
  await bus.publish(topic, Array.from({ length: 10 }, (_, n) => ({ k: `k${n % 4}`, n })));
  console.log('published', Date.now() - t0);
  const got: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sub = await bus.subscribe(topic, 'g1', (m) => { got.push(m.value.n); if (got.length === 10) done(); return ack; }, { commitIntervalMs: 50, observer: { committed: (p, o) => console.log('commit', p, o) } });
  console.log('subscribed', Date.now() - t0, sub.assignment());
  await all;
  console.log('received', Date.now() - t0, got);
  await sub.stop();
  console.log('stopped', Date.now() - t0);
  await bus.close();
}, 60000);
