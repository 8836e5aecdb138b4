import type { EventId } from '@axon/matrix-identifiers';
import type { EntityManager } from '@axon/platform-database';
import type { EventFields, EventRow } from './events.repository';
import type { InputResultRecord } from './input-results.repository';
import type { OutboxEntry } from './outbox.repository';
import { RequestSeenError, type RoomRow } from './rows';
import type { RoomStorage } from './room-storage';

/** One event to append, with everything the transaction writes for it. */
export interface AppendEvent extends EventFields {
  readonly prevEventIds: readonly EventId[];
  readonly authEventIds: readonly EventId[];
  /** For an `m.room.member` event: the membership it sets. */
  readonly membership: string | undefined;
  /** For an accepted `m.room.redaction` that applies: the event it redacts. */
  readonly redacts: EventId | undefined;
  /** The trace context its output continues (the input's consume span), `{}` without one. */
  readonly traceContext: Readonly<Record<string, string>>;
}

/** What an append changed, for the output message. */
export interface AppendResult {
  readonly event: AppendEvent;
  readonly nid: string;
  readonly roomSeq: number;
  readonly stateAdded: Array<[string, string, EventId]>;
  readonly stateRemoved: Array<[string, string, EventId]>;
}

/** The events to append to one room, on the head they were built on. */
export interface RoomAppendPlan {
  /** The head the events were built on (`head_seq` is the compare-and-set's expected value). */
  readonly room: RoomRow;
  /** The room's forward extremities at that head. */
  readonly extremities: readonly EventId[];
  readonly events: readonly AppendEvent[];
  /** The room is new: its row is created in this transaction (sequence 0, no state). */
  readonly create?: true;
}

/** Everything one transaction writes. */
export interface AppendBatch {
  readonly rooms: readonly RoomAppendPlan[];
  /** The outcome of every input of the batch, accepted or refused. */
  readonly results: readonly InputResultRecord[];
  /** The output message of an appended event. */
  readonly output: (room: RoomRow, appended: AppendResult) => OutboxEntry;
}

/**
 * Writes the output messages of an append in its transaction (the outbox, or the
 * in-process bus's log: `output/output-channel.ts`); returns what to run once the
 * transaction committed, if anything.
 */
export type OutputWriter = (tx: EntityManager, entries: readonly OutboxEntry[]) => Promise<(() => void) | void>;

/** A room after its appends. */
export interface CommittedRoom {
  readonly room: RoomRow;
  readonly extremities: readonly EventId[];
  readonly appended: readonly AppendResult[];
}

/** The room's forward extremities after `event`: it replaces its prev events. */
function advanceExtremities(extremities: readonly EventId[], event: AppendEvent): readonly EventId[] {
  return [...extremities.filter((id) => !event.prevEventIds.includes(id)), event.eventId];
}

/**
 * The room server's write: appends the events of one or more rooms (of one or more
 * batches), their output messages (the outbox) and the inputs' outcomes in ONE
 * transaction, fenced per room.
 *
 * Fencing: first, each room's head advances to the one after the append with
 * compare-and-set on the head the events were built on (`RoomsRepository.fence`), which
 * also locks the rows; a writer that lost a room to another replica gets
 * `StaleRoomHeadError` before writing anything, and the whole transaction rolls back.
 *
 * Statements: a batch of message events costs the same six statements whatever its
 * size or number of rooms (begin, fence, the events with their auth edges, outbox,
 * results, commit). A state event adds its own (state group, current state, membership,
 * the room's state group) and flushes the events before it, so stream positions follow
 * each room's order.
 */
export class AppendRepository {
  constructor(
    private readonly storage: RoomStorage,
    /** Default: the outbox, published by the relay. */
    private readonly writeOutputs: OutputWriter = (tx, entries) => storage.outbox.insert(tx, entries),
  ) {}

  async commit(batch: AppendBatch): Promise<CommittedRoom[]> {
    return (await this.commitAll([batch]))[0]!;
  }

  /**
   * Several batches (of different rooms: each writer's batch of its partition) in one
   * transaction, their statements shared; the committed rooms of each batch, in order.
   */
  async commitAll(batches: readonly AppendBatch[]): Promise<CommittedRoom[][]> {
    const { committed, afterCommit } = await this.storage.transaction((tx) => this.write(tx, batches));
    afterCommit?.();
    return committed;
  }

