// One state resolution bench case, run in its own process by tools/bench/state-res.mjs
// so that its peak memory is its own: builds a synthetic room of SIZE state events and
// FORKS conflicting branches, resolves their states once with a fresh AuthChainIndex
// (cold: the index is built from the source first) and once more with that index kept
// (warm: what a room server that keeps the room's index pays), and prints one JSON line.
//
// usage: node tools/bench/state-res-case.mjs SIZE FORKS v2|v2.1
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = new URL('../../dist/libs/', import.meta.url).pathname;
const { AUTHORIZATION_V11, AUTHORIZATION_V12, formatStateKey, selectAuthEventKeys } = require(join(dist, 'matrix/event-auth/src/index.js'));
const { AuthChainIndex, STATE_RES_V2, STATE_RES_V2_1, resolveState } = require(join(dist, 'matrix/state-res/src/index.js'));

const [size, forkCount] = process.argv.slice(2, 4).map(Number);
const algorithm = process.argv[4] ?? 'v2';
const v12 = algorithm === 'v2.1';
const rules = v12 ? { authorization: AUTHORIZATION_V12, stateResolution: STATE_RES_V2_1 } : { authorization: AUTHORIZATION_V11, stateResolution: STATE_RES_V2 };
const options = { isKnownRoomVersion: (version) => /^([1-9]|1[0-2])$/.test(version) };

const ALICE = '@alice:example.org';
const createId = v12 ? `$${createHash('sha256').update('bench room').digest('base64url')}` : '$create';
const roomId = v12 ? `!${createId.slice(1)}` : '!bench:example.org';
const events = new Map();
let clock = 1_700_000_000_000;
let counter = 0;

// Sends a state event on a branch (a state map), citing the auth events the auth events
// selection picks from that branch's state.
function send(branch, type, sender, stateKey, content) {
  const auth = selectAuthEventKeys({ type, sender, state_key: stateKey, content }, rules.authorization).flatMap((key) => {
    const id = branch.state.get(key);
    return id === undefined ? [] : [id];
  });
  const id = type === 'm.room.create' ? createId : `$e${++counter}`;
  const event = {
    event_id: id,
    ...(type === 'm.room.create' && v12 ? {} : { room_id: roomId }),
    type,
    state_key: stateKey,
    sender,
    content,
    origin_server_ts: clock++,
    depth: ++branch.depth,
    auth_events: auth,
    prev_events: [],
  };
  events.set(id, event);
  branch.state.set(formatStateKey(type, stateKey), id);
  return event;
}

const users = v12 ? {} : { [ALICE]: 100 };
function powerLevels(branch, extra) {
  Object.assign(users, extra);
  send(branch, 'm.room.power_levels', ALICE, '', { users: { ...users }, kick: 50, ban: 50, state_default: 50 });
}

// The shared history: mostly joins, a power levels change (a new moderator) every 1,000
// events, a topic change every 500, the join rules re-sent every 2,000.
const base = { state: new Map(), depth: 0 };
send(base, 'm.room.create', ALICE, '', v12 ? { room_version: '12' } : { room_version: '11' });
send(base, 'm.room.member', ALICE, ALICE, { membership: 'join' });
powerLevels(base, {});
send(base, 'm.room.join_rules', ALICE, '', { join_rule: 'public' });
const members = [];
for (let i = 0; base.state.size < size; i++) {
  if (i % 1000 === 999) {
    const mod = members[(i * 7919) % members.length];
    powerLevels(base, { [mod]: 50 });
  } else if (i % 500 === 499) {
    send(base, 'm.room.topic', ALICE, '', { topic: `topic ${i}` });
  } else if (i % 2000 === 1234) {
    send(base, 'm.room.join_rules', ALICE, '', { join_rule: 'public' });
  } else {
    const user = `@u${i}:example.org`;
    send(base, 'm.room.member', user, user, { membership: 'join' });
    members.push(user);
  }
}
const moderators = Object.keys(users).filter((user) => user !== ALICE);

// Forks from the shared state, each changing some state: 10 joins, 3 leaves, a topic;
// every 2nd a power levels change, every 3rd a kick by a moderator, every 5th a display
// name change by a member, every 7th a join rules change.
const branches = [];
for (let f = 0; f < forkCount; f++) {
  const branch = { state: new Map(base.state), depth: base.depth };
  for (let j = 0; j < 10; j++) {
    const user = `@f${f}u${j}:example.org`;
    send(branch, 'm.room.member', user, user, { membership: 'join' });
  }
  for (let j = 0; j < 3; j++) {
    const user = members[(f * 31 + j * 17) % members.length];
    send(branch, 'm.room.member', user, user, { membership: 'leave' });
  }
  send(branch, 'm.room.topic', ALICE, '', { topic: `fork ${f}` });
  if (f % 2 === 0) powerLevels(branch, { [members[(f * 101) % members.length]]: 10 });
  if (f % 3 === 0 && moderators.length > 0) {
    const target = members[(f * 53 + 5) % members.length];
    send(branch, 'm.room.member', moderators[f % moderators.length], target, { membership: 'leave' });
  }
  if (f % 5 === 0) {
    const user = members[(f * 13 + 1) % members.length];
    send(branch, 'm.room.member', user, user, { membership: 'join', displayname: `fork ${f}` });
  }
  if (f % 7 === 6) send(branch, 'm.room.join_rules', ALICE, '', { join_rule: 'invite' });
  branches.push(branch.state);
}

const rssBefore = process.resourceUsage().maxRSS;
const heapBefore = process.memoryUsage().heapUsed;
const index = new AuthChainIndex();
const source = {
  authChainIndex: index,
  getEvents: async (ids) => {
    const found = new Map();
    for (const id of ids) {
      const event = events.get(id);
      if (event !== undefined) found.set(id, event);
    }
    return found;
  },
};
let started = performance.now();
const resolved = await resolveState(branches, rules, source, options);
const coldMs = performance.now() - started;
const heapAfter = process.memoryUsage().heapUsed;
started = performance.now();
const again = await resolveState(branches, rules, source, options);
const warmMs = performance.now() - started;
if (again.size !== resolved.size) throw new Error('warm and cold resolutions differ');

console.log(
  JSON.stringify({
    size,
    forks: forkCount,
    algorithm,
    events: events.size,
    stateSize: resolved.size,
    indexed: index.size,
    coldMs,
    warmMs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    roomRssMb: rssBefore / 1024,
    heapGrowthMb: (heapAfter - heapBefore) / 1024 / 1024,
  }),
);
