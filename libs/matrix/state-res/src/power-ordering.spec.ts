import { AuthChainIndex } from './auth-chain';
import type { ResolutionContext } from './iterative-auth-checks';
import { mainlineOrdering } from './mainline';
import { isPowerEvent, reverseTopologicalPowerOrdering } from './power-ordering';
import { ALICE, BOB, CHARLIE, OPTIONS, ROOM_V11, ROOM_V12, TestRoom, ZARA, type NamedRules } from './testing/state-res-room';

// Power events, the reverse topological power ordering and the mainline ordering.
// Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions

function contextOf(room: TestRoom): ResolutionContext {
  const index = new AuthChainIndex();
  index.add(room.events.values());
  return { index, authorization: room.rules.authorization, options: OPTIONS };
}

describe('power events', () => {
  const room = new TestRoom(ROOM_V11, { users: { [BOB]: 50 } });
  it.each([
    { case: 'power levels', event: () => room.root.fork().powerLevels('$p1', ALICE, {}), power: true },
    { case: 'join rules', event: () => room.root.fork().state0('$p2', ALICE, 'm.room.join_rules', { join_rule: 'invite' }), power: true },
    { case: 'a kick', event: () => room.root.fork().member('$p3', BOB, CHARLIE, 'leave'), power: true },
    { case: 'a ban', event: () => room.root.fork().member('$p4', BOB, CHARLIE, 'ban'), power: true },
    { case: 'leaving', event: () => room.root.fork().member('$p5', CHARLIE, CHARLIE, 'leave'), power: false },
    { case: 'an invite', event: () => room.root.fork().member('$p6', BOB, ZARA, 'invite'), power: false },
    { case: 'a topic', event: () => room.root.fork().state0('$p7', ALICE, 'm.room.topic', { topic: 't' }), power: false },
    { case: 'power levels with a state key', event: () => room.root.fork().send({ id: '$p8', type: 'm.room.power_levels', sender: ALICE, state_key: 'x', content: {} }), power: false },
    { case: 'the create event', event: () => room.events.get('$CREATE') as never, power: false },
  ])('$case: $power', ({ event, power }) => {
    expect(isPowerEvent(event())).toBe(power);
  });
});

describe('reverse topological power ordering', () => {
  // Alice 100; Bob and Charlie 50 (Bob keeps 50 in $P3). Greater sender power first, then
  // the earlier origin_server_ts, then the smaller event ID; $K3 cites $P3 so it must
  // come after it although it is older.
  it.each([ROOM_V11, ROOM_V12])('orders by the auth DAG, then power level, timestamp and event ID ($name)', (rules: NamedRules) => {
    const room = new TestRoom(rules, { users: { [BOB]: 50, [CHARLIE]: 50 }, members: [BOB, CHARLIE, ZARA] });
    const k1 = room.root.fork().member('$K1', BOB, ZARA, 'leave', { ts: 30 });
    const k2 = room.root.fork().member('$K2', ALICE, ZARA, 'ban', { ts: 40 });
    const j1 = room.root.fork().state0('$J1', CHARLIE, 'm.room.join_rules', { join_rule: 'invite' }, { ts: 30 });
    const branch = room.root.fork();
    const p3 = branch.powerLevels('$P3', ALICE, { [BOB]: 50 }, { ts: 5 });
    const k3 = branch.member('$K3', BOB, ZARA, 'leave', { ts: 1 });
    const context = contextOf(room);
    const ids = [k1, k2, j1, p3, k3].map((event) => event.event_id);
    expect(reverseTopologicalPowerOrdering(ids, context)).toEqual(['$P3', '$K2', '$K3', '$J1', '$K1']);
    expect(reverseTopologicalPowerOrdering([...ids].reverse(), context)).toEqual(['$P3', '$K2', '$K3', '$J1', '$K1']);
  });

  it.each([
    { rules: ROOM_V11, order: ['$JB', '$JA'] },
    { rules: ROOM_V12, order: ['$JA', '$JB'] },
  ])('the sender power level comes from the event\'s auth events; v12 creators have infinite power ($rules.name)', ({ rules, order }) => {
    const room = new TestRoom(rules, { users: { [BOB]: 100 } });
    room.root.fork().state0('$JA', ALICE, 'm.room.join_rules', { join_rule: 'invite' }, { ts: 20 });
    room.root.fork().state0('$JB', BOB, 'm.room.join_rules', { join_rule: 'invite' }, { ts: 10 });
    expect(reverseTopologicalPowerOrdering(['$JA', '$JB'], contextOf(room))).toEqual(order);
  });

  // The DAG is formed by the auth_events edges between events of the set: $low is in
  // $high's auth chain only through $link, which is not in the set, so power decides
  // ($high's sender has more) and $high comes first; with $link in the set, the edges
  // order $low, $link, $high.
  it('only auth_events edges between events of the set constrain the order', () => {
    const room = new TestRoom(ROOM_V11, { members: [BOB, CHARLIE, ZARA] });
    room.root.fork().member('$low', CHARLIE, ZARA, 'leave', { ts: 100, auth: ['$CREATE', '$IMZ'] });
    room.root.fork().state0('$link', ALICE, 'm.room.topic', {}, { auth: ['$CREATE', '$low'] });
    room.root.fork().powerLevels('$high', ALICE, {}, { ts: 1, auth: ['$CREATE', '$IPOWER', '$IMA', '$link'] });
    expect(reverseTopologicalPowerOrdering(['$high', '$low'], contextOf(room))).toEqual(['$high', '$low']);
    expect(reverseTopologicalPowerOrdering(['$high', '$low', '$link'], contextOf(room))).toEqual(['$low', '$link', '$high']);
  });
});

describe('mainline ordering', () => {
  it('orders by mainline position (events off the mainline first), then timestamp, then event ID', () => {
    const room = new TestRoom(ROOM_V11);
    const main = room.root.fork();
    main.powerLevels('$P2', ALICE, { [BOB]: 1 });
    main.powerLevels('$P3', ALICE, { [BOB]: 2 });
    const side = main.fork();
    side.powerLevels('$PX', ALICE, { [BOB]: 3 }); // not on the mainline of $P3
    side.state0('$onSide', ALICE, 'm.room.topic', {}, { ts: 1 });
    room.root.fork().state0('$atP1', ALICE, 'm.room.topic', {}, { ts: 9 });
    main.state0('$atP3', ALICE, 'm.room.topic', {}, { ts: 0 });
    room.root.fork().state0('$noPower', ALICE, 'm.room.topic', {}, { ts: 50, auth: ['$CREATE', '$IMA'] });
    room.root.fork().state0('$atP1b', ALICE, 'm.room.topic', {}, { ts: 9 });
    const index = contextOf(room).index;
    // $noPower: infinite; $atP1/$atP1b: 2 ($IPOWER), same ts, by ID; $onSide: $PX -> $P3 = 0
    // but ts 1 > $atP3's 0.
    expect(mainlineOrdering(['$atP3', '$onSide', '$atP1b', '$noPower', '$atP1'], '$P3', index)).toEqual(['$noPower', '$atP1', '$atP1b', '$atP3', '$onSide']);
    expect(mainlineOrdering(['$atP3', '$atP1'], undefined, index)).toEqual(['$atP3', '$atP1']);
  });
});
