import type { RoomOutput } from '@axon/contracts-kafka';
import { formatStateKey, parseStateKey, type StateKey } from '@axon/matrix-event-auth';
import type { EventId } from '@axon/matrix-identifiers';
import type { EntityManager } from '@axon/platform-database';
import type { EventFields } from './events.repository';
import type { InputResultRecord } from './input-results.repository';
import type { OutputWriter } from './append.repository';
import { RequestSeenError, type EventStatus, type RoomRow } from './rows';
import type { RoomStorage } from './room-storage';

/** An event to store as the plan says, with its auth events (the `event_auth` edges). */
export interface RemoteEventRow extends EventFields {
  readonly authEventIds: readonly EventId[];
  readonly status?: EventStatus;
  readonly rejection?: string;
}

/**
 * What storing one received PDU writes, decided by `RemoteEventIngest`: its outliers,
 * the event itself (accepted into the timeline, soft-failed or rejected) with the state
 * before it, and for an accepted event the room's new head and current state.
 */
export interface RemoteAppendPlan {
  /** The head the checks ran on (`head_seq` is the fence's expected value). */
  readonly room: RoomRow;
  /** The room is new here (joined through another server): its row is made in this transaction. */
  readonly create?: true;
  /** Events stored outside the timeline, in order (auth events before the events they authorise). */
  readonly outliers: readonly RemoteEventRow[];
  /** The event; absent when only outliers are stored. */
  readonly event?: RemoteEventRow & {
    /** The state before it: an existing state group, or the entries of a new one. */
    readonly stateBefore: { readonly group: string | null } | { readonly entries: ReadonlyMap<StateKey, EventId> };
  };
  /** For an accepted event: the room's forward extremities and current state after it. */
  readonly accepted?: {
    readonly extremities: readonly EventId[];
    /** The current state after the event, when it is not the state after the event itself (the DAG forks). */
    readonly currentState?: ReadonlyMap<StateKey, EventId>;
    /** For an `m.room.redaction` that applies: the event it redacts. */
    readonly redacts?: EventId;
    /** The server it came from, when this server sends it on to the room's others (`RoomOutput.relayed_for`). */
    readonly relayedFor?: string;
    readonly traceContext: Readonly<Record<string, string>>;
  };
  readonly result: InputResultRecord;
}

/** The accepted event's place: its sequence and stream position, and the output written. */
export interface RemoteAppendResult {
  readonly room: RoomRow;
  readonly output?: RoomOutput;
}

interface Entry {
  readonly type: string;
  readonly state_key: string;
  readonly nid: string | null;
}

function entriesOf(map: ReadonlyMap<StateKey, string>): Array<Entry & { nid: string }> {
  return [...map].map(([key, nid]) => {
    const [type, stateKey] = parseStateKey(key);
    return { type, state_key: stateKey, nid };
  });
}

/** The changes that turn `from` into `to` (a NULL nid removes a key). */
function changesBetween(from: ReadonlyMap<StateKey, string>, to: ReadonlyMap<StateKey, string>): Entry[] {
  const changes = new Map<StateKey, string | null>();
  for (const [key, nid] of to) if (from.get(key) !== nid) changes.set(key, nid);
  for (const key of from.keys()) if (!to.has(key)) changes.set(key, null);
  return [...changes].map(([key, nid]) => {
    const [type, stateKey] = parseStateKey(key);
    return { type, state_key: stateKey, nid };
  });
}

/**
 * The room server's write of a received PDU: one transaction, fenced on the room's head
 * when the event enters the timeline (as a local append is: `AppendRepository`), that
 * stores the outliers, the event with the state groups before and after it, and for an
 * accepted event its place in the timeline, the room's forward extremities, the current
 * state (with the memberships), the output message and the input's outcome.
 *
 * State groups: the state before the event is the group of its single prev event when it
 * has one (no write), else a new group (a resolved fork, or the state the sender gave for
 * a gap). The current state after a fork is written as a delta on the event's group.
 */
export class RemoteAppendRepository {
  constructor(
    private readonly storage: RoomStorage,
    private readonly writeOutputs: OutputWriter = (tx, entries) => storage.outbox.insert(tx, entries),
  ) {}

  async commit(plan: RemoteAppendPlan): Promise<RemoteAppendResult> {
    const { result, afterCommit } = await this.storage.transaction((tx) => this.write(tx, plan));
    afterCommit?.();
    return result;
  }

