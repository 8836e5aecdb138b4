import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Replica } from './replica-registry';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One service process of the deployment. */
export interface ServiceProcess extends Replica {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<ExitStatus>;
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

export async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (code ${child.exitCode})`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Spawns one service process (`dist/apps/<service>/src/main.js` under `root`); `ready` settles when it is ready, exits, or `deadline` passes. */
export function spawnService(
  root: string,
  slot: Replica,
  env: Record<string, string>,
  logFile: string,
  all: Record<string, unknown>[],
  detached: boolean,
  deadline: number,
): { proc: ServiceProcess; ready: Promise<void> } {
  const main = join(root, `dist/apps/${slot.service}/src/main.js`);
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env,
    stdio: detached ? ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] : ['ignore', 'pipe', 'pipe'],
    detached,
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<ExitStatus>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${slot.name} did not start in time\n${stderr.join('')}`)), Math.max(deadline - Date.now(), 0));
    const onEntry = (entry: Record<string, unknown>): void => {
      logs.push(entry);
      all.push({ ...entry, process: slot.name });
      if (entry['msg'] === `${slot.service} ready`) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    // Ready once /ready answers 200 (whatever the log level), or at the ready log line.
    void pollReady(`http://127.0.0.1:${slot.httpPort}/ready`, exited).then(() => {
      clearTimeout(timer);
      resolveReady();
    }, reject);
    if (!detached) {
      // Kept in memory for the tests and in the log file for a post-mortem.
      const file = createWriteStream(logFile, { flags: 'a' });
      child.stdout!.pipe(file);
      child.stderr!.on('data', (c: Buffer) => {
        stderr.push(c.toString());
        file.write(c);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          onEntry(JSON.parse(line) as Record<string, unknown>);
        } catch (err) {
          onEntry({ unparsed: line, error: (err as Error).message });
        }
      });
    }
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${slot.name} exited early (code ${code}, signal ${signal})\n${stderr.join('')}`));
    });
  });
  if (detached) child.unref();
  const proc: ServiceProcess = {
    ...slot,
    child,
    logs,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return { proc, ready };
}

async function pollReady(url: string, exited: Promise<ExitStatus>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
