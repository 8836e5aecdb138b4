import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import { FederationDestinationRefusedError, FederationNetworkError, FederationRequestError } from '@axon/platform-federation';
import { InMemorySenderStore } from '../testing/in-memory-sender-store';
import { backoffDelay } from './backoff';
import { TransactionSender, type TransactionClient } from './transaction-sender';

const ORIGIN = 'origin.test' as ServerName;
const PEER = 'peer.test' as ServerName;
const ROOM = '!room:origin.test' as RoomId;
const BACKOFF = { baseMs: 2000, maxMs: 60_000 };

interface Sent {
  readonly destination: string;
  readonly path: string;
  readonly body: JsonObject;
}

/** A client that records each PUT and answers with the next scripted answer (an error is thrown); 200 `{}` once the script is done. */
class ScriptedClient implements TransactionClient {
  readonly sent: Sent[] = [];
  constructor(private readonly script: Array<JsonValue | Error> = []) {}

  async put(destination: string, path: string, body: JsonObject): Promise<JsonValue> {
    this.sent.push({ destination, path, body });
    const next = this.script.shift() ?? {};
    if (next instanceof Error) throw next;
    return next;
  }
}

function pdu(n: number): { destination: ServerName; roomId: RoomId; eventId: EventId; pduJson: string } {
  const eventId = `$event${n}` as EventId;
  return { destination: PEER, roomId: ROOM, eventId, pduJson: JSON.stringify({ event_id: eventId, type: 'm.room.message', depth: n, content: { body: `${n}` } }) };
}

function edu(n: number): { destination: ServerName; eduType: string; eduJson: string } {
  return { destination: PEER, eduType: 'm.typing', eduJson: JSON.stringify({ edu_type: 'm.typing', content: { room_id: ROOM, user_id: `@u${n}:origin.test`, typing: true } }) };
}

function setup(script: Array<JsonValue | Error> = [], now = 1_000_000, random = () => 0.5) {
  const store = new InMemorySenderStore();
  const client = new ScriptedClient(script);
  const warnings: Array<Record<string, unknown>> = [];
  const logger = { info: () => undefined, warn: (obj: Record<string, unknown>) => void warnings.push(obj) };
  const clock = { now };
  const sender = new TransactionSender(store, client, { origin: ORIGIN, backoff: BACKOFF, logger, now: () => clock.now, random });
  return { store, client, sender, warnings, clock };
}

const txnIdOf = (sent: Sent): string => decodeURIComponent(sent.path.slice('/_matrix/federation/v1/send/'.length));

