import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { LoadParams } from './bus-load-worker';

const WORKER = resolve(__dirname, '../../../../../dist/libs/platform/runtime/src/testing/bus-load-worker.js');

export interface WorkerRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Highest id whose publish was acknowledged. */
  readonly published: number;
  readonly handled: number;
  readonly duplicates: number;
  readonly clean: boolean;
  readonly stderr: string;
}

/**
 * Runs the load worker (built into dist/ by `npm run build`) with the Axon configuration
 * `env` and the run's `params`; in `produce`
 * mode sends SIGTERM once `sigtermAfterPublished` messages are acknowledged.
 */
export function runLoadWorker(
  env: Record<string, string>,
  params: Partial<LoadParams>,
  options: { sigtermAfterPublished?: number; timeoutMs?: number } = {},
): Promise<WorkerRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(params)], {
      env: { PATH: process.env['PATH'] ?? '', AXON_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const state = { published: 0, handled: 0, duplicates: 0, clean: false };
    let stderr = '';
    let signalled = false;
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`load worker timed out\n${stderr}`));
    }, options.timeoutMs ?? 90000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, number | string>;
      if (typeof msg['published'] === 'number') state.published = msg['published'];
      if (typeof msg['handled'] === 'number') state.handled = msg['handled'];
      if (typeof msg['duplicates'] === 'number') state.duplicates = msg['duplicates'];
      if (msg['exit'] === 'clean') state.clean = true;
      if (!signalled && options.sigtermAfterPublished !== undefined && state.published >= options.sigtermAfterPublished) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, ...state, stderr });
    });
  });
}
