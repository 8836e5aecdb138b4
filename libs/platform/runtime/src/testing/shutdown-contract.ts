import type { LoadParams } from './bus-load-worker';
import { runLoadWorker } from './shutdown-under-load';

/**
 * SIGTERM under load loses nothing: a process publishing and consuming as fast as it
 * can is told to stop; it exits 0 after draining its consumers and committing. A second
 * run on the same storage then receives exactly the messages the first did not handle:
 * every acknowledged message is handled once, none twice, none lost.
 */
/** Error-level log lines (a component that failed to close logs one); warnings are fine. */
const errorLines = (stderr: string): string[] =>
  stderr.split('\n').filter((line) => /"level":"(error|fatal)"|^\s*at |Error:/.test(line));

export interface LoadSetup {
  /** Axon configuration of the worker process (AXON_* variables). */
  readonly env: Record<string, string>;
  /** Topic and result schema, unique per run on shared infrastructure. */
  readonly params: Partial<LoadParams>;
}

export function describeShutdownUnderLoad(name: string, setup: () => LoadSetup): void {
  describe(`SIGTERM under load: ${name}`, () => {
    it('exits 0, and every acknowledged message is handled exactly once across the restart', async () => {
      const { env, params } = setup();
      const first = await runLoadWorker(env, { ...params, mode: 'produce' }, { sigtermAfterPublished: 2000 });
      expect({ code: first.code, clean: first.clean, errors: errorLines(first.stderr) }).toEqual({ code: 0, clean: true, errors: [] });
      expect(first.published).toBeGreaterThanOrEqual(2000);
      expect(first.duplicates).toBe(0);

      const second = await runLoadWorker(env, { ...params, mode: 'drain', expect: first.published });
      expect({ code: second.code, clean: second.clean, errors: errorLines(second.stderr) }).toEqual({ code: 0, clean: true, errors: [] });
      // Graceful shutdown committed everything the first run handled: no redelivery.
      expect(second.duplicates).toBe(0);
      expect(first.handled + second.handled).toBe(first.published);
    }, 180000);
  });
}
