import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { GetInputResultResponse } from '@axon/contracts-grpc';
import { encodeRoomInputOutcome, roomInputResultChannel, roomInputTopic, type RoomInput, type RoomInputOutcome } from '@axon/contracts-kafka';
import { ack, InProcessBus } from '@axon/platform-bus';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import { Database } from '@axon/platform-database';
import { RoomInputClient, type InputResults, type RoomInputTiming } from './room-input.client';

const ROOM = '!room:hs.test';

/** How the stand-in room server announces an outcome. */
type Announce = 'outcome' | 'legacy' | 'nothing';

/**
 * A stand-in for the room server on a real in-process bus and cache: it consumes
 * `hs.room.input.v1`, decides each request ID once (a repeated one gets the stored
 * outcome, as the real one's idempotency does), stores the outcome where
 * `GetInputResult` reads it, and announces it as `announce` says.
 */
class StandInRoomServer {
  readonly outcomes = new Map<string, RoomInputOutcome>();
  readonly handled: string[] = [];
  readonly reads: string[] = [];
  announce: Announce = 'outcome';
  private appended = 0;

  constructor(private readonly cache: CacheClient) {}

  decide(input: RoomInput): RoomInputOutcome {
    const known = this.outcomes.get(input.request_id);
    if (known !== undefined) return known;
    const body = input.kind === 'new_event' ? input.event.content['body'] : undefined;
    const outcome: RoomInputOutcome =
      body === 'refuse'
        ? { ok: false, errcode: 'M_FORBIDDEN', error: 'not allowed to send' }
        : { ok: true, room_id: input.kind === 'new_event' ? input.room_id : '!created:hs.test', event_id: `$event${++this.appended}` };
    this.outcomes.set(input.request_id, outcome);
    return outcome;
  }

  async handle(input: RoomInput): Promise<void> {
    this.handled.push(input.request_id);
    const outcome = this.decide(input);
    const channel = roomInputResultChannel(input.request_id);
    if (this.announce === 'outcome') await this.cache.wakeups.publish(channel, encodeRoomInputOutcome(outcome));
    // A room server older than the outcome payload: the event ID or the errcode alone.
    if (this.announce === 'legacy') await this.cache.wakeups.publish(channel, outcome.ok ? outcome.event_id : outcome.errcode);
  }

  readonly query = {
    getInputResult: ({ requestId }: { requestId: string }): Promise<GetInputResultResponse> => {
      this.reads.push(requestId);
      const outcome = this.outcomes.get(requestId);
      if (outcome === undefined) return Promise.resolve({ found: false, roomId: '', eventId: '', errcode: '', error: '' });
      return Promise.resolve(
        outcome.ok
          ? { found: true, roomId: outcome.room_id, eventId: outcome.event_id, errcode: '', error: '' }
          : { found: true, roomId: '', eventId: '', errcode: outcome.errcode, error: outcome.error },
      );
    },
  };
}

function message(requestId: string, body: string): RoomInput {
  return { kind: 'new_event', request_id: requestId, room_id: ROOM, event: { type: 'm.room.message', sender: '@alice:hs.test', content: { msgtype: 'm.text', body } } };
}

