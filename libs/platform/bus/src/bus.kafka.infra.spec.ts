import { describeBusContract } from './testing/bus-contract';

const brokers = process.env['AXON_KAFKA_BROKERS'];
if (!brokers) {
  throw new Error('AXON_KAFKA_BROKERS is not set: start Kafka with `npm run infra:up` and `eval "$(deploy/local/env.sh --export)"`');
}

jest.setTimeout(120_000);
describeBusContract('Kafka', () => ({ kind: 'kafka', brokers: brokers.split(',').map((b) => b.trim()) }));
