import type { ServerName } from '@axon/matrix-identifiers';
import { destinationShard } from '../delivery/destination-shard';
import type { DeliveryDirectory, DeliveryQueue, DestinationState, DueDestination, EduToQueue, PduToQueue, QueuedBatch, QueuedEdu, QueuedPdu } from '../delivery/ports';

/**
 * The federation sender's queues, backoff and leases in memory, for the delivery unit
 * tests: what `SenderStorage` does in SQL (its repository tests run that on PGlite),
 * except catch-up. Positions come from one counter, as from the shared sequence.
 */
export class InMemorySenderStore implements DeliveryQueue, DeliveryDirectory {
  private position = 0n;
  readonly pdus = new Map<ServerName, QueuedPdu[]>();
  readonly edus = new Map<ServerName, QueuedEdu[]>();
  readonly states = new Map<ServerName, DestinationState>();
  readonly leases = new Map<number, { holder: string; expiresAt: number }>();

  addPdus(rows: readonly PduToQueue[]): void {
    for (const row of rows) {
      const queue = this.pdus.get(row.destination) ?? [];
      queue.push({ position: String(++this.position), roomId: row.roomId, eventId: row.eventId, pduJson: row.pduJson });
      this.pdus.set(row.destination, queue);
    }
  }

  addEdus(rows: readonly EduToQueue[]): void {
    for (const row of rows) {
      const queue = this.edus.get(row.destination) ?? [];
      queue.push({ position: String(++this.position), eduType: row.eduType, eduJson: row.eduJson });
      this.edus.set(row.destination, queue);
    }
  }

  async peek(destination: ServerName, pduLimit: number, eduLimit: number): Promise<QueuedBatch> {
    return { pdus: (this.pdus.get(destination) ?? []).slice(0, pduLimit), edus: (this.edus.get(destination) ?? []).slice(0, eduLimit) };
  }

  async state(destination: ServerName): Promise<DestinationState> {
    return this.states.get(destination) ?? { failures: 0, retryAt: 0 };
  }

  async remove(destination: ServerName, rows: { readonly pdus: readonly string[]; readonly edus: readonly string[] }, answered: boolean): Promise<void> {
    this.pdus.set(destination, (this.pdus.get(destination) ?? []).filter((row) => !rows.pdus.includes(row.position)));
    this.edus.set(destination, (this.edus.get(destination) ?? []).filter((row) => !rows.edus.includes(row.position)));
    if (answered) this.states.set(destination, { failures: 0, retryAt: 0 });
  }

  async recordFailure(destination: ServerName, failures: number, retryAt: number): Promise<void> {
    this.states.set(destination, { failures, retryAt });
  }

  async due(now: number, limit: number): Promise<DueDestination[]> {
    const destinations = new Set([...this.pdus.keys(), ...this.edus.keys()]);
    return [...destinations]
      .filter((d) => (this.pdus.get(d)?.length ?? 0) + (this.edus.get(d)?.length ?? 0) > 0 && (this.states.get(d)?.retryAt ?? 0) <= now)
      .slice(0, limit)
      .map((destination) => ({ destination, shard: destinationShard(destination) }));
  }

  async acquireLeases(holder: string, shards: readonly number[], now: number, ttlMs: number): Promise<number[]> {
    const held: number[] = [];
    for (const shard of [...new Set(shards)].sort((a, b) => a - b)) {
      const lease = this.leases.get(shard);
      if (lease !== undefined && lease.holder !== holder && lease.expiresAt >= now) continue;
      this.leases.set(shard, { holder, expiresAt: now + ttlMs });
      held.push(shard);
    }
    return held;
  }

  async releaseLeases(holder: string, shards: readonly number[]): Promise<void> {
    for (const shard of shards) {
      const lease = this.leases.get(shard);
      if (lease?.holder === holder) lease.expiresAt = 0;
    }
  }

  queued(destination: ServerName): { pdus: number; edus: number } {
    return { pdus: this.pdus.get(destination)?.length ?? 0, edus: this.edus.get(destination)?.length ?? 0 };
  }
}
