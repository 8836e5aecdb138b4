// Removes what this run's test deployments made on shared Postgres, Kafka and Redis
// (each recorded itself in the directory the global setup made). Relative import:
// Jest does not map `@axon/*` for global hooks. A failure is reported, not thrown: the
// tests have passed or failed by now, and a throw here would also stop Jest writing its
// results file.
import { TEST_RESOURCES_DIR_ENV, destroyRecordedTestResources } from '../libs/testing/src/test-resources';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env[TEST_RESOURCES_DIR_ENV];
  if (dir === undefined || dir === '') return;
  const began = Date.now();
  try {
    const count = await destroyRecordedTestResources(dir);
    if (count > 0) console.log(`test teardown: removed ${count} deployment(s) (database, Kafka topics, Redis keys) in ${Date.now() - began} ms`);
  } catch (err) {
    console.error(`test teardown: some test deployments were NOT removed and are left on the infrastructure: ${(err as Error).message}`);
  }
}
