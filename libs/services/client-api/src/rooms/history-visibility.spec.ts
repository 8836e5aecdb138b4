import type { RoomEvent } from '@axon/contracts-grpc';
import { allows, visibilityStateOf, VisibilityWalker } from './history-visibility';

const USER = '@u:example.org';
let position = 0;

function event(type: string, content: Record<string, unknown>, stateKey?: string): RoomEvent {
  position += 1;
  const pdu = { type, content, sender: '@other:example.org', ...(stateKey === undefined ? {} : { state_key: stateKey }) };
  return { eventId: `$e${position}`, roomId: '!r:example.org', pduJson: JSON.stringify(pdu), streamOrdering: String(position), redactedBy: '', roomVersion: '11' };
}
const visibility = (value: string) => event('m.room.history_visibility', { history_visibility: value }, '');
const member = (membership: string, user = USER) => event('m.room.member', { membership }, user);
const message = () => event('m.room.message', { body: 'hi' });

describe('the history visibility rules (spec: "Server behaviour")', () => {
  it.each([
    ['world_readable', 'leave', false, true],
    ['shared', 'join', false, true],
    ['joined', 'join', false, true],
    ['shared', 'leave', true, true],
    ['shared', 'leave', false, false],
    ['joined', 'leave', true, false],
    ['invited', 'invite', false, true],
    ['shared', 'invite', false, false],
    ['joined', 'invite', true, false],
  ])('visibility %s, membership %s, joined later %s: %s', (historyVisibility, membership, joinedLater, expected) => {
    expect(allows({ historyVisibility, membership }, joinedLater)).toBe(expected);
  });

  it('defaults to shared when unset or not understood', () => {
    expect(visibilityStateOf([], USER)).toEqual({ historyVisibility: 'shared', membership: 'leave' });
    expect(visibilityStateOf([visibility('sometimes')], USER).historyVisibility).toBe('shared');
  });

  it('tracks the visibility and membership through a page, one state lookup for all of it', () => {
    const events = [message(), visibility('joined'), message(), member('invite'), message(), member('join'), message(), member('leave'), message()];
    const walker = new VisibilityWalker(visibilityStateOf([], USER), USER, undefined);
    // The user never joins after the shared part, so it stays hidden; while joined they
    // see everything, their own join and leave included (before or after allows).
    expect(events.map((e) => walker.next(e))).toEqual([false, false, false, false, false, true, true, true, false]);
  });

  it('shows shared history from before the join to a user who joined later', () => {
    const events = [message(), visibility('joined'), message(), member('join')];
    const join = BigInt(events[3]!.streamOrdering);
    const walker = new VisibilityWalker(visibilityStateOf([], USER), USER, join);
    // The message and the visibility change happened while shared; the one after is joined-only.
    expect(events.map((e) => walker.next(e))).toEqual([true, true, false, true]);
  });

  it('shows invited users the history from their invite under invited', () => {
    const events = [visibility('invited'), message(), member('invite'), message(), member('join'), message()];
    const walker = new VisibilityWalker(visibilityStateOf([], USER), USER, 'now');
    // The change to invited happened under shared and the user is joined now.
    expect(events.map((e) => walker.next(e))).toEqual([true, false, true, true, true, true]);
  });

  it('shows a history visibility event when the state after it allows it', () => {
    const events = [visibility('joined'), message(), visibility('world_readable'), message(), visibility('joined'), message()];
    const walker = new VisibilityWalker(visibilityStateOf([], USER), USER, undefined);
    expect(events.map((e) => walker.next(e))).toEqual([false, false, true, true, true, false]);
  });
});
