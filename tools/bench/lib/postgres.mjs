// The PostgreSQL cluster the benches use (AXON_DATABASE_URL, as deploy/local/env.sh sets
// it): reaching it (or starting deploy/local with up.sh, and down.sh at the end), a fresh
// database per target, and the counters of pg_stat_database read so that they are complete.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './run.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');

/**
 * How long after a database's last activity its pg_stat_database row is complete. A
 * backend adds its counters to the shared statistics when it goes idle, but at most once a
 * second (PGSTAT_MIN_INTERVAL); what it did within a second of its last flush stays
 * pending until it is active again, or until its idle timer (PGSTAT_IDLE_INTERVAL, 10 s)
 * forces the flush. Nothing at all tells an observer which backends still hold counts, so
 * only a reading taken more than 10 s after the last statement of the measured work is
 * exact; a reading 1 s after it misses up to a second of every backend's work.
 */
export const STATS_COMPLETE_AFTER_MS = 10_500;

export class PgCluster {
  constructor(run) {
    this.run = run;
    this.adminUrl = process.env.AXON_DATABASE_URL ?? 'postgres://axon:axon@127.0.0.1:5432/axon';
    this.startedByUs = false;
    this.version = '';
  }

  /** Runs `fn` with a fresh admin connection (to the cluster's default database). */
  async withClient(fn, database) {
    const url = new URL(this.adminUrl);
    if (database) url.pathname = `/${database}`;
    const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch((err) => this.run.log(`closing an admin connection: ${err.message}`));
    }
  }

  async query(sql, params) {
    return this.withClient(async (c) => (await c.query(sql, params)).rows);
  }

  async reachable() {
    try {
      await this.query('select 1');
      return true;
    } catch {
      return false;
    }
  }

  /** True when the cluster answers, starting deploy/local/up.sh (down.sh at the end) if nothing does and AXON_DATABASE_URL is unset. */
  async ensure() {
    if (await this.reachable()) return true;
    if (process.env.AXON_DATABASE_URL) {
      this.run.note('AXON_DATABASE_URL is set but not reachable: Postgres targets skipped');
      return false;
    }
    this.run.log('no PostgreSQL at 127.0.0.1:5432: starting deploy/local/up.sh (down.sh runs at the end)');
    try {
      execFileSync('bash', [join(ROOT, 'deploy/local/up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      this.run.note(`deploy/local/up.sh failed (${err.message.split('\n')[0]}): Postgres targets skipped`);
      return false;
    }
    this.startedByUs = true;
    this.run.onCleanupLast(async () => {
      this.run.log('stopping the infrastructure this run started (deploy/local/down.sh)');
      try {
        execFileSync('bash', [join(ROOT, 'deploy/local/down.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
      } catch (err) {
        this.run.log(`down.sh failed: ${err.message}`);
      }
    });
    return this.reachable();
  }

  /** A new database, dropped at the end of the run unless the run keeps its data; its URL. */
  async createDatabase(name, { synapse = false } = {}) {
    await this.withClient(async (c) => {
      // Synapse refuses a database whose collation is not C (or it warns and misorders).
      await c.query(synapse ? `CREATE DATABASE "${name}" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` : `CREATE DATABASE "${name}"`);
      const { rows } = await c.query('select version() as v');
      this.version = rows[0].v.split(' ').slice(0, 2).join(' ');
    });
    if (!this.run.keep) {
      this.run.onCleanup(async () => {
        try {
          await this.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } catch (err) {
          this.run.log(`could not drop database ${name}: ${err.message}`);
        }
      });
    }
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url;
  }

  /** Transactions, rows written and rows read so far in one database, from pg_stat_database. */
  async counters(dbName) {
    const [row] = await this.query(
      'select xact_commit + xact_rollback as xacts, tup_inserted + tup_updated + tup_deleted as written, tup_returned + tup_fetched as read from pg_stat_database where datname = $1',
      [dbName],
    );
    return { xacts: Number(row.xacts), written: Number(row.written), read: Number(row.read), at: performance.now() };
  }

  /** `counters(dbName)` read once they are complete for all work up to `lastActivity` (a performance.now() time). */
  async completeCounters(dbName, lastActivity) {
    const wait = lastActivity + STATS_COMPLETE_AFTER_MS - performance.now();
    if (wait > 0) await sleep(wait);
    return this.counters(dbName);
  }
}
