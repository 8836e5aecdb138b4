import { AuthChainIndex } from './auth-chain';
import { fullConflictedSet } from './state-res-v2';
import { STATE_RES_V2_1 } from './state-resolution-rules';
import type { StateResolutionEvent } from './state-resolution-source';
import { separateStateSetsV2 } from './state-sets';
import { ALICE, BOB, CHARLIE, entry, ROOM_V11, ROOM_V12, ROOM_V12_WITH_V2, TestRoom, ZARA, type NamedRules } from './testing/state-res-room';

// Scenarios of state resolution v2 (room versions 2-11) and v2.1 (room version 12), each
// run under the rule sets named in its table; the expected state entries are per rule set.
// Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
//       https://spec.matrix.org/v1.19/rooms/v12/#state-resolution

describe('state resolution v2 and v2.1', () => {
  describe.each([ROOM_V11, ROOM_V12])('a ban racing a power-level change ($name)', (rules: NamedRules) => {
    it('orders the power levels change first (higher sender power) and rejects the ban it removes the power for', async () => {
      const room = new TestRoom(rules, { users: { [BOB]: 50 } });
      const demote = room.root.fork();
      demote.powerLevels('$PA', ALICE, {}, { ts: 10 });
      const ban = room.root.fork();
      ban.member('$BAN', BOB, CHARLIE, 'ban', { ts: 5 });
      const resolved = await room.resolve([demote.state, ban.state]);
      expect(entry(resolved, 'm.room.power_levels')).toBe('$PA');
      expect(entry(resolved, 'm.room.member', CHARLIE)).toBe('$IMC');
    });

    it('keeps the ban when the power levels change does not remove the power to ban', async () => {
      const room = new TestRoom(rules, { users: { [BOB]: 50 } });
      const raise = room.root.fork();
      raise.powerLevels('$PA', ALICE, { [BOB]: 60 }, { ts: 10 });
      const ban = room.root.fork();
      ban.member('$BAN', BOB, CHARLIE, 'ban', { ts: 5 });
      const resolved = await room.resolve([raise.state, ban.state]);
      expect(entry(resolved, 'm.room.power_levels')).toBe('$PA');
      expect(entry(resolved, 'm.room.member', CHARLIE)).toBe('$BAN');
    });
  });

  it.each([ROOM_V11, ROOM_V12])('a join-rules change racing a join: the join is checked against the new join rule ($name)', async (rules) => {
    const room = new TestRoom(rules);
    const close = room.root.fork();
    close.state0('$JR', ALICE, 'm.room.join_rules', { join_rule: 'invite' }, { ts: 10 });
    const join = room.root.fork();
    join.member('$JZ', ZARA, ZARA, 'join', { ts: 5 });
    const resolved = await room.resolve([close.state, join.state]);
    expect(entry(resolved, 'm.room.join_rules')).toBe('$JR');
    expect(entry(resolved, 'm.room.member', ZARA)).toBeUndefined();
  });

  it.each([
    { rules: ROOM_V11, withRootTopic: false, topic: undefined },
    { rules: ROOM_V11, withRootTopic: true, topic: '$T0' },
    { rules: ROOM_V12, withRootTopic: false, topic: undefined },
    { rules: ROOM_V12, withRootTopic: true, topic: '$T0' },
  ])('a topic set by a user whose power was removed concurrently is dropped ($rules.name, root topic: $withRootTopic)', async ({ rules, withRootTopic, topic }) => {
    const room = new TestRoom(rules, { users: { [BOB]: 50 } });
    if (withRootTopic) room.root.state0('$T0', ALICE, 'm.room.topic', { topic: 'old' });
    const demote = room.root.fork();
    demote.powerLevels('$PA', ALICE, {}, { ts: 10 });
    const topic2 = room.root.fork();
    topic2.state0('$TB', BOB, 'm.room.topic', { topic: 'new' }, { ts: 20 });
    const resolved = await room.resolve([demote.state, topic2.state]);
    expect(entry(resolved, 'm.room.power_levels')).toBe('$PA');
    expect(entry(resolved, 'm.room.topic')).toBe(topic);
  });

  describe.each([ROOM_V11, ROOM_V12])('mainline ordering ($name)', (rules: NamedRules) => {
    it.each([
      { case: 'the later origin_server_ts is applied last', a: { id: '$TA', ts: 10 }, b: { id: '$TB', ts: 20 }, winner: '$TB' },
      { case: 'the later origin_server_ts is applied last (reversed)', a: { id: '$TA', ts: 20 }, b: { id: '$TB', ts: 10 }, winner: '$TA' },
      { case: 'equal timestamps: the greater event ID is applied last', a: { id: '$TA', ts: 10 }, b: { id: '$TB', ts: 10 }, winner: '$TB' },
      { case: 'equal timestamps: the greater event ID is applied last (reversed)', a: { id: '$TZ', ts: 10 }, b: { id: '$TB', ts: 10 }, winner: '$TZ' },
    ])('same mainline position: $case', async ({ a, b, winner }) => {
      const room = new TestRoom(rules);
      const forkA = room.root.fork();
      forkA.state0(a.id, ALICE, 'm.room.topic', { topic: 'a' }, { ts: a.ts });
      const forkB = room.root.fork();
      forkB.state0(b.id, ALICE, 'm.room.topic', { topic: 'b' }, { ts: b.ts });
      expect(entry(await room.resolve([forkA.state, forkB.state]), 'm.room.topic')).toBe(winner);
      expect(entry(await room.resolve([forkB.state, forkA.state]), 'm.room.topic')).toBe(winner);
    });

    it('a later mainline position beats a later timestamp', async () => {
      const room = new TestRoom(rules);
      const forkA = room.root.fork();
      forkA.powerLevels('$P2', ALICE, { [BOB]: 10 }, { ts: 5 });
      forkA.state0('$TA', ALICE, 'm.room.topic', { topic: 'a' }, { ts: 6 });
      const forkB = room.root.fork();
      forkB.state0('$TB', ALICE, 'm.room.topic', { topic: 'b' }, { ts: 100 });
      // Mainline of $P2: [$P2, $IPOWER]. $TA cites $P2 (position 0), $TB cites $IPOWER
      // (position 1): $TB sorts first, so $TA is applied last.
      const resolved = await room.resolve([forkA.state, forkB.state]);
      expect(entry(resolved, 'm.room.power_levels')).toBe('$P2');
      expect(entry(resolved, 'm.room.topic')).toBe('$TA');
    });
  });

  it.each([ROOM_V11, ROOM_V12])('conflicted state across three forks, in every order ($name)', async (rules) => {
    const room = new TestRoom(rules, { users: { [BOB]: 50 } });
    const nameA = room.root.fork();
    nameA.state0('$NA', ALICE, 'm.room.name', { name: 'A' }, { ts: 10 });
    const byBob = room.root.fork();
    byBob.state0('$NB', BOB, 'm.room.name', { name: 'B' }, { ts: 20 });
    byBob.state0('$TB', BOB, 'm.room.topic', { topic: 'B' }, { ts: 21 });
    byBob.member('$JZ', ZARA, ZARA, 'join', { ts: 22 });
    const demote = room.root.fork();
    demote.powerLevels('$PC', ALICE, {}, { ts: 15 });
    const sets = [nameA.state, byBob.state, demote.state];
    const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (const order of orders) {
      const resolved = await room.resolve(order.map((i) => sets[i] as Map<never, string>));
      expect(entry(resolved, 'm.room.power_levels')).toBe('$PC');
      expect(entry(resolved, 'm.room.name')).toBe('$NA'); // $NB: Bob lost the state_default 50
      expect(entry(resolved, 'm.room.topic')).toBeUndefined();
      expect(entry(resolved, 'm.room.member', ZARA)).toBe('$JZ'); // joins need no power
      expect(entry(resolved, 'm.room.member', BOB)).toBe('$IMB');
    }
  });

  // Alice created the room; Bob has 100. Before v12 both have 100 and the earlier join
  // rules change is ordered (and applied) first; from v12 Alice's infinite power orders
  // hers first whatever the timestamps, so Bob's is applied last.
  it.each([
    { rules: ROOM_V11, winner: '$JRA' },
    { rules: ROOM_V12, winner: '$JRB' },
  ])('room creators with infinite power are ordered first ($rules.name)', async ({ rules, winner }) => {
    const room = new TestRoom(rules, { users: { [BOB]: 100 } });
    const byAlice = room.root.fork();
    byAlice.state0('$JRA', ALICE, 'm.room.join_rules', { join_rule: 'invite' }, { ts: 20 });
    const byBob = room.root.fork();
    byBob.state0('$JRB', BOB, 'm.room.join_rules', { join_rule: 'knock' }, { ts: 10 });
    expect(entry(await room.resolve([byAlice.state, byBob.state]), 'm.room.join_rules')).toBe(winner);
  });

  // Zara joined while the room was public; on that branch the join rule then became
  // invite-only, and the other branch saw the change but not the join. The join rules
  // are unconflicted, Zara's membership is conflicted. v2 re-checks her join against
  // the unconflicted (later) join rule and drops it; v2.1 starts the iterative auth checks
  // from an empty state, so the join is checked against its own auth events and kept.
  describe('starting the iterative auth checks from the empty state (v2.1)', () => {
    const build = (rules: NamedRules) => {
      const room = new TestRoom(rules);
      const closed = room.root.fork();
      const invite = closed.state0('$JR', ALICE, 'm.room.join_rules', { join_rule: 'invite' }, { ts: 20 });
      const joined = room.root.fork();
      joined.member('$JZ', ZARA, ZARA, 'join', { ts: 10 });
      joined.adopt(invite);
      return { room, sets: [closed.state, joined.state] };
    };

    it.each([
      { rules: ROOM_V11, zara: undefined },
      { rules: ROOM_V12_WITH_V2, zara: undefined },
      { rules: ROOM_V12, zara: '$JZ' },
    ])('$rules.name: Zara\'s membership is $zara', async ({ rules, zara }) => {
      const { room, sets } = build(rules);
      const resolved = await room.resolve(sets);
      expect(entry(resolved, 'm.room.join_rules')).toBe('$JR');
      expect(entry(resolved, 'm.room.member', ZARA)).toBe(zara);
    });

    it('v2.1: a rejected auth event is not used to fill in the state (the join is then dropped)', async () => {
      const { room, sets } = build(ROOM_V12);
      const source = room.source({ order: (events) => events.map((event) => (event.event_id === '$IJR' ? { ...event, rejected: true } : event)) });
      expect(entry(await room.resolve(sets, source), 'm.room.member', ZARA)).toBeUndefined();
    });
  });

  // MSC4297's "problem A": Alice changed the join rules, then left. One state set is stale
  // about the join rules. Both agree Alice left, so v2 replays both join rules events on a
  // state where Alice is not in the room, refuses both, and the room loses its join rules;
  // v2.1 replays them from the empty state, on their own auth events.
  it.each([
    { rules: ROOM_V11, joinRules: undefined },
    { rules: ROOM_V12_WITH_V2, joinRules: undefined },
    { rules: ROOM_V12, joinRules: '$JR2' },
  ])('conflicting events unauthorised by the unconflicted state ($rules.name)', async ({ rules, joinRules }) => {
    const room = new TestRoom(rules);
    const current = room.root.fork();
    current.state0('$JR2', ALICE, 'm.room.join_rules', { join_rule: 'invite' });
    current.member('$LA', ALICE, ALICE, 'leave');
    const stale = current.fork().adopt(room.events.get('$IJR') as StateResolutionEvent);
    const resolved = await room.resolve([current.state, stale.state]);
    expect(entry(resolved, 'm.room.join_rules')).toBe(joinRules);
    expect(entry(resolved, 'm.room.member', ALICE)).toBe('$LA');
  });

  // Bob (100) sets a topic on one branch and changes the power levels on the other, so
  // the power levels key holds $IPOWER on one side and $PB on the other. Bob's join and
  // the join rules are in every auth chain (Bob named the room), so they are not in the
  // auth difference, but they lie on the paths $TB -> $IMB -> $IPOWER and
  // $TB -> $IMB -> $IJR -> $IPOWER between conflicted events.
  it.each([
    { rules: ROOM_V11, subgraph: false },
    { rules: ROOM_V12_WITH_V2, subgraph: false },
    { rules: ROOM_V12, subgraph: true },
  ])('the conflicted state subgraph is in the full conflicted set only for v2.1 ($rules.name)', async ({ rules, subgraph }) => {
    const room = new TestRoom(rules, { users: { [BOB]: 100 } });
    room.root.state0('$NB', BOB, 'm.room.name', { name: 'by Bob' });
    const topic = room.root.fork();
    topic.state0('$TB', BOB, 'm.room.topic', { topic: 'B' });
    const power = room.root.fork();
    power.powerLevels('$PB', BOB, { [BOB]: 100, [CHARLIE]: 10 });
    const sets = [topic.state, power.state];
    const index = new AuthChainIndex();
    index.add(room.events.values());
    const { unconflicted, conflicted } = separateStateSetsV2(sets);
    const full = fullConflictedSet(sets, unconflicted, conflicted, index, rules.stateResolution);
    expect([...full].sort()).toEqual(['$IPOWER', '$PB', '$TB', ...(subgraph ? ['$IMB', '$IJR'] : [])].sort());
    const resolved = await room.resolve(sets);
    expect(entry(resolved, 'm.room.power_levels')).toBe('$PB');
    expect(entry(resolved, 'm.room.topic')).toBe('$TB');
  });

  // MSC4297's "problem B": Alice promotes Bob ($PL2), Bob promotes Charlie ($PL3), and
  // Charlie sets the topic. One state set is stale about the power levels ($IPOWER) but
  // still holds the topic, whose auth chain holds $PL3 and $PL2: the auth difference is
  // empty, so v2 replays $PL3 on $IPOWER without $PL2 and refuses it (a state reset).
  // The conflicted state subgraph adds $PL2 (on the path $PL3 -> $PL2 -> $IPOWER).
  it.each([
    { rules: ROOM_V11, powerLevels: '$IPOWER' },
    { rules: ROOM_V12_WITH_V2, powerLevels: '$IPOWER' },
    { rules: { ...ROOM_V12, name: 'v2.1 without the subgraph', stateResolution: { ...STATE_RES_V2_1, considerConflictedStateSubgraph: false } }, powerLevels: '$IPOWER' },
    { rules: ROOM_V12, powerLevels: '$PL3' },
  ])('the conflicted state subgraph replays the events between conflicted events ($rules.name)', async ({ rules, powerLevels }) => {
    const room = new TestRoom(rules);
    const current = room.root.fork();
    current.powerLevels('$PL2', ALICE, { [BOB]: 100 });
    current.powerLevels('$PL3', BOB, { [BOB]: 100, [CHARLIE]: 50 });
    current.state0('$T', CHARLIE, 'm.room.topic', { topic: 'by Charlie' });
    const stale = current.fork().adopt(room.events.get('$IPOWER') as StateResolutionEvent);
    const resolved = await room.resolve([current.state, stale.state]);
    expect(entry(resolved, 'm.room.power_levels')).toBe(powerLevels);
    expect(entry(resolved, 'm.room.topic')).toBe('$T');
  });

  describe('unconflicted state and unknown events', () => {
    it.each([ROOM_V11, ROOM_V12])('returns the state as is when nothing is conflicted, without asking the source ($name)', async (rules) => {
      const room = new TestRoom(rules);
      const getEvents = jest.fn();
      const resolved = await room.resolve([room.root.state, new Map(room.root.state)], { getEvents });
      expect(resolved).toEqual(room.root.state);
      expect(getEvents).not.toHaveBeenCalled();
    });

    it('resolves no state sets to the empty state and one state set to itself', async () => {
      const room = new TestRoom(ROOM_V11);
      expect((await room.resolve([])).size).toBe(0);
      expect(await room.resolve([room.root.state])).toEqual(room.root.state);
    });

    it('keeps an unknown event of the unconflicted state by ID', async () => {
      const room = new TestRoom(ROOM_V11);
      const a = room.root.fork();
      a.state0('$TA', ALICE, 'm.room.topic', { topic: 'a' });
      const b = room.root.fork();
      b.state0('$TB', ALICE, 'm.room.topic', { topic: 'b' });
      const ghost = '$ghost' as const;
      a.state.set('["m.room.name",""]' as never, ghost);
      b.state.set('["m.room.name",""]' as never, ghost);
      const resolved = await room.resolve([a.state, b.state]);
      expect(entry(resolved, 'm.room.name')).toBe(ghost);
      expect(entry(resolved, 'm.room.topic')).toBe('$TB');
    });

    it.each([
      { without: ['$TB'], topic: '$TA' },
      { without: ['$TA'], topic: '$TB' },
      { without: ['$TA', '$TB'], topic: undefined },
    ])('leaves unknown conflicted events out (unknown: $without)', async ({ without, topic }) => {
      const room = new TestRoom(ROOM_V11);
      const a = room.root.fork();
      a.state0('$TA', ALICE, 'm.room.topic', { topic: 'a' }, { ts: 10 });
      const b = room.root.fork();
      b.state0('$TB', ALICE, 'm.room.topic', { topic: 'b' }, { ts: 20 });
      expect(entry(await room.resolve([a.state, b.state], room.source({ without })), 'm.room.topic')).toBe(topic);
    });

    it('reuses an AuthChainIndex across resolutions, fetching only events it has not indexed', async () => {
      const room = new TestRoom(ROOM_V11);
      const a = room.root.fork();
      a.state0('$TA', ALICE, 'm.room.topic', { topic: 'a' });
      const b = room.root.fork();
      b.state0('$TB', ALICE, 'm.room.topic', { topic: 'b' });
      const index = new AuthChainIndex();
      const asked: string[] = [];
      const source = { authChainIndex: index, getEvents: (ids: readonly string[]) => (asked.push(...ids), room.source().getEvents(ids)) };
      await room.resolve([a.state, b.state], source);
      const first = asked.length;
      expect(first).toBe(room.events.size);
      const c = room.root.fork();
      c.state0('$TC', ALICE, 'm.room.topic', { topic: 'c' });
      expect(entry(await room.resolve([a.state, c.state], source), 'm.room.topic')).toBe('$TC');
      expect(asked.slice(first)).toEqual(['$TC']);
    });
  });
});