  private async write(tx: EntityManager, plan: RemoteAppendPlan): Promise<{ result: RemoteAppendResult; afterCommit: (() => void) | void }> {
    const { rooms, events, state, memberships, inputResults } = this.storage;
    const roomId = plan.room.room_id;
    const accepted = plan.accepted;
    const seq = plan.room.head_seq + 1;
    if (plan.create) await rooms.insert(tx, roomId, plan.room.room_version);
    if (accepted !== undefined) await rooms.fence(tx, [{ roomId, fromSeq: plan.room.head_seq, toSeq: seq, forwardExtremities: accepted.extremities }]);
    if (plan.outliers.length > 0) {
      await events.insert(
        tx,
        plan.outliers.map((row) => ({ ...row, roomId, roomSeq: null, status: row.status ?? 'outlier', stateGroupBefore: null, stateGroupAfter: null })),
      );
    }
    let room = plan.room;
    let output: RoomOutput | undefined;
    let afterCommit: (() => void) | void = undefined;
    const event = plan.event;
    if (event !== undefined) {
      // The state before it, as a group.
      let before: string | null;
      let beforeEntries: Map<StateKey, string> | undefined;
      if ('group' in event.stateBefore) before = event.stateBefore.group;
      else {
        const ids = event.stateBefore.entries;
        const nids = await events.nidsOf(tx, [...ids.values()]);
        beforeEntries = new Map([...ids].flatMap(([key, id]) => (nids.has(id) ? [[key, nids.get(id)!] as const] : [])));
        before = await state.writeGroupOf(tx, roomId, null, entriesOf(beforeEntries), []);
      }
      const rejected = event.status === 'rejected';
      const nid = (
        await events.insert(tx, [{ ...event, roomId, roomSeq: accepted === undefined ? null : seq, stateGroupBefore: before, stateGroupAfter: event.stateKey === undefined || rejected ? before : null }])
      ).get(event.eventId)!;
      let after = before;
      if (event.stateKey !== undefined && !rejected) {
        const change = { type: event.type, state_key: event.stateKey, nid };
        beforeEntries ??= before === null ? new Map() : new Map((await state.groupEntries(tx, before)).map((e) => [formatStateKey(e.type, e.state_key), e.nid]));
        const afterEntries = new Map(beforeEntries).set(formatStateKey(event.type, event.stateKey), nid);
        after = await state.writeGroupOf(tx, roomId, before, entriesOf(afterEntries), [change]);
        await events.setStateGroupAfter(tx, nid, after);
      }
      if (accepted !== undefined) {
        // An event on the room's head that changes no state (a message, the common case)
        // leaves the current state as it is: neither state is read.
        const unchanged = accepted.currentState === undefined && after !== null && after === plan.room.state_group;
        const oldCurrent = unchanged ? new Map<StateKey, { id: string; nid: string }>() : new Map((await state.currentEntries(tx, roomId)).map((e) => [formatStateKey(e.type, e.state_key), { id: e.event_id, nid: e.nid }]));
        let newCurrent: Map<StateKey, string>;
        let currentGroup = after;
        if (unchanged) {
          newCurrent = new Map();
        } else if (accepted.currentState === undefined) {
          newCurrent = after === null ? new Map() : new Map((await state.groupEntries(tx, after)).map((e) => [formatStateKey(e.type, e.state_key), e.nid]));
        } else {
          const nids = await events.nidsOf(tx, [...accepted.currentState.values()]);
          newCurrent = new Map([...accepted.currentState].flatMap(([key, id]) => (nids.has(id) ? [[key, nids.get(id)!] as const] : [])));
          const afterEntries = after === null ? new Map<StateKey, string>() : new Map((await state.groupEntries(tx, after)).map((e) => [formatStateKey(e.type, e.state_key), e.nid]));
          currentGroup = await state.writeGroupOf(tx, roomId, after, entriesOf(newCurrent), changesBetween(afterEntries, newCurrent));
        }
        const oldNids = new Map([...oldCurrent].map(([key, value]) => [key, value.nid]));
        const changes = changesBetween(oldNids, newCurrent);
        await state.applyCurrent(tx, roomId, changes);
        const idsOfNids = new Map<string, EventId>([[nid, event.eventId]]);
        const unknownNids = changes.flatMap((c) => (c.nid === null || c.nid === nid ? [] : [c.nid]));
        if (unknownNids.length > 0) for (const row of await events.idsOfNids(tx, unknownNids)) idsOfNids.set(row.nid, row.event_id);
        const stateAdded: Array<[string, string, string]> = [];
        const stateRemoved: Array<[string, string, string]> = [];
        for (const change of changes) {
          const old = oldCurrent.get(formatStateKey(change.type, change.state_key));
          if (old !== undefined) stateRemoved.push([change.type, change.state_key, old.id]);
          if (change.nid !== null) stateAdded.push([change.type, change.state_key, idsOfNids.get(change.nid)!]);
          if (change.type === 'm.room.member') {
            if (change.nid === null) await memberships.remove(tx, roomId, change.state_key);
            else await memberships.setFromEvent(tx, roomId, change.state_key, change.nid);
          }
        }
        if (accepted.redacts !== undefined) await events.markRedacted(tx, roomId, accepted.redacts, event.eventId);
        // State that came without ever being an output (outliers) goes out with this one.
        const outlierState = await events.outsideTimeline(tx, stateAdded.map(([, , id]) => id as EventId).filter((id) => id !== event.eventId));
        room = { ...plan.room, head_seq: seq, state_group: currentGroup, latest_nid: nid };
        if (currentGroup !== plan.room.state_group) await rooms.setStateGroups(tx, [{ roomId, stateGroup: currentGroup }]);
        output = {
          room_id: roomId,
          room_version: plan.room.room_version,
          event_id: event.eventId,
          pdu_json: event.pduJson,
          stream_ordering: nid,
          room_seq: seq,
          prev_room_seq: seq - 1,
          state_added: stateAdded,
          state_removed: stateRemoved,
          ...(accepted.redacts === undefined ? {} : { redacted_event_id: accepted.redacts }),
          ...(accepted.relayedFor === undefined ? {} : { relayed_for: accepted.relayedFor }),
          ...(outlierState.length === 0 ? {} : { state_events: outlierState.map((e) => ({ event_id: e.event_id, pdu_json: e.pdu_json })) }),
        };
      }
    }
    // A PDU handled meanwhile (received again, from another server): its outcome stands.
    if ((await inputResults.record(tx, [plan.result], Date.now())) === 0) throw new RequestSeenError();
    if (output !== undefined) afterCommit = await this.writeOutputs(tx, [{ roomId, output, traceContext: accepted?.traceContext ?? {} }]);
    return { result: { room, ...(output === undefined ? {} : { output }) }, afterCommit };
  }
}
