import { describeShutdownUnderLoad } from './testing/shutdown-contract';

const database = process.env['AXON_DATABASE_URL'];
const brokers = process.env['AXON_KAFKA_BROKERS'];
const redis = process.env['AXON_REDIS_URL'];
if (!database || !brokers || !redis) {
  throw new Error('AXON_DATABASE_URL, AXON_KAFKA_BROKERS and AXON_REDIS_URL must be set: `npm run infra:up` then `source deploy/local/env.sh`');
}

describeShutdownUnderLoad('distributed transports (Postgres, Kafka, Redis)', () => {
  const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  return {
    env: { AXON_DATA_DIR: '/nonexistent', AXON_DATABASE_URL: database, AXON_KAFKA_BROKERS: brokers, AXON_REDIS_URL: redis },
    params: { topic: `hs.loadtest.r${run}.v1`, schema: `loadtest_${run}` },
  };
});
