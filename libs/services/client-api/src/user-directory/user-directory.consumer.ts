import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { roomOutputTopic, type RoomOutput } from '@axon/contracts-kafka';
import type { RoomId } from '@axon/matrix-identifiers';
import { ack, deadLetter, type DeliveredMessage, type HandlerOutcome, type MessageBus } from '@axon/platform-bus';
import { InjectBus, ShutdownSequence, STAGE } from '@axon/platform-runtime';
import { RoomQueryClient } from '../rooms/room-query.client';
import { UserDirectoryRepository, type DirectoryChange } from '../storage/user-directory.repository';

/** The consumer group of client-api replicas building the user directory. */
export const USER_DIRECTORY_GROUP = 'client-api-user-directory';

const DIRECTORY_STATE = new Set(['m.room.member', 'm.room.join_rules', 'm.room.history_visibility']);

type Pdu = { type?: unknown; state_key?: unknown; content?: unknown };

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * Keeps the user directory (`UserDirectoryRepository`) up to date from `hs.room.output.v1`,
 * as sync's read model is: each output's state delta says which memberships, join rules
 * and history visibilities changed. Outputs of a room are handled in order (the bus's
 * default per-key order), and applying one is idempotent (the room's `last_seq`).
 * Failures to reach the database or the room server are retried (a throw); an output
 * whose JSON cannot be read never will be, and is dead-lettered.
 */
@Injectable()
export class UserDirectoryConsumer implements OnApplicationBootstrap {
  constructor(
    @InjectBus() private readonly bus: MessageBus,
    private readonly directory: UserDirectoryRepository,
    private readonly roomQuery: RoomQueryClient,
    private readonly shutdown: ShutdownSequence,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const subscription = await this.bus.subscribe(roomOutputTopic, USER_DIRECTORY_GROUP, (message) => this.handle(message));
    this.shutdown.add(STAGE.consumers, 'client-api user directory consumer', () => subscription.stop());
  }

  private async handle(message: DeliveredMessage<RoomOutput>): Promise<HandlerOutcome> {
    const output = message.value;
    const relevant = output.state_added.filter(([type]) => DIRECTORY_STATE.has(type));
    const removedMembers = output.state_removed.filter(([type, stateKey]) => type === 'm.room.member' && !relevant.some(([t, k]) => t === type && k === stateKey));
    if (relevant.length === 0 && removedMembers.length === 0) return ack;
    let contents: Map<string, Pdu>;
    try {
      contents = await this.eventsOf(output, relevant.map(([, , eventId]) => eventId));
    } catch (error) {
      if (error instanceof SyntaxError) return deadLetter(`unreadable PDU JSON in ${output.event_id}: ${error.message}`);
      throw error;
    }
    const members: Array<DirectoryChange['members'][number]> = removedMembers.map(([, stateKey]) => ({ userId: stateKey, joined: false, displayName: null, avatarUrl: null }));
    let joinRule: string | null | undefined;
    let historyVisibility: string | null | undefined;
    for (const [type, stateKey, eventId] of relevant) {
      const content = (contents.get(eventId)?.content ?? {}) as Record<string, unknown>;
      if (type === 'm.room.join_rules' && stateKey === '') joinRule = stringOrNull(content['join_rule']);
      else if (type === 'm.room.history_visibility' && stateKey === '') historyVisibility = stringOrNull(content['history_visibility']);
      else if (type === 'm.room.member') {
        members.push({ userId: stateKey, joined: content['membership'] === 'join', displayName: stringOrNull(content['displayname']), avatarUrl: stringOrNull(content['avatar_url']) });
      }
    }
    await this.directory.apply({
      roomId: output.room_id as RoomId,
      roomSeq: output.room_seq,
      ...(joinRule !== undefined ? { joinRule } : {}),
      ...(historyVisibility !== undefined ? { historyVisibility } : {}),
      members,
    });
    return ack;
  }

  /** The PDUs of `eventIds`: the output's own from its JSON, others (state resolution brought them in) from the room server. */
  private async eventsOf(output: RoomOutput, eventIds: readonly string[]): Promise<Map<string, Pdu>> {
    const events = new Map<string, Pdu>();
    const others = [...new Set(eventIds.filter((id) => id !== output.event_id))];
    if (eventIds.includes(output.event_id)) events.set(output.event_id, JSON.parse(output.pdu_json) as Pdu);
    if (others.length > 0) {
      for (const event of (await this.roomQuery.getEvents({ eventIds: others, includeOutliers: false })).events) events.set(event.eventId, JSON.parse(event.pduJson) as Pdu);
    }
    return events;
  }
}
