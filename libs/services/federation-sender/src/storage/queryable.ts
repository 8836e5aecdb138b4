import type { DataSource, EntityManager } from '@axon/platform-database';

/** Where a repository query runs: the DataSource, or the manager of an open transaction. */
export type Queryable = Pick<DataSource | EntityManager, 'query'>;

/*
 * Destinations, rooms and event IDs read from this schema's tables are branded as read,
 * unchecked: the `as` on a query's rows is that cast. Every one was parsed (or built from
 * a parsed ID) by the consumers before it was enqueued.
 */
