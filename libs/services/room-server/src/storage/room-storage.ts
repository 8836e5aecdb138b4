import type { DataSource, EntityManager } from '@axon/platform-database';
import { DirectoryRepository } from './directory.repository';
import { EventsRepository } from './events.repository';
import { InputResultsRepository } from './input-results.repository';
import { MembershipsRepository } from './memberships.repository';
import { OutboxRepository } from './outbox.repository';
import { RoomsRepository } from './rooms.repository';
import { StateRepository } from './state.repository';
import { TimelineRepository } from './timeline.repository';

/**
 * The room server's database (schema `room_server`, the same SQL on PGlite and Postgres):
 * its DataSource and one repository per concept. Repositories hold no connection: each
 * call names where it runs (the DataSource, or a transaction's manager from
 * `transaction`), so a unit of work composes them in one transaction.
 */
export class RoomStorage {
  readonly rooms = new RoomsRepository();
  readonly events = new EventsRepository();
  readonly state = new StateRepository();
  readonly memberships = new MembershipsRepository();
  readonly timeline = new TimelineRepository();
  readonly outbox = new OutboxRepository();
  readonly inputResults = new InputResultsRepository();
  readonly directory = new DirectoryRepository();

  constructor(readonly db: DataSource) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }
}
