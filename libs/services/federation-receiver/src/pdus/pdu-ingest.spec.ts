import { PREV_EVENTS_UNKNOWN, type RemoteEventInput } from '@axon/contracts-kafka';
import type { JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import { createNativeEd25519Backend, generateSigningKey, type Ed25519Backend } from '@axon/matrix-signing';
import { knownKeysOf, SignedRoom, type SignedEvent, type TestSigner } from '@axon/testing';
import { inAuthOrder, PduIngest, type GapSource, type RoomInputs, type RoomReads } from './pdu-ingest';
import type { EventKeySource } from './received-pdu';

const BOB = '@bob:remote.test';
const ORIGIN = 'remote.test' as ServerName;
const quiet = { warn: () => undefined };

let backend: Ed25519Backend;
let remote: TestSigner;
let keys: EventKeySource;

beforeAll(async () => {
  backend = (await createNativeEd25519Backend())!;
  const key = generateSigningKey(backend, 'r1');
  if (!key.ok) throw new Error(key.error);
  remote = { serverName: 'remote.test', key: key.value, backend };
  keys = { keysOf: (wanted) => Promise.resolve(new Map([...wanted.keys()].filter((s) => s === ORIGIN).map((s) => [s, knownKeysOf(remote)]))) };
});

/**
 * The room server as the receiver sees it: it knows some events; a PDU whose prev events
 * it does not all know is refused as a gap unless it comes with the state before it.
 */
class StandInRoomServer implements RoomInputs, RoomReads {
  readonly known = new Set<string>();
  readonly submitted: RemoteEventInput[] = [];

  constructor(private readonly room: SignedRoom) {}

  submit(input: RemoteEventInput): Promise<unknown> {
    this.submitted.push(input);
    const pdu = JSON.parse(input.pdu_json) as { prev_events: unknown[] };
    const prevs = pdu.prev_events.map((ref) => (Array.isArray(ref) ? ref[0] : ref) as string);
    if (input.state_before === undefined && !prevs.every((id) => this.known.has(id))) return Promise.reject(new MatrixError('M_NOT_FOUND', `${PREV_EVENTS_UNKNOWN}: gap`, 404));
    for (const outlier of input.outliers ?? []) this.known.add(this.room.events.find((e) => e.json === outlier)!.eventId);
    this.known.add(this.room.events.find((e) => e.json === input.pdu_json)!.eventId);
    return Promise.resolve({});
  }

  latestEvents(): Promise<EventId[]> {
    return Promise.resolve([this.room.events.filter((e) => this.known.has(e.eventId)).at(-1)!.eventId]);
  }

  knownEvents(ids: readonly EventId[]): Promise<Set<EventId>> {
    return Promise.resolve(new Set(ids.filter((id) => this.known.has(id))));
  }
}

/** The sending server's side: answers from its room, or fails as told. */
function peer(room: SignedRoom, fail: { missing?: boolean } = {}): GapSource & { asked: string[] } {
  const asked: string[] = [];
  const byId = new Map(room.events.map((e) => [e.eventId as string, e]));
  return {
    asked,
    missingEvents(_origin, _roomId, { earliest, latest, limit }) {
      asked.push('get_missing_events');
      if (fail.missing) return Promise.reject(new Error('peer down'));
      // Walk back from latest to earliest, as the peer would.
      const out: JsonValue[] = [];
      let at = byId.get(latest[0]!)!;
      for (;;) {
        const prev = (at.pdu['prev_events'] as unknown[]).map((ref) => (Array.isArray(ref) ? ref[0] : ref) as string)[0];
        if (prev === undefined || earliest.includes(prev as EventId) || out.length >= limit) break;
        at = byId.get(prev)!;
        out.push(at.pdu);
      }
      return Promise.resolve(out);
    },
    stateIds(_origin, _roomId, eventId) {
      asked.push('state_ids');
      const index = room.events.findIndex((e) => e.eventId === eventId);
      const before = new Map<string, SignedEvent>();
      for (const e of room.events.slice(0, index)) if (typeof e.pdu['state_key'] === 'string') before.set(`${e.pdu['type'] as string}|${e.pdu['state_key']}`, e);
      return Promise.resolve({ pduIds: [...before.values()].map((e) => e.eventId), authChainIds: [] });
    },
    event(_origin, eventId) {
      asked.push(`event ${eventId}`);
      return Promise.resolve(byId.get(eventId)?.pdu);
    },
  };
}

describe('taking a received PDU into its room', () => {
  function room(): SignedRoom {
    const r = SignedRoom.create('10', BOB, [remote]);
    for (let i = 0; i < 5; i++) r.add({ type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: `m${i}` } });
    return r;
  }

  it('submits a PDU whose prev events are known, and nothing else', async () => {
    const r = room();
    const server = new StandInRoomServer(r);
    for (const e of r.events.slice(0, -1)) server.known.add(e.eventId);
    const source = peer(r);
    const ingest = new PduIngest(server, server, source, keys, backend, quiet);
    const last = r.events.at(-1)!;
    expect(await ingest.ingest(ORIGIN, r.roomId as RoomId, r.rules, last.pdu)).toEqual({ eventId: last.eventId, outcome: { ok: true } });
    expect(server.submitted.map((i) => i.pdu_json)).toEqual([last.json]);
    expect(source.asked).toEqual([]);
  });

  it('fills a gap with get_missing_events, oldest first, then takes the PDU', async () => {
    const r = room();
    const server = new StandInRoomServer(r);
    for (const e of r.events.slice(0, -3)) server.known.add(e.eventId);
    const source = peer(r);
    const ingest = new PduIngest(server, server, source, keys, backend, quiet);
    const last = r.events.at(-1)!;
    expect((await ingest.ingest(ORIGIN, r.roomId as RoomId, r.rules, last.pdu)).outcome).toEqual({ ok: true });
    const order = server.submitted.map((i) => r.events.findIndex((e) => e.json === i.pdu_json));
    const n = r.events.length;
    // The PDU refused as a gap, the two missing events in order, then the PDU again.
    expect(order).toEqual([n - 1, n - 3, n - 2, n - 1]);
    expect(source.asked).toEqual(['get_missing_events']);
  });

  it('when get_missing_events fails, takes the PDU with the state before it, its unknown state events as outliers in auth order', async () => {
    const r = room();
    const server = new StandInRoomServer(r);
    server.known.add(r.events[0]!.eventId);
    const source = peer(r, { missing: true });
    const ingest = new PduIngest(server, server, source, keys, backend, quiet);
    const last = r.events.at(-1)!;
    expect((await ingest.ingest(ORIGIN, r.roomId as RoomId, r.rules, last.pdu)).outcome).toEqual({ ok: true });
    const final = server.submitted.at(-1)!;
    expect(final.pdu_json).toBe(last.json);
    expect(new Set(final.state_before)).toEqual(new Set(r.stateEvents().map((e) => e.eventId)));
    // Every state event but the create (known) came as an outlier, each after its auth events.
    const outliers = (final.outliers ?? []).map((json) => r.events.find((e) => e.json === json)!);
    expect(outliers.map((e) => e.eventId)).toEqual(r.stateEvents().slice(1).map((e) => e.eventId));
    expect(source.asked[0]).toBe('get_missing_events');
    expect(source.asked[1]).toBe('state_ids');
  });

  it('answers a PDU that fails the receiver\'s checks with its reason, submitting nothing', async () => {
    const r = room();
    const server = new StandInRoomServer(r);
    const ingest = new PduIngest(server, server, peer(r), keys, backend, quiet);
    const forged = JSON.parse(r.events.at(-1)!.json) as Record<string, unknown>;
    forged['signatures'] = { 'remote.test': { [remote.key.keyId]: 'A'.repeat(86) } };
    const result = await ingest.ingest(ORIGIN, r.roomId as RoomId, r.rules, forged as never);
    expect(result.outcome.ok).toBe(false);
    expect(server.submitted).toEqual([]);
    const other = SignedRoom.create('10', BOB, [remote]);
    const elsewhere = await ingest.ingest(ORIGIN, r.roomId as RoomId, r.rules, other.events[1]!.pdu);
    expect(elsewhere.outcome).toEqual({ ok: false, error: `the event is not in room ${r.roomId}` });
  });

  it('orders events so each comes after its auth events', () => {
    const r = room();
    const shuffled = [...r.stateEvents()].reverse().map((e) => ({ eventId: e.eventId, pdu: e.pdu }));
    const ordered = inAuthOrder(shuffled).map((e) => e.eventId);
    for (const [index, id] of ordered.entries()) {
      const auth = (r.events.find((e) => e.eventId === id)!.pdu['auth_events'] as string[]).filter((a) => ordered.includes(a as EventId));
      for (const a of auth) expect(ordered.indexOf(a as EventId)).toBeLessThan(index);
    }
  });
});