describe('TransactionSender', () => {
  it('sends at most 50 PDUs and 100 EDUs per transaction, oldest first, until the queues are empty', async () => {
    const { store, client, sender } = setup();
    store.addPdus(Array.from({ length: 120 }, (_, i) => pdu(i)));
    store.addEdus(Array.from({ length: 230 }, (_, i) => edu(i)));
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await sender.sendNext(PEER)).kind);
    expect(outcomes).toEqual(['sent', 'sent', 'sent', 'idle']);
    expect(client.sent.map((s) => [(s.body['pdus'] as unknown[]).length, (s.body['edus'] as unknown[]).length])).toEqual([
      [50, 100],
      [50, 100],
      [20, 30],
    ]);
    expect((client.sent[0]!.body['pdus'] as Array<{ depth: number }>).map((p) => p.depth)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(client.sent.map(txnIdOf)).size).toBe(3);
    expect(store.queued(PEER)).toEqual({ pdus: 0, edus: 0 });
  });

  it('carries EDUs queued after a PDU backlog in the very next transaction', async () => {
    const { store, client, sender } = setup();
    store.addPdus(Array.from({ length: 500 }, (_, i) => pdu(i)));
    store.addEdus([edu(1)]);
    await sender.sendNext(PEER);
    expect(client.sent[0]!.body['edus']).toEqual([{ edu_type: 'm.typing', content: { room_id: ROOM, user_id: '@u1:origin.test', typing: true } }]);
    expect(client.sent[0]!.body['pdus']).toHaveLength(50);
  });

  it('sends the transaction body the spec describes: origin, origin_server_ts, PDUs as JSON objects (big integers exact), EDUs', async () => {
    const { store, client, sender } = setup([], 5_000_000);
    store.addPdus([{ ...pdu(1), pduJson: '{"depth":9007199254740993,"event_id":"$big"}' }]);
    store.addEdus([
      {
        destination: PEER,
        eduType: 'm.presence',
        eduJson: JSON.stringify({ edu_type: 'm.presence', content: { push: [{ user_id: '@a:origin.test', presence: 'online', currently_active: true, last_active_ts: 4_990_000 }] } }),
      },
    ]);
    await sender.sendNext(PEER);
    const { destination, path, body } = client.sent[0]!;
    expect(destination).toBe(PEER);
    expect(path).toMatch(/^\/_matrix\/federation\/v1\/send\/[^/]+$/);
    expect(body).toEqual({
      origin: ORIGIN,
      origin_server_ts: 5_000_000,
      pdus: [{ depth: 9007199254740993n, event_id: '$big' }],
      // "ago" as of sending, not of queueing.
      edus: [{ edu_type: 'm.presence', content: { push: [{ user_id: '@a:origin.test', presence: 'online', currently_active: true, last_active_ago: 10_000 }] } }],
    });
  });

  it('sends the same transaction ID again after a failure, and a new one for the next rows', async () => {
    const { store, client, sender, clock } = setup([new FederationNetworkError(PEER, 'connect', 'ECONNREFUSED'), new FederationRequestError(PEER, 502, undefined, undefined, undefined)]);
    store.addPdus([pdu(1), pdu(2)]);
    store.addEdus([edu(1)]);
    expect((await sender.sendNext(PEER)).kind).toBe('failed');
    clock.now += 10_000;
    expect((await sender.sendNext(PEER)).kind).toBe('failed');
    clock.now += 10_000;
    expect((await sender.sendNext(PEER)).kind).toBe('sent');
    expect(client.sent.map(txnIdOf)).toEqual([txnIdOf(client.sent[0]!), txnIdOf(client.sent[0]!), txnIdOf(client.sent[0]!)]);
    expect(txnIdOf(client.sent[0]!)).toMatch(/^1-3-/);
    store.addPdus([pdu(3)]);
    await sender.sendNext(PEER);
    expect(txnIdOf(client.sent[3]!)).not.toBe(txnIdOf(client.sent[0]!));
  });

  it('gives two different sets of rows between the same first and last positions different IDs', async () => {
    const a = setup();
    a.store.addPdus([pdu(1), pdu(2), pdu(3)]);
    await a.store.remove(PEER, { pdus: ['2'], edus: [] }, false);
    await a.sender.sendNext(PEER);
    const b = setup();
    b.store.addPdus([pdu(1), pdu(2), pdu(3)]);
    await b.sender.sendNext(PEER);
    expect(txnIdOf(a.client.sent[0]!)).toMatch(/^1-3-/);
    expect(txnIdOf(b.client.sent[0]!)).toMatch(/^1-3-/);
    expect(txnIdOf(a.client.sent[0]!)).not.toBe(txnIdOf(b.client.sent[0]!));
  });

  it('backs off exponentially after each failure in a row, with the jitter drawn, up to the cap; a success resets it', async () => {
    const failures = Array.from({ length: 8 }, () => new FederationRequestError(PEER, 500, 'M_UNKNOWN', 'oops', undefined));
    const { store, sender, clock } = setup(failures, 1_000_000, () => 0.5);
    store.addPdus([pdu(1)]);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const outcome = await sender.sendNext(PEER);
      if (outcome.kind !== 'failed') throw new Error(`expected a failure, got ${outcome.kind}`);
      delays.push(outcome.retryAt - clock.now);
      expect(await store.state(PEER)).toEqual({ failures: i + 1, retryAt: outcome.retryAt });
      clock.now = outcome.retryAt;
    }
    // 2 s doubling, three quarters of it with random 0.5, capped at 60 s.
    expect(delays).toEqual([1500, 3000, 6000, 12_000, 24_000, 45_000, 45_000, 45_000]);
    expect((await sender.sendNext(PEER)).kind).toBe('sent');
    expect(await store.state(PEER)).toEqual({ failures: 0, retryAt: 0 });
  });

  it('draws each wait between half and all of the exponential ceiling, never above the maximum', () => {
    expect([0, 0.25, 0.999999].map((r) => backoffDelay(3, BACKOFF, () => r))).toEqual([4000, 5000, 8000]);
    expect(backoffDelay(1, BACKOFF, () => 0)).toBe(1000);
    for (const failures of [6, 7, 20, 100, 5000]) {
      expect(backoffDelay(failures, BACKOFF, () => 0)).toBe(30_000);
      expect(backoffDelay(failures, BACKOFF, () => 0.999999)).toBe(60_000);
    }
    const draws = new Set(Array.from({ length: 50 }, () => backoffDelay(4, BACKOFF)));
    expect(draws.size).toBeGreaterThan(1);
    for (const d of draws) expect(d).toBeGreaterThanOrEqual(8000);
    for (const d of draws) expect(d).toBeLessThanOrEqual(16_000);
  });

  it('waits at least the retry_after_ms of a 429', async () => {
    const { store, sender, clock } = setup([new FederationRequestError(PEER, 429, 'M_LIMIT_EXCEEDED', 'slow down', { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 20_000 })]);
    store.addPdus([pdu(1)]);
    const outcome = await sender.sendNext(PEER);
    expect(outcome).toEqual({ kind: 'failed', txnId: expect.any(String), retryAt: clock.now + 20_000 });
    expect(store.queued(PEER)).toEqual({ pdus: 1, edus: 0 });
  });

  it.each([
    ['a network failure', new FederationNetworkError(PEER, 'timeout', 'timed out')],
    ['a 500', new FederationRequestError(PEER, 500, undefined, undefined, undefined)],
    ['a 404 M_UNRECOGNIZED', new FederationRequestError(PEER, 404, 'M_UNRECOGNIZED', 'Unrecognized request', undefined)],
    ['a 400 M_UNRECOGNIZED', new FederationRequestError(PEER, 400, 'M_UNRECOGNIZED', 'Unrecognized request', undefined)],
  ])('keeps the rows and backs off after %s', async (_, error) => {
    const { store, sender } = setup([error]);
    store.addPdus([pdu(1)]);
    store.addEdus([edu(1)]);
    expect((await sender.sendNext(PEER)).kind).toBe('failed');
    expect(store.queued(PEER)).toEqual({ pdus: 1, edus: 1 });
    expect((await store.state(PEER)).failures).toBe(1);
  });

  it.each([
    ['a 403', new FederationRequestError(PEER, 403, 'M_FORBIDDEN', 'no', undefined)],
    ['a 400 M_BAD_JSON', new FederationRequestError(PEER, 400, 'M_BAD_JSON', 'bad', undefined)],
    ['a destination the client may not contact', new FederationDestinationRefusedError(PEER, 'blocked_address', 'blocked')],
  ])('drops the transaction rows with a warning after %s, and sends the rest next', async (_, error) => {
    const { store, client, sender, warnings } = setup([error]);
    store.addPdus(Array.from({ length: 60 }, (_, i) => pdu(i)));
    store.addEdus([edu(1)]);
    expect((await sender.sendNext(PEER)).kind).toBe('dropped');
    expect(store.queued(PEER)).toEqual({ pdus: 10, edus: 0 });
    expect(await store.state(PEER)).toEqual({ failures: 0, retryAt: 0 });
    expect(warnings).toEqual([expect.objectContaining({ destination: PEER, pdus: 50, edus: 1 })]);
    expect((await sender.sendNext(PEER)).kind).toBe('sent');
    expect((client.sent[1]!.body['pdus'] as Array<{ depth: number }>).map((p) => p.depth)).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
  });

  it('logs the per-PDU errors of a 200 and does not send those PDUs again', async () => {
    const { store, client, sender, warnings } = setup([{ pdus: { $event1: { error: 'You are not in the room' }, $event2: {} } }]);
    store.addPdus([pdu(1), pdu(2)]);
    expect((await sender.sendNext(PEER)).kind).toBe('sent');
    expect(warnings).toEqual([expect.objectContaining({ destination: PEER, eventId: '$event1', error: 'You are not in the room' })]);
    expect((await sender.sendNext(PEER)).kind).toBe('idle');
    expect(client.sent).toHaveLength(1);
  });

  it('lets an error that is not the destination’s (the database) through, leaving the backoff as it was', async () => {
    const { store, sender } = setup([new Error('connection terminated')]);
    store.addPdus([pdu(1)]);
    await expect(sender.sendNext(PEER)).rejects.toThrow('connection terminated');
    expect(await store.state(PEER)).toEqual({ failures: 0, retryAt: 0 });
    expect(store.queued(PEER)).toEqual({ pdus: 1, edus: 0 });
  });
});
