import type { ServerName } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';
import { destinationShard } from '../delivery/destination-shard';
import type { DeliveryDirectory, DeliveryQueue, DestinationState, DueDestination, EduToQueue, PduToQueue, QueueWriter, QueuedBatch } from '../delivery/ports';
import { DestinationsRepository } from './destinations.repository';
import { EduQueueRepository } from './edu-queue.repository';
import { PduQueueRepository, type QueueDepths } from './pdu-queue.repository';
import { ShardLeasesRepository } from './shard-leases.repository';

/**
 * The federation sender's database (schema `federation_sender`): one repository per
 * concept, holding no connection (each call names where it runs), composed here into
 * the units of work the consumers (`QueueWriter`) and delivery (`DeliveryQueue`,
 * `DeliveryDirectory`) need, each one statement or one transaction.
 */
export class SenderStorage implements QueueWriter, DeliveryQueue, DeliveryDirectory {
  readonly pdus = new PduQueueRepository();
  readonly edus = new EduQueueRepository();
  readonly destinations = new DestinationsRepository();
  readonly leases = new ShardLeasesRepository();

  constructor(
    readonly db: DataSource,
    /** `federation.sender.max_queued_pdus_per_room`. */
    private readonly maxQueuedPdusPerRoom: number,
  ) {}

  async enqueue(rows: { readonly pdus?: readonly PduToQueue[]; readonly edus?: readonly EduToQueue[] }): Promise<{ readonly added: number; readonly dropped: number }> {
    const pdus = rows.pdus ?? [];
    const edus = rows.edus ?? [];
    if (pdus.length === 0 && edus.length === 0) return { added: 0, dropped: 0 };
    const destinations = [...new Set<ServerName>([...pdus, ...edus].map((row) => row.destination))].map((destination) => ({ destination, shard: destinationShard(destination) }));
    return this.db.transaction(async (tx) => {
      await this.destinations.ensure(tx, destinations);
      const queued = await this.pdus.enqueue(tx, pdus, this.maxQueuedPdusPerRoom);
      const eduRows = await this.edus.enqueue(tx, edus);
      return { added: queued.added + eduRows, dropped: queued.dropped };
    });
  }

  async peek(destination: ServerName, pduLimit: number, eduLimit: number): Promise<QueuedBatch> {
    const [pdus, edus] = [await this.pdus.peek(this.db, destination, pduLimit), await this.edus.peek(this.db, destination, eduLimit)];
    return { pdus, edus };
  }

  state(destination: ServerName): Promise<DestinationState> {
    return this.destinations.state(this.db, destination);
  }

  async remove(destination: ServerName, rows: { readonly pdus: readonly string[]; readonly edus: readonly string[] }, answered: boolean): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.pdus.delete(tx, destination, rows.pdus);
      await this.edus.delete(tx, destination, rows.edus);
      if (answered) await this.destinations.recordSuccess(tx, destination);
    });
  }

  recordFailure(destination: ServerName, failures: number, retryAt: number): Promise<void> {
    return this.destinations.recordFailure(this.db, destination, failures, retryAt);
  }

  due(now: number, limit: number): Promise<DueDestination[]> {
    return this.destinations.due(this.db, now, limit);
  }

  acquireLeases(holder: string, shards: readonly number[], now: number, ttlMs: number): Promise<number[]> {
    return this.leases.acquire(this.db, holder, shards, now, ttlMs);
  }

  releaseLeases(holder: string, shards: readonly number[]): Promise<void> {
    return this.leases.release(this.db, holder, shards);
  }

  async depths(limit: number): Promise<{ readonly pdus: QueueDepths; readonly edus: QueueDepths }> {
    return { pdus: await this.pdus.depths(this.db, limit), edus: await this.edus.depths(this.db, limit) };
  }
}
