import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { DataSource, type DataSourceOptions, type MigrationInterface, MigrationExecutor } from 'typeorm';
import { PGliteSession, pgliteDriverFor } from './pglite-pool';

/** A TypeORM migration class (`up`/`down` with `queryRunner.query(sql)`). */
export type MigrationClass = new () => MigrationInterface;

export interface DatabaseOptions {
  /** `postgres://` URL; absent means embedded PGlite in `dataDir`. */
  readonly url?: string | undefined;
  /** Data directory; the embedded database lives in `<dataDir>/pglite`. */
  readonly dataDir: string;
  /** Connections per schema's pool on Postgres. */
  readonly poolSize?: number;
  /** Embedded only: keep the database in memory (tests that need no persistence). */
  readonly inMemory?: boolean;
}

export interface SchemaOptions {
  /** The owning service's Postgres schema (`room_server`, `bus`...). */
  readonly schema: string;
  readonly migrations?: readonly MigrationClass[];
  readonly entities?: DataSourceOptions['entities'];
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The process's database: one PGlite instance (embedded) or one Postgres server, with a
 * TypeORM DataSource per owning service schema. Every DataSource's sessions use that
 * schema as `search_path`, so the same unqualified SQL runs on both backends.
 */
export class Database {
  private readonly dataSources: DataSource[] = [];
  private closed = false;

  private constructor(
    readonly kind: 'pglite' | 'postgres',
    private readonly options: DatabaseOptions,
    private readonly session: PGliteSession | undefined,
    /** Postgres only: one connection for health checks, independent of the services' pools. */
    private readonly probe: Pool | undefined,
  ) {}

  /**
   * Opens the embedded database, or checks that Postgres answers (a wrong URL or an
   * unreachable server fails here, at boot, not at the first query).
   */
  static async open(options: DatabaseOptions): Promise<Database> {
    if (options.url) {
      const probe = new Pool({
        connectionString: options.url,
        max: 1,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 30000,
        application_name: 'axon:health',
      });
      probe.on('error', () => undefined); // an idle client's error resurfaces on the next ping
      try {
        await probe.query('SELECT 1');
      } catch (err) {
        await probe.end();
        throw new Error(`cannot reach Postgres at ${redactUrl(options.url)}: ${(err as Error).message}`, { cause: err });
      }
      return new Database('postgres', options, undefined, probe);
    }
    let dir: string | undefined;
    if (!options.inMemory) {
      dir = resolve(options.dataDir, 'pglite');
      mkdirSync(dir, { recursive: true });
    }
    return new Database('pglite', options, await PGliteSession.open(dir), undefined);
  }

  /**
   * Opens a DataSource on `schema`, creating the schema and running its pending
   * migrations under an advisory lock (replicas starting together migrate once).
   */
  async dataSource(options: SchemaOptions): Promise<DataSource> {
    const { schema } = options;
    if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name "${schema}"`);
    // No space: Postgres splits `-c` options on whitespace.
    const searchPath = `${schema},public`;
    const common = {
      type: 'postgres',
      schema,
      migrations: [...(options.migrations ?? [])] as DataSourceOptions['migrations'],
      migrationsTableName: 'migrations',
      entities: options.entities ?? [],
      synchronize: false,
      migrationsRun: false,
      logging: false,
    } as const;
    const dataSource =
      this.session !== undefined
        ? new DataSource({ ...common, driver: pgliteDriverFor(this.session, searchPath), poolSize: 1 })
        : new DataSource({
            ...common,
            url: this.options.url,
            poolSize: this.options.poolSize ?? 10,
            applicationName: `axon:${schema}`,
            extra: { options: `-c search_path=${searchPath}` },
          });
    await dataSource.initialize();
    try {
      await this.migrate(dataSource, schema);
    } catch (err) {
      await dataSource.destroy();
      throw err;
    }
    this.dataSources.push(dataSource);
    return dataSource;
  }

  private async migrate(dataSource: DataSource, schema: string): Promise<void> {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [`axon.migrations.${schema}`]);
      try {
        await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        const executor = new MigrationExecutor(dataSource, runner);
        executor.transaction = 'each';
        await executor.executePendingMigrations();
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`axon.migrations.${schema}`]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Readiness: a round trip to the database. Rejects once closed. */
  async ping(): Promise<void> {
    if (this.closed) throw new Error('database is closed');
    if (this.probe) await this.probe.query('SELECT 1');
    else if (this.session) await this.session.pg.query('SELECT 1');
  }

  /** Closes every DataSource, then the embedded instance (flushing it to disk). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ds of this.dataSources.splice(0)) {
      if (ds.isInitialized) await ds.destroy();
    }
    await this.probe?.end();
    await this.session?.close();
  }
}

/** A connection URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