  private async write(tx: EntityManager, batches: readonly AppendBatch[]): Promise<{ committed: CommittedRoom[][]; afterCommit: (() => void) | void }> {
    const { rooms, events, state, memberships, inputResults } = this.storage;
    const plans = batches.flatMap((batch, index) => batch.rooms.map((plan) => ({ plan, batch: index })));
    for (const { plan } of plans) if (plan.create) await rooms.insert(tx, plan.room.room_id, plan.room.room_version);
    // Every room's new head is known before anything is written: fence first.
    const heads = plans.map(({ plan }) => ({
      roomId: plan.room.room_id,
      fromSeq: plan.room.head_seq,
      toSeq: plan.room.head_seq + plan.events.length,
      forwardExtremities: plan.events.reduce<readonly EventId[]>(advanceExtremities, plan.extremities),
    }));
    await rooms.fence(
      tx,
      heads.filter((head) => head.toSeq > head.fromSeq),
    );

    const nids = new Map<EventId, string>();
    let pending: EventRow[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      for (const [eventId, nid] of await events.insert(tx, pending)) nids.set(eventId, nid);
      pending = [];
    };
    const written: Array<{ plan: RoomAppendPlan; batch: number; stateGroup: string | null; results: AppendResult[] }> = [];
    for (const { plan, batch } of plans) {
      const roomId = plan.room.room_id;
      let seq = plan.room.head_seq;
      let stateGroup = plan.room.state_group;
      const results: AppendResult[] = [];
      for (const event of plan.events) {
        seq++;
        const row: EventRow = { ...event, roomId, roomSeq: seq, stateGroupBefore: stateGroup, stateGroupAfter: stateGroup };
        const stateAdded: Array<[string, string, EventId]> = [];
        const stateRemoved: Array<[string, string, EventId]> = [];
        if (event.stateKey === undefined) {
          pending.push(row);
        } else {
          // A state event's group holds its own nid: everything before it goes in first.
          await flush();
          const replaced = await state.currentEventId(tx, roomId, event.type, event.stateKey);
          if (replaced !== undefined) stateRemoved.push([event.type, event.stateKey, replaced]);
          stateAdded.push([event.type, event.stateKey, event.eventId]);
          const nid = (await events.insert(tx, [{ ...row, stateGroupAfter: null }])).get(event.eventId)!;
          nids.set(event.eventId, nid);
          stateGroup = await state.writeGroup(tx, roomId, stateGroup, event.type, event.stateKey, nid);
          await state.setCurrent(tx, roomId, event.type, event.stateKey, nid);
          if (event.membership !== undefined) await memberships.set(tx, roomId, event.stateKey, event.membership, nid);
          await events.setStateGroupAfter(tx, nid, stateGroup);
        }
        results.push({ event, nid: '', roomSeq: seq, stateAdded, stateRemoved });
      }
      written.push({ plan, batch, results, stateGroup });
    }
    await flush();

    const committed: CommittedRoom[][] = batches.map(() => []);
    const outputs: OutboxEntry[] = [];
    for (const [index, { plan, batch, results, stateGroup }] of written.entries()) {
      const appended = results.map((result) => ({ ...result, nid: nids.get(result.event.eventId)! }));
      for (const { event } of appended) if (event.redacts !== undefined) await events.markRedacted(tx, plan.room.room_id, event.redacts, event.eventId);
      const latestNid = appended.at(-1)?.nid ?? plan.room.latest_nid;
      const room: RoomRow = { ...plan.room, head_seq: heads[index]!.toSeq, state_group: stateGroup, latest_nid: latestNid };
      for (const result of appended) outputs.push(batches[batch]!.output(room, result));
      committed[batch]!.push({ room, extremities: heads[index]!.forwardExtremities, appended });
    }
    await rooms.setStateGroups(
      tx,
      written.filter((w) => w.stateGroup !== w.plan.room.state_group).map((w) => ({ roomId: w.plan.room.room_id, stateGroup: w.stateGroup })),
    );
    const records = batches.flatMap((batch) => batch.results);
    // Inputs are built without first asking whether they were handled before (nearly
    // never: a redelivery after a crash): a recorded outcome shows here and undoes it all.
    // Before the outputs: on the in-process bus they lock their partitions' offsets until
    // the commit, so they go last.
    if ((await inputResults.record(tx, records, Date.now())) < new Set(records.map((record) => record.requestId)).size) throw new RequestSeenError();
    const afterCommit = outputs.length === 0 ? undefined : await this.writeOutputs(tx, outputs);
    return { committed, afterCommit };
  }
}
