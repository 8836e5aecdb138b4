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

export function describeShutdownUnderLoad(name: string, env: () => Record<string, string>): void {
  describe(`SIGTERM under load: ${name}`, () => {
    it('exits 0, and every acknowledged message is handled exactly once across the restart', async () => {
      const base = env();
      const first = await runLoadWorker(base, { sigtermAfterPublished: 2000 });
      expect({ code: first.code, clean: first.clean, errors: errorLines(first.stderr) }).toEqual({ code: 0, clean: true, errors: [] });
      expect(first.published).toBeGreaterThanOrEqual(2000);
      expect(first.duplicates).toBe(0);

      const second = await runLoadWorker({
        ...base,
        LOADTEST_MODE: 'drain',
        LOADTEST_EXPECT: String(first.published),
      });
      expect({ code: second.code, clean: second.clean, errors: errorLines(second.stderr) }).toEqual({ code: 0, clean: true, errors: [] });
      // Graceful shutdown committed everything the first run handled: no redelivery.
      expect(second.duplicates).toBe(0);
      expect(first.handled + second.handled).toBe(first.published);
    }, 180000);
  });
}
