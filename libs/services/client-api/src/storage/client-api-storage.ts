import type { DataSource, EntityManager } from '@axon/platform-database';

/** Something SQL runs on: the DataSource, or a transaction's EntityManager. */
export interface Queryable {
  query<T = unknown>(sql: string, parameters?: unknown[]): Promise<T>;
}

/*
 * Identifiers in these tables are read back branded, unchecked (the row type a query is
 * given is that cast): client-api writes only identifiers it parsed at its edge, made
 * itself (user and device IDs at registration and login) or got from the room server.
 */

/**
 * The client API's one DataSource (schema `client_api`): not a repository but what they
 * share (as sync's `SyncStorage`). Repositories run their SQL on it, or on the manager of
 * a transaction a service opens with {@link transaction}, so that several writes commit
 * together.
 */
export class ClientApiStorage {
  constructor(private readonly dataSource: DataSource) {}

  get db(): Queryable {
    return this.dataSource;
  }

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
