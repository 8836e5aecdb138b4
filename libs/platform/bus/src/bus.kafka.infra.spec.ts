import { Kafka, logLevel } from 'kafkajs';
import { describeBusContract } from './testing/bus-contract';

const brokersEnv = process.env['AXON_KAFKA_BROKERS'];
if (!brokersEnv) {
  throw new Error('AXON_KAFKA_BROKERS is not set: start Kafka with `npm run infra:up` and `eval "$(deploy/local/env.sh --export)"`');
}
const brokers = brokersEnv.split(',').map((b) => b.trim());

async function deleteTestTopics(prefix: string): Promise<void> {
  const admin = new Kafka({ clientId: 'axon-bus-contract-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

jest.setTimeout(120_000);
describeBusContract('Kafka', () => ({ kind: 'kafka', brokers }), { cleanup: deleteTestTopics });
