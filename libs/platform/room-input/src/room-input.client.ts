import type { GetInputResultRequest, GetInputResultResponse } from '@axon/contracts-grpc';
import { decodeRoomInputOutcome, roomInputResultChannel, roomInputTopic, type RoomInput, type RoomInputOutcome } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { MAX_PDU_BYTES } from '@axon/matrix-events';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';

/** Where an outcome is read back: the room server's `RoomQuery.GetInputResult`. */
export interface InputResults {
  getInputResult(request: GetInputResultRequest): Promise<GetInputResultResponse>;
}

/** What an accepted input appended: its event, in its room (a created room's ID comes from here). */
export interface SubmittedEvent {
  readonly roomId: RoomId;
  readonly eventId: EventId;
}

/**
 * How long `RoomInputClient` waits, as a provider of its own so tests can shorten it.
 * A wake-up is at most once (a Redis reconnect may drop it), so after `fallbackFirstMs`
 * without one the outcome is read back, then again at doubling intervals up to
 * `fallbackMaxMs`: under load those reads are rare and few, and a lost wake-up costs at
 * most a few seconds.
 */
export class RoomInputTiming {
  /** How long a client's request waits for the room server before answering 504. */
  readonly waitMs: number = 30_000;
  readonly fallbackFirstMs: number = 1_000;
  readonly fallbackMaxMs: number = 4_000;
}

/**
 * The wake-up payloads of one request, held until the waiter asks for them: a wake-up may
 * arrive before `publish` resolves, or while the waiter is reading the outcome back.
 */
class WakeupInbox {
  private readonly payloads: string[] = [];
  private waiter: ((payload: string | undefined) => void) | undefined;

  deliver(payload: string): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter === undefined) this.payloads.push(payload);
    else waiter(payload);
  }

  /** The next payload, or undefined when none came within `ms`. */
  next(ms: number): Promise<string | undefined> {
    const queued = this.payloads.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, ms);
      this.waiter = (payload) => {
        clearTimeout(timer);
        resolve(payload);
      };
    });
  }
}

/**
 * Sends an input to the room server (`hs.room.input.v1`) and answers its outcome: the
 * event ID, or the Matrix error that refused it. Used by every service that writes to
 * rooms (client-api for local users, the federation receiver for received PDUs).
 *
 * The answer normally comes in the room server's wake-up on `roomInputResultChannel`,
 * which carries the whole outcome: one subscribe, one publish, no read. There is no read
 * before publishing either: a request ID already handled (a client retrying its
 * transaction) is answered by the room server's idempotency with the first outcome, as a
 * wake-up like any other. `RoomQuery.GetInputResult` is only the fallback, for a wake-up
 * that did not come in time (they are hints, at most once) or that this client cannot
 * read (a room server older than the outcome payload sends a bare event ID or errcode).
 */
export class RoomInputClient {
  constructor(
    private readonly bus: MessageBus,
    private readonly cache: CacheClient,
    private readonly rooms: InputResults,
    private readonly timing: RoomInputTiming = new RoomInputTiming(),
  ) {}

  async submit(input: RoomInput): Promise<SubmittedEvent> {
    refuseOversized(input);
    const inbox = new WakeupInbox();
    // Subscribed before publishing: the outcome's wake-up cannot come before we listen.
    const unsubscribe = await this.cache.wakeups.subscribe(roomInputResultChannel(input.request_id), (payload) => inbox.deliver(payload));
    try {
      await this.bus.publish(roomInputTopic, [input]);
      return await this.awaitOutcome(input.request_id, inbox);
    } finally {
      await unsubscribe();
    }
  }

  private async awaitOutcome(requestId: string, inbox: WakeupInbox): Promise<SubmittedEvent> {
    const deadline = Date.now() + this.timing.waitMs;
    let fallbackMs = this.timing.fallbackFirstMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new MatrixError('M_UNKNOWN', 'the room server did not answer in time; the request may still complete', 504);
      const payload = await inbox.next(Math.min(fallbackMs, left));
      if (payload !== undefined) {
        const outcome = decodeRoomInputOutcome(payload);
        if (outcome !== undefined) return answer(outcome);
      } else {
        fallbackMs = Math.min(fallbackMs * 2, this.timing.fallbackMaxMs);
      }
      const stored = await this.readBack(requestId);
      if (stored !== undefined) return answer(stored);
    }
  }

  /**
   * The outcome of an input already submitted under `requestId`, read from the room server,
   * if it has one yet; a refusal throws its Matrix error. For callers that must know before
   * doing anything else whether a retried request was already handled.
   */
  async outcome(requestId: string): Promise<SubmittedEvent | undefined> {
    const stored = await this.readBack(requestId);
    return stored === undefined ? undefined : answer(stored);
  }

  private async readBack(requestId: string): Promise<RoomInputOutcome | undefined> {
    const result = await this.rooms.getInputResult({ requestId });
    if (!result.found) return undefined;
    if (result.errcode !== '') return { ok: false, errcode: result.errcode, error: result.error };
    return { ok: true, room_id: result.roomId, event_id: result.eventId };
  }
}

/**
 * An event whose content alone is larger than a whole PDU may be (65,536 bytes) is refused
 * here, as the room server would refuse it (413 M_TOO_LARGE), instead of travelling the bus
 * first: a 1 MiB body published to the embedded bus is a 2 MB hex parameter to PGlite,
 * which grew its WebAssembly memory, never handed back, by 4.5 MB (`npm run fuzz`). The
 * content's JSON is never longer than its canonical JSON, so nothing that fits is refused.
 */
function refuseOversized(input: RoomInput): void {
  for (const event of input.kind === 'new_event' ? [input.event] : input.kind === 'create_room' ? input.events : []) {
    const bytes = Buffer.byteLength(JSON.stringify(event.content) ?? '');
    if (bytes > MAX_PDU_BYTES) throw new MatrixError('M_TOO_LARGE', `the content of a ${event.type} event is ${bytes} bytes, more than a whole event may be (${MAX_PDU_BYTES})`, 413);
  }
}

function answer(outcome: RoomInputOutcome): SubmittedEvent {
  // The room server made both identifiers: they are well formed.
  if (outcome.ok) return { roomId: outcome.room_id as RoomId, eventId: outcome.event_id as EventId };
  throw new MatrixError(MatrixError.isErrcode(outcome.errcode) ? outcome.errcode : 'M_UNKNOWN', outcome.error);
}
