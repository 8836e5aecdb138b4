import { EventEmitter } from 'node:events';
import { type PGlite, types } from '@electric-sql/pglite';
import { openPGlite } from './pglite-instance';

/**
 * A `pg.Pool` look-alike over one PGlite instance, for TypeORM's postgres driver.
 *
 * Why not typeorm-pglite: it hands the same session to every caller at once, so two
 * concurrent transactions interleave their statements on one session and one caller's
 * ROLLBACK undoes the other's writes. Here a caller leases the session exclusively from
 * `connect()` until `release()`, exactly as a pool of size one would, so TypeORM
 * transactions stay isolated. The consequence (documented in the README): code holding
 * a transaction must use that transaction's manager, never the DataSource again, or it
 * waits for itself.
 *
 * Several DataSources (one per owning service schema) share one PGlite instance and one
 * lease queue; each lease sets that DataSource's `search_path` first.
 */
export class PGliteSession {
  private queue: Promise<void> = Promise.resolve();
  private currentSearchPath: string | undefined;

  private constructor(readonly pg: PGlite) {}

  static async open(dataDir: string | undefined): Promise<PGliteSession> {
    const pg = await openPGlite(dataDir, {
      // Return results in the shapes node-postgres gives, so the same code and SQL
      // behave identically on both: int8 and numeric as strings, bytea as Buffer.
      [types.INT8]: (value: string) => value,
      [types.NUMERIC]: (value: string) => value,
      [types.BYTEA]: (value: string) => Buffer.from(value.slice(2), 'hex'),
    });
    return new PGliteSession(pg);
  }

  /** Waits for exclusive use of the session; resolves with the release function. */
  async lease(searchPath: string): Promise<() => void> {
    // PGlite runs in this thread and settles its promises without any I/O, so a loop of
    // queries (a consumer working through a backlog) would run entirely on the microtask
    // queue and starve sockets, timers and signals. Yielding to the event loop once per
    // lease keeps the process responsive at the cost of a few microseconds a query.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      if (this.currentSearchPath !== searchPath) {
        await this.pg.exec(`SET search_path TO ${searchPath}`);
        this.currentSearchPath = searchPath;
      }
    } catch (err) {
      release();
      throw err;
    }
    let released = false;
    return () => {
      if (!released) {
        released = true;
        release();
      }
    };
  }

  async close(): Promise<void> {
    await this.queue;
    if (!this.pg.closed) await this.pg.close();
  }
}

interface PgLikeResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: readonly { name: string; dataTypeID: number }[];
}

type QueryCallback = (err: Error | null, result?: PgLikeResult) => void;

function commandOf(sql: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(sql);
  return (match?.[1] ?? '').toUpperCase();
}

/** The connection object TypeORM receives from `connect()`. */
class PGliteConnection extends EventEmitter {
  constructor(private readonly pg: PGlite) {
    super();
  }

  query(sql: string, params?: unknown[] | QueryCallback, callback?: QueryCallback): Promise<PgLikeResult> {
    const cb = typeof params === 'function' ? params : callback;
    const values = Array.isArray(params) ? params : undefined;
    const run = async (): Promise<PgLikeResult> => {
      if (values && values.length > 0) {
        const res = await this.pg.query(sql, values);
        return {
          rows: res.rows,
          rowCount: res.affectedRows ?? res.rows.length,
          command: commandOf(sql),
          fields: res.fields,
        };
      }
      // Without parameters the simple protocol allows several statements (migrations).
      // Like node-postgres: one statement answers its result, several answer an array.
      const all = await this.pg.exec(sql);
      const results = all.map((r) => ({
        rows: r.rows,
        rowCount: r.affectedRows ?? r.rows.length,
        command: commandOf(sql),
        fields: r.fields,
      }));
      if (results.length === 1) return results[0]!;
      return results as unknown as PgLikeResult;
    };
    const promise = run();
    if (cb) {
      promise.then(
        (result) => cb(null, result),
        (err: Error) => cb(err),
      );
    }
    return promise;
  }
}

/**
 * Builds the `driver` object TypeORM's postgres driver loads in place of `pg`: its
 * `Pool` leases the shared session for one DataSource's search path.
 */
export function pgliteDriverFor(session: PGliteSession, searchPath: string): { Pool: new () => EventEmitter } {
  class PGlitePool extends EventEmitter {
    connect(callback: (err: Error | null, connection?: PGliteConnection, release?: () => void) => void): void {
      session.lease(searchPath).then(
        (release) => callback(null, new PGliteConnection(session.pg), release),
        (err: Error) => callback(err),
      );
    }

    async query(sql: string, params?: unknown[]): Promise<PgLikeResult> {
      const release = await session.lease(searchPath);
      try {
        return await new PGliteConnection(session.pg).query(sql, params);
      } finally {
        release();
      }
    }

    end(callback?: (err: Error | null) => void): void {
      // The session outlives each DataSource; Database.close() closes it.
      callback?.(null);
    }
  }
  return { Pool: PGlitePool };
}
