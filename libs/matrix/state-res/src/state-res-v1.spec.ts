import { createHash } from 'node:crypto';
import { ALICE, BOB, CHARLIE, entry, ROOM_V1, ROOM_V11, TestRoom, ZARA } from './testing/state-res-room';

// State resolution v1 (room version 1). The room's first events have depths 1 to 6.
// Spec: https://spec.matrix.org/v1.19/rooms/v1/#state-resolution

const sha1 = (id: string) => createHash('sha1').update(id).digest('hex');

describe('state resolution v1', () => {
  // Conflicting power levels, ascending depth: the first is taken, each next one while
  // the authorization rules allow it in R, and the pass stops at the first refusal.
  it.each([
    { case: 'every change allowed: the deepest', events: ['a7', 'c8', 'd10'], winner: '$PLd' },
    { case: 'stops at Bob\'s disallowed demotion of Alice', events: ['a7', 'c8', 'b9', 'd10'], winner: '$PLc' },
    { case: 'the first is taken unchecked', events: ['b9', 'd10'], winner: '$PLb' },
  ])('power levels pass: $case', async ({ events, winner }) => {
    const room = new TestRoom(ROOM_V1, { users: { [BOB]: 50, [CHARLIE]: 50 } });
    const make = {
      a7: () => room.root.fork().powerLevels('$PLa', ALICE, { [BOB]: 50, [CHARLIE]: 50 }, { depth: 7 }),
      c8: () => room.root.fork().powerLevels('$PLc', CHARLIE, { [BOB]: 50, [CHARLIE]: 50, [ZARA]: 10 }, { depth: 8 }),
      b9: () => room.root.fork().powerLevels('$PLb', BOB, { [ALICE]: 0, [BOB]: 50, [CHARLIE]: 50 }, { depth: 9 }),
      d10: () => room.root.fork().powerLevels('$PLd', ALICE, { [BOB]: 50, [CHARLIE]: 50, [ZARA]: 20 }, { depth: 10 }),
    };
    const sets = events.map((name) => {
      const branch = room.root.fork();
      return branch.adopt(make[name as keyof typeof make]()).state;
    });
    expect(entry(await room.resolve(sets), 'm.room.power_levels')).toBe(winner);
    expect(entry(await room.resolve([...sets].reverse()), 'm.room.power_levels')).toBe(winner);
  });

  it('power levels pass at equal depth: descending sha1(event_id), so the smaller hash is applied last', async () => {
    const room = new TestRoom(ROOM_V1);
    const x = room.root.fork();
    x.powerLevels('$X', ALICE, { [BOB]: 1 }, { depth: 7 });
    const y = room.root.fork();
    y.powerLevels('$Y', ALICE, { [BOB]: 2 }, { depth: 7 });
    const expected = sha1('$X') < sha1('$Y') ? '$X' : '$Y';
    expect(entry(await room.resolve([x.state, y.state]), 'm.room.power_levels')).toBe(expected);
  });

  it.each([
    { case: 'the highest depth', a: { id: '$T7', depth: 7, sender: ALICE }, b: { id: '$T8', depth: 8, sender: ALICE }, winner: '$T8' },
    { case: 'equal depth: the lowest sha1', a: { id: '$TA', depth: 7, sender: ALICE }, b: { id: '$TB', depth: 7, sender: ALICE }, winner: sha1('$TA') < sha1('$TB') ? '$TA' : '$TB' },
    { case: 'the highest depth that passes auth in R', a: { id: '$T7', depth: 7, sender: ALICE }, b: { id: '$T9', depth: 9, sender: ZARA }, winner: '$T7' },
    { case: 'none passes: the lowest depth', a: { id: '$T7', depth: 7, sender: ZARA }, b: { id: '$T9', depth: 9, sender: ZARA }, winner: '$T7' },
  ])('other keys: $case', async ({ a, b, winner }) => {
    const room = new TestRoom(ROOM_V1);
    const forkA = room.root.fork();
    forkA.state0(a.id, a.sender, 'm.room.topic', { topic: 'a' }, { depth: a.depth });
    const forkB = room.root.fork();
    forkB.state0(b.id, b.sender, 'm.room.topic', { topic: 'b' }, { depth: b.depth });
    expect(entry(await room.resolve([forkA.state, forkB.state]), 'm.room.topic')).toBe(winner);
  });

  it('a kick racing a demotion: the member pass sees the resolved power levels', async () => {
    const room = new TestRoom(ROOM_V1, { users: { [BOB]: 50 } });
    const kick = room.root.fork();
    kick.member('$KICK', BOB, CHARLIE, 'leave', { depth: 7 });
    const demote = room.root.fork();
    demote.powerLevels('$PLB', ALICE, {}, { depth: 8 });
    const resolved = await room.resolve([kick.state, demote.state]);
    expect(entry(resolved, 'm.room.power_levels')).toBe('$PLB');
    expect(entry(resolved, 'm.room.member', CHARLIE)).toBe('$IMC');
  });

  it('a join racing a join-rules change: the join\'s key is not conflicting, so v1 keeps it', async () => {
    const room = new TestRoom(ROOM_V1);
    const close = room.root.fork();
    close.state0('$JR', ALICE, 'm.room.join_rules', { join_rule: 'invite' }, { depth: 7 });
    const join = room.root.fork();
    join.member('$JZ', ZARA, ZARA, 'join', { depth: 7 });
    const resolved = await room.resolve([close.state, join.state]);
    expect(entry(resolved, 'm.room.join_rules')).toBe('$JR');
    expect(entry(resolved, 'm.room.member', ZARA)).toBe('$JZ');
  });

  it.each([
    { case: 'the ban is shallower: the join is checked after it and refused', ban: 7, join: 8, winner: '$BZ' },
    { case: 'the join is shallower: the ban is checked after it and allowed', ban: 8, join: 7, winner: '$BZ' },
    { case: 'the ban by a user without the ban level is refused after the join', ban: 8, join: 7, winner: '$JZ', banner: CHARLIE },
  ])('a ban racing a join: $case', async ({ ban, join, winner, banner }) => {
    const room = new TestRoom(ROOM_V1, { users: { [BOB]: 50 } });
    const banned = room.root.fork();
    banned.member('$BZ', banner ?? BOB, ZARA, 'ban', { depth: ban });
    const joined = room.root.fork();
    joined.member('$JZ', ZARA, ZARA, 'join', { depth: join });
    expect(entry(await room.resolve([banned.state, joined.state]), 'm.room.member', ZARA)).toBe(winner);
  });

  it.each([
    { rules: ROOM_V1, topic: '$TZ' },
    { rules: ROOM_V11, topic: undefined },
  ])('a key only some state sets hold is unconflicted in v1 only ($rules.name)', async ({ rules, topic }) => {
    const room = new TestRoom(rules);
    const a = room.root.fork();
    a.state0('$TZ', ZARA, 'm.room.topic', { topic: 'not a member' });
    a.state0('$NA', ALICE, 'm.room.name', { name: 'a' });
    const b = room.root.fork();
    b.state0('$NB', ALICE, 'm.room.name', { name: 'b' });
    expect(entry(await room.resolve([a.state, b.state]), 'm.room.topic')).toBe(topic);
  });

  it.each([
    { without: ['$T8'], topic: '$T7' },
    { without: ['$T7', '$T8'], topic: undefined },
  ])('leaves unknown conflicting events out (unknown: $without)', async ({ without, topic }) => {
    const room = new TestRoom(ROOM_V1);
    const a = room.root.fork();
    a.state0('$T7', ALICE, 'm.room.topic', {}, { depth: 7 });
    const b = room.root.fork();
    b.state0('$T8', ALICE, 'm.room.topic', {}, { depth: 8 });
    expect(entry(await room.resolve([a.state, b.state], room.source({ without })), 'm.room.topic')).toBe(topic);
  });
});
