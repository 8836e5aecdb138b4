// One bench run: its id, log prefix, notes, failures and the clean-ups that stop whatever
// it started (servers by pid, temporary dirs, databases), in reverse order, also on
// failure and on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This checkout (no trailing slash, comparable with a resolved BENCH_AXON_BASELINE). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A comma-separated setting as a list (`fallback` when unset). */
export function list(value, fallback) {
  return (value ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export class BenchRun {
  constructor(name, { keep = false } = {}) {
    this.name = name;
    this.keep = keep;
    this.id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    this.started = performance.now();
    this.cleanups = [];
    this.notes = [];
    this.failed = {};
    this.interrupted = false;
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.once(sig, () => {
        if (this.interrupted) return;
        this.interrupted = true;
        this.log(`${sig}: stopping everything this run started`);
        void this.cleanup().finally(() => process.exit(130));
      });
    }
  }

  log(msg) {
    process.stderr.write(`[bench:${this.name}] ${msg}\n`);
  }

  note(msg) {
    this.notes.push(msg);
  }

  fail(target, err) {
    this.failed[target] = err.message;
    this.log(`${target} FAILED: ${err.message}`);
  }

  /** Runs before the clean-ups registered earlier (a server stops before its database is dropped). */
  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  /** Runs after every other clean-up (infrastructure this run started). */
  onCleanupLast(fn) {
    this.cleanups.unshift(fn);
  }

  async cleanup() {
    while (this.cleanups.length) {
      const fn = this.cleanups.pop();
      try {
        await fn();
      } catch (err) {
        this.log(`cleanup: ${err.message}`);
      }
    }
  }

  /** A fresh temporary dir for a target's data and logs, removed at the end unless kept. */
  workDir(target) {
    const dir = mkdtempSync(join(tmpdir(), `axon-bench-${this.name}-${target.replace(/[^a-z0-9-]/gi, '_')}-`));
    if (!this.keep) this.onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    else this.note(`${target}: data and logs kept in ${dir}`);
    return dir;
  }

  /** A server that died: copies its log out of the (to be deleted) work dir and notes its tail. */
  keepLog(target, logFile, what) {
    const kept = join(tmpdir(), `axon-bench-${this.name}-${this.id}-${target.replace(/[^a-z0-9-]/gi, '_')}.log`);
    try {
      writeFileSync(kept, readFileSync(logFile));
    } catch (err) {
      this.log(`${target}: no log to keep (${err.code ?? err.message})`);
    }
    const lastLines = tail(kept, 8)
      .split('\n')
      .map((l) => `    ${l.slice(0, 400)}`)
      .join('\n');
    this.note(`${target}: ${what}; log kept in ${kept}, last lines:\n${lastLines}`);
  }

  /** The closing lines: failures, notes, wall time; a failed target makes the exit code 1. */
  printFooter({ infraStartedByUs = false } = {}) {
    for (const [t, msg] of Object.entries(this.failed)) console.log(`FAILED ${t}: ${msg.split('\n').slice(0, 12).join('\n    ')}`);
    for (const n of this.notes) console.log(`note: ${n}`);
    console.log(`\ntotal ${((performance.now() - this.started) / 1000).toFixed(1)} s${infraStartedByUs ? ' (including deploy/local/up.sh and down.sh)' : ''}`);
    if (Object.keys(this.failed).length) process.exitCode = 1;
  }
}

/** The last `lines` lines of a file ('' when it cannot be read). */
export function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function machineLine() {
  return `node ${process.version} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB), ${process.platform}/${process.arch}`;
}
