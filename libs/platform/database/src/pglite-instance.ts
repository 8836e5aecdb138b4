import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';

/**
 * Server settings of the embedded instance, on its command line at every start (PGlite's
 * `postgresqlconf` option would overwrite the data directory's postgresql.conf instead).
 *
 * shared_buffers: Postgres' default of 128 MB is the largest part of an idle embedded
 * server. PGlite allocates shared memory through Emscripten's mmap, which zero-fills it,
 * so the whole pool is resident from the first second, and WebAssembly memory is never
 * handed back to the system. A page that misses the pool is one synchronous read() from
 * the kernel's page cache.
 *
 * None of them touches durability, which stays what PGlite gives on Node: it starts
 * Postgres with fsync off and Emscripten's Node filesystem has no fsync, so a commit
 * returns once its WAL record is written to the kernel. An acknowledged write survives the
 * process being killed, not the machine losing power (`relaxedDurability` is a no-op here).
 */
export const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
};

export type PGliteParsers = NonNullable<PGliteOptions['parsers']>;

function startParams(): string[] {
  const settings = Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  return [...PGlite.defaultStartParams, ...settings];
}

/**
 * Opens the embedded database in `dataDir` (or in memory), creating it first if needed.
 *
 * Creating a cluster in process would cost the server for its whole life: PGlite runs
 * initdb in a second, throw-away Postgres instance plus a copy of its heap, about 500 MB
 * that the garbage collector frees late or never while the server is idle, and that
 * malloc keeps even after a worker thread exits. A child process returns every byte when
 * it exits; the server then opens the finished cluster like any restart does.
 */
export async function openPGlite(dataDir: string | undefined, parsers: PGliteParsers): Promise<PGlite> {
  if (dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION'))) await initdbInChild(dataDir);
  return PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), parsers, startParams: startParams() });
}

// Runs in the child: `node -e INITDB_SCRIPT <pglite entry> <dataDir> <startParams JSON>`.
const INITDB_SCRIPT = `
const [entry, dataDir, params] = process.argv.slice(1);
require(entry).PGlite.create({ dataDir, startParams: JSON.parse(params) })
  .then((pg) => pg.close())
  .catch((err) => { console.error(err && err.stack || String(err)); process.exitCode = 1; });
`;

function initdbInChild(dataDir: string): Promise<void> {
  const args = ['-e', INITDB_SCRIPT, require.resolve('@electric-sql/pglite'), dataDir, JSON.stringify(startParams())];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`cannot create the embedded database in ${dataDir}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve();
    });
  });
}
