import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildCommand, ChildEvent } from './bus-child';
import { eventually } from './contract-helpers';

/** A running bus-child.ts process and the events it has reported so far. */
export class BusChild {
  readonly events: ChildEvent[] = [];
  private stderr = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) this.events.push(JSON.parse(line) as ChildEvent);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  static start(command: ChildCommand): BusChild {
    const child = spawn(process.execPath, [join(__dirname, 'run-ts.js'), join(__dirname, 'bus-child.ts'), JSON.stringify(command)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new BusChild(child);
  }

  /** Waits for a condition on the events; fails early (with the child's stderr) if the child dies. */
  async waitFor(what: string, predicate: (events: readonly ChildEvent[]) => boolean, timeoutMs = 60_000): Promise<void> {
    await eventually(
      what,
      () => {
        if (this.exitCode !== undefined) throw new Error(`bus child exited (code ${this.exitCode}) before: ${what}\n${this.stderr}`);
        return predicate(this.events);
      },
      timeoutMs,
      () => ({ events: this.events.length, last: this.events.slice(-5), stderr: this.stderr.slice(-2000) }),
    );
  }

  /** SIGKILL: no drain, no commit, no goodbye to the group. */
  async kill(): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
    await this.exited;
  }
}
