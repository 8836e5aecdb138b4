import { Injectable } from '@nestjs/common';
import { RoomQueryDefinition } from '@axon/contracts-grpc';
import { roomInputResultChannel, roomInputTopic, type RoomInput } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import type { ServiceClient } from '@axon/platform-rpc';
import { InjectBus, InjectCache, RpcHost } from '@axon/platform-runtime';

/** How long a client's request waits for the room server before answering an error. */
const WAIT_MS = 30_000;
/** Re-reads the outcome this often in case a wake-up was lost (they are hints). */
const POLL_MS = 500;

/**
 * Sends an input to the room server (`hs.room.input.v1`) and waits for its outcome: the
 * event ID, or the Matrix error that refused it. The outcome is read from the room
 * server (`RoomQuery.GetInputResult`), woken by the wake-up the room server publishes,
 * and re-read on a timer, so a lost wake-up only delays the answer.
 */
@Injectable()
export class RoomInputClient {
  private readonly rooms: ServiceClient<typeof RoomQueryDefinition>;

  constructor(
    @InjectBus() private readonly bus: MessageBus,
    @InjectCache() private readonly cache: CacheClient,
    rpc: RpcHost,
  ) {
    this.rooms = rpc.client(RoomQueryDefinition);
  }

  get query(): ServiceClient<typeof RoomQueryDefinition> {
    return this.rooms;
  }

  async submit(input: RoomInput): Promise<{ readonly roomId: string; readonly eventId: string }> {
    let wake: () => void = () => undefined;
    const unsubscribe = await this.cache.wakeups.subscribe(roomInputResultChannel(input.request_id), () => wake());
    try {
      const existing = await this.outcome(input.request_id);
      if (existing !== undefined) return existing;
      await this.bus.publish(roomInputTopic, [input]);
      const deadline = Date.now() + WAIT_MS;
      while (Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        const outcome = await this.outcome(input.request_id);
        if (outcome !== undefined) return outcome;
      }
      throw new MatrixError('M_UNKNOWN', 'the room server did not answer in time; the request may still complete', 504);
    } finally {
      await unsubscribe();
    }
  }

  /** The outcome of an input already submitted under `requestId`, if it has one yet; a refusal throws its Matrix error. */
  async outcome(requestId: string): Promise<{ roomId: string; eventId: string } | undefined> {
    const result = await this.rooms.getInputResult({ requestId });
    if (!result.found) return undefined;
    if (result.errcode !== '') {
      throw new MatrixError(MatrixError.isErrcode(result.errcode) ? result.errcode : 'M_UNKNOWN', result.error);
    }
    return { roomId: result.roomId, eventId: result.eventId };
  }
}
