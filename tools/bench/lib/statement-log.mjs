// Exact statement counts per database from the PostgreSQL server log, on a running cluster
// with no extension preloaded (pg_stat_statements would need a restart of a cluster that
// others use). The target's own database gets `log_statement = 'all'` (ALTER DATABASE, so
// only sessions that connect to it afterwards log, and nothing else on the cluster does);
// every statement then leaves one `LOG:  statement: …` (simple protocol) or `LOG:  execute
// <name>: …` (extended protocol) line, written by the backend before it runs the statement.
// A line is the target's when the log_line_prefix names its database (%d, as
// deploy/local/up.sh sets it), else when its process id (%p) was a backend of that database
// while the statements were counted (pg_stat_activity, sampled every 100 ms).
//
// The log is read through the server (pg_read_binary_file; superuser), so the bench needs
// no access to the server's files: the file is BENCH_PG_LOG, else the logging collector's
// current file, else the postmaster's stderr (/proc/<postmaster pid>/fd/2, where
// `pg_ctl -l` puts it). A probe statement checks, before anything is counted, that the file
// is the one the server writes and that its lines are parsed and attributed.
const CHUNK = 8 << 20;

function prefixPattern(prefix) {
  let re = '';
  const fields = [];
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i];
    if (ch !== '%') {
      re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const m = /^(-?\d+)?(.)/.exec(prefix.slice(i + 1));
    if (!m) break;
    i += m[0].length;
    const pad = m[1] ? ' *' : '';
    if (m[2] === '%') re += '%';
    else if (m[2] === 'q') continue; // session lines print what follows %q
    else if (m[2] === 'p') (re += `${pad}(\\d+)${pad}`), fields.push('pid');
    else if (m[2] === 'd') (re += `${pad}(.*?)${pad}`), fields.push('db');
    else re += '.*?';
  }
  return { regex: new RegExp(`^${re}LOG:  (?:statement|execute [^:]*): `), fields };
}

export class StatementLog {
  /** The cluster's statement log, checked with a probe; throws saying why it cannot be used. */
  static async open(cluster) {
    const rows = await cluster.query(
      "select current_setting('log_line_prefix') as prefix, current_setting('log_statement') as global, current_setting('data_directory') as data, pg_current_logfile() as collector, pg_read_file('postmaster.pid') as pidfile",
    );
    const { prefix, global, data, collector, pidfile } = rows[0];
    let file = process.env.BENCH_PG_LOG;
    if (!file && collector) file = collector.startsWith('/') ? collector : `${data}/${collector}`;
    if (!file) file = `/proc/${pidfile.split('\n')[0].trim()}/fd/2`;
    const pattern = prefixPattern(prefix);
    if (!pattern.fields.length) throw new Error(`log_line_prefix '${prefix}' has neither %d nor %p: log lines cannot be attributed to a database`);
    const log = new StatementLog(cluster, file, pattern, global);
    await log.probe();
    return log;
  }

  constructor(cluster, file, pattern, globalSetting) {
    this.cluster = cluster;
    this.file = file;
    this.pattern = pattern;
    this.globalSetting = globalSetting;
  }

  async size() {
    const [row] = await this.cluster.query('select size from pg_stat_file($1)', [this.file]);
    return Number(row.size);
  }

  async probe() {
    const marker = `axon_bench_probe_${process.pid}_${Date.now()}`;
    const from = await this.size();
    let pid;
    let db;
    await this.cluster.withClient(async (c) => {
      await c.query("set log_statement = 'all'");
      ({ pid, db } = (await c.query(`select pg_backend_pid() as pid, current_database() as db, '${marker}' as m`)).rows[0]);
    });
    const lines = (await this.read(from, await this.size())).filter((l) => l.includes(marker));
    const parsed = lines.map((l) => this.pattern.regex.exec(l)).find(Boolean);
    if (!parsed) throw new Error(`the probe statement is not in ${this.file} as a parsable line (log_destination must be stderr; ${lines.length} lines with the marker)`);
    const fields = Object.fromEntries(this.pattern.fields.map((f, i) => [f, parsed[i + 1]]));
    if ((fields.pid !== undefined && Number(fields.pid) !== pid) || (fields.db !== undefined && fields.db !== db)) {
      throw new Error(`the probe line in ${this.file} names ${JSON.stringify(fields)}, not pid ${pid} in ${db}`);
    }
  }

  /** The log's complete lines between two byte offsets. */
  async read(from, to) {
    const parts = [];
    for (let at = from; at < to; at += CHUNK) {
      const [row] = await this.cluster.query('select pg_read_binary_file($1, $2, $3) as b', [this.file, at, Math.min(CHUNK, to - at)]);
      parts.push(row.b);
    }
    return Buffer.concat(parts).toString('utf8').split('\n');
  }

  /** Makes every later session of `dbName` log its statements (parameters left out: they only cost log volume). */
  async enable(dbName) {
    await this.cluster.query(`ALTER DATABASE "${dbName}" SET log_statement = 'all'`);
    await this.cluster.query(`ALTER DATABASE "${dbName}" SET log_parameter_max_length = 0`);
  }

  async disable(dbName) {
    await this.cluster.query(`ALTER DATABASE "${dbName}" RESET log_statement`);
    await this.cluster.query(`ALTER DATABASE "${dbName}" RESET log_parameter_max_length`);
  }

  /**
   * Starts a count of `dbName`'s statements; `end()` returns how many were logged since.
   * The backends of the database are sampled meanwhile when lines name only a process.
   */
  async start(dbName) {
    const from = await this.size();
    const byPid = !this.pattern.fields.includes('db');
    const pids = new Set();
    let sampling = byPid;
    const sampler = byPid
      ? this.cluster.withClient(async (c) => {
          while (sampling) {
            for (const r of (await c.query('select pid from pg_stat_activity where datname = $1', [dbName])).rows) pids.add(Number(r.pid));
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })
      : Promise.resolve();
    return {
      end: async () => {
        const to = await this.size();
        sampling = false;
        await sampler;
        const pi = this.pattern.fields.indexOf('pid') + 1;
        const di = this.pattern.fields.indexOf('db') + 1;
        let n = 0;
        for (const line of await this.read(from, to)) {
          const m = this.pattern.regex.exec(line);
          if (m && (byPid ? pids.has(Number(m[pi])) : m[di] === dbName)) n++;
        }
        return n;
      },
    };
  }
}
