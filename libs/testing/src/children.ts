import { readdirSync, readFileSync } from 'node:fs';

/**
 * The pids of this process's living children started with an `AXON_DATA_DIR` inside
 * `dataDir` (read from /proc: Linux only). Tests use it to show that a harness left
 * none of its processes running.
 */
export function childProcessesIn(dataDir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      const own = environ.find((entry) => entry.startsWith('AXON_DATA_DIR='))?.slice('AXON_DATA_DIR='.length);
      if (own !== undefined && (own === dataDir || own.startsWith(`${dataDir}/`))) found.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
