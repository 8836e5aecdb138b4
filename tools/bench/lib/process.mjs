// Child processes started and stopped by pid, and what /proc says about them: CPU time,
// resident memory, the PostgreSQL cluster's CPU.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const HZ = 100; // USER_HZ: /proc/<pid>/stat ticks per second on Linux
const PAGE = 4096;

/**
 * Starts a child with its output appended to `logFile`; its stop (SIGTERM, SIGKILL after
 * 20 s) is registered with the run, so it also happens on failure or Ctrl-C.
 */
export function startProcess(run, name, cmd, args, { env, cwd, logFile }) {
  const out = openSync(logFile, 'a');
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', out, out] });
  closeSync(out);
  let exitInfo;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exitInfo = { code, signal }))));
  const stop = async () => {
    if (exitInfo) return exitInfo;
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      run.log(`${name} (pid ${child.pid}) still running 20 s after SIGTERM; SIGKILL`);
      child.kill('SIGKILL');
    }, 20000);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  run.onCleanup(stop);
  return { pid: child.pid, exited, stop, isExited: () => exitInfo !== undefined, logFile };
}

function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after "comm": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21)
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** User+sys CPU ms and resident MB of a process (undefined once it is gone). */
export function procStat(pid) {
  try {
    const f = statFields(pid);
    return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / HZ, rssMb: (Number(f[21]) * PAGE) / 2 ** 20 };
  } catch {
    return undefined;
  }
}

/** CPU ms of several processes together (those gone count 0). */
export function cpuMsOf(pids) {
  let ms = 0;
  for (const pid of pids) ms += procStat(pid)?.cpuMs ?? 0;
  return ms;
}

/** VmRSS of a process in kB (NaN once it is gone). */
export function vmRssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

// CPU of the PostgreSQL processes: every live process named postgres, plus the
// postmaster's cutime/cstime (its exited children: backends that closed, autovacuum
// workers), so a backend that exits during a window keeps its CPU in the count. This is
// the whole cluster: anything else using it at the same time is counted too.
export function postgresCpuMs() {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'postgres') continue;
      const f = statFields(d);
      procs.set(d, { ppid: f[1], own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) });
    } catch {
      continue; // exited between readdir and read
    }
  }
  let ticks = 0;
  for (const p of procs.values()) ticks += p.own + (procs.has(p.ppid) ? 0 : p.children);
  return (ticks * 1000) / HZ;
}

/**
 * Waits until the process used at most `busyMs` of CPU in each of `quiet` consecutive
 * 500 ms intervals (default: under 5% of a core for 0.5 s), or `maxMs` passed. Returns
 * whether it settled.
 */
export async function settle(pid, { quiet = 1, busyMs = 25, maxMs = 30_000 } = {}) {
  const deadline = performance.now() + maxMs;
  let calm = 0;
  await sleep(500);
  let a = procStat(pid)?.cpuMs ?? NaN;
  for (;;) {
    await sleep(500);
    const b = procStat(pid)?.cpuMs ?? NaN;
    calm = b - a > busyMs ? 0 : calm + 1;
    if (calm >= quiet || !Number.isFinite(b)) return true;
    if (performance.now() > deadline) return false;
    a = b;
  }
}

/**
 * Idle resident memory: once the process's CPU settled (under 5% of a core for two 0.5 s
 * intervals, at most 60 s), `waitS` seconds more, settled again, then its VmRSS in kB.
 * An idle server is one nobody has used for a while, not one that finished its last
 * request a second ago: the wait lets any server give back what its collector frees when
 * idle (V8's pooled pages, Python's generations) before the reading, the same wait for
 * every target. `settled` is false when the CPU never settled.
 */
export async function idleRssKb(pid, waitS) {
  let settled = await settle(pid, { quiet: 2, maxMs: 60_000 });
  await sleep(waitS * 1000);
  settled = (await settle(pid, { quiet: 2, maxMs: 60_000 })) && settled;
  return { kb: vmRssKb(pid), settled };
}