describe('RoomInputClient', () => {
  let database: Database;
  let bus: InProcessBus;
  let cache: CacheClient;
  let server: StandInRoomServer;
  const timing: RoomInputTiming = { waitMs: 1_500, fallbackFirstMs: 200, fallbackMaxMs: 400 };
  let client: RoomInputClient;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-input-client-')), inMemory: true });
    bus = await InProcessBus.open(database, { pollIntervalMs: 50 });
    cache = createInProcessCache();
    server = new StandInRoomServer(cache);
    await bus.subscribe(roomInputTopic, 'stand-in-room-server', async (delivered) => {
      await server.handle(delivered.value);
      return ack;
    });
    client = new RoomInputClient(bus, cache, server.query as unknown as InputResults, timing);
  });

  afterAll(async () => {
    await bus.close();
    await cache.close();
    await database.close();
  });

  beforeEach(() => {
    server.announce = 'outcome';
    server.reads.length = 0;
    server.handled.length = 0;
  });

  it('answers from the wake-up alone: no GetInputResult read before or after publishing', async () => {
    const answers = await Promise.all(['a', 'b', 'c'].map((id) => client.submit(message(`send-${id}`, id))));
    expect(answers.map((answer) => answer.roomId)).toEqual([ROOM, ROOM, ROOM]);
    expect(new Set(answers.map((answer) => answer.eventId)).size).toBe(3);
    expect(answers[0]!.eventId).toBe((server.outcomes.get('send-a') as { event_id: string }).event_id);
    expect(server.reads).toEqual([]);
  });

  it('answers a refusal with its Matrix error, from the wake-up', async () => {
    await expect(client.submit(message('refused-1', 'refuse'))).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', message: 'not allowed to send', status: 403 });
    expect(server.reads).toEqual([]);
  });

  it('answers a repeated request ID with the first outcome, which the room server announces again', async () => {
    const first = await client.submit(message('retried-1', 'once'));
    const again = await client.submit(message('retried-1', 'once'));
    expect(again).toEqual(first);
    expect(server.handled).toEqual(['retried-1', 'retried-1']);
    expect(server.reads).toEqual([]);
  });

  it('reads the outcome back once when the wake-up is an older room server’s bare event ID or errcode', async () => {
    server.announce = 'legacy';
    const answer = await client.submit(message('legacy-1', 'old server'));
    expect(answer).toEqual({ roomId: ROOM, eventId: (server.outcomes.get('legacy-1') as { event_id: string }).event_id });
    await expect(client.submit(message('legacy-2', 'refuse'))).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', message: 'not allowed to send' });
    expect(server.reads).toEqual(['legacy-1', 'legacy-2']);
  });

  it('reads the outcome back on its timer when the wake-up is lost', async () => {
    server.announce = 'nothing';
    const started = Date.now();
    const answer = await client.submit(message('lost-1', 'no wake-up'));
    expect(answer.eventId).toBe((server.outcomes.get('lost-1') as { event_id: string }).event_id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(timing.fallbackFirstMs - 5);
    expect(server.reads).toEqual(['lost-1']);
  });

  it('answers 504 with the usual text when the room server never decides', async () => {
    server.announce = 'nothing';
    const unanswered = new RoomInputClient(bus, cache, { getInputResult: () => Promise.resolve({ found: false, roomId: '', eventId: '', errcode: '', error: '' }) } as unknown as InputResults, timing);
    await expect(unanswered.submit(message('never-1', 'lost'))).rejects.toMatchObject({
      errcode: 'M_UNKNOWN',
      status: 504,
      message: 'the room server did not answer in time; the request may still complete',
    });
  });

  it('refuses an event whose content cannot fit in a PDU without publishing it, and sends one that fits', async () => {
    await expect(client.submit(message('huge-1', 'x'.repeat(70_000)))).rejects.toMatchObject({ errcode: 'M_TOO_LARGE', status: 413 });
    const room: RoomInput = { kind: 'create_room', request_id: 'huge-2', room_version: '12', events: [{ type: 'm.room.create', sender: '@alice:hs.test', content: { junk: 'é'.repeat(33_000) } }] };
    await expect(client.submit(room)).rejects.toMatchObject({ errcode: 'M_TOO_LARGE', status: 413 });
    await client.submit(message('fits-1', 'x'.repeat(60_000)));
    expect(server.handled).toEqual(['fits-1']);
  });

  it('reads the outcome of an input already submitted, and nothing for an unknown one', async () => {
    const sent = await client.submit(message('known-1', 'x'));
    expect(await client.outcome('known-1')).toEqual(sent);
    expect(await client.outcome('unknown-1')).toBeUndefined();
  });
});
