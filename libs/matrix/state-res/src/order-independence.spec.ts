import fc from 'fast-check';
import type { StateResolutionEvent } from './state-resolution-source';
import { ALICE, BOB, CHARLIE, ROOM_V1, ROOM_V11, ROOM_V12, TestRoom, ZARA, type Branch, type NamedRules } from './testing/state-res-room';

// The resolution of a set of states is a function of the set: neither the order of the
// state sets nor (for v2, which indexes the auth DAG as it loads it) the order in which
// the source holds the events may change it.
// Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution

type Action =
  | { readonly kind: 'topic'; readonly sender: string; readonly ts: number }
  | { readonly kind: 'power'; readonly sender: string; readonly bob: number; readonly charlie: number; readonly ts: number }
  | { readonly kind: 'joinRule'; readonly sender: string; readonly rule: string; readonly ts: number }
  | { readonly kind: 'member'; readonly sender: string; readonly target: string; readonly membership: string; readonly ts: number };

const user = fc.constantFrom(ALICE, BOB, CHARLIE, ZARA);
const ts = fc.integer({ min: 10, max: 30 });
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('topic' as const), sender: user, ts }),
  fc.record({ kind: fc.constant('power' as const), sender: fc.constantFrom(ALICE, BOB), bob: fc.constantFrom(0, 50, 100), charlie: fc.constantFrom(0, 50), ts }),
  fc.record({ kind: fc.constant('joinRule' as const), sender: fc.constantFrom(ALICE, BOB), rule: fc.constantFrom('public', 'invite'), ts }),
  fc.record({ kind: fc.constant('member' as const), sender: user, target: user, membership: fc.constantFrom('join', 'leave', 'ban', 'invite'), ts }),
);
/** Forks: each starts from the room's root or from an earlier fork, then acts. */
const forks = fc.array(fc.record({ from: fc.nat(), actions: fc.array(action, { minLength: 1, maxLength: 4 }) }), { minLength: 2, maxLength: 4 });

function build(rules: NamedRules, plan: readonly { from: number; actions: readonly Action[] }[]): { room: TestRoom; sets: Map<never, string>[] } {
  const room = new TestRoom(rules, { users: { [BOB]: 50, [CHARLIE]: 50 } });
  const branches: Branch[] = [];
  plan.forEach(({ from, actions }, f) => {
    const start = from % (branches.length + 1);
    const branch = start === 0 ? room.root.fork() : (branches[start - 1] as Branch).fork();
    actions.forEach((step, i) => {
      const id = `$f${f}e${i}`;
      const extra = { ts: step.ts };
      if (step.kind === 'topic') branch.state0(id, step.sender, 'm.room.topic', { topic: id }, extra);
      else if (step.kind === 'power') branch.powerLevels(id, step.sender, { [BOB]: step.bob, [CHARLIE]: step.charlie }, extra);
      else if (step.kind === 'joinRule') branch.state0(id, step.sender, 'm.room.join_rules', { join_rule: step.rule }, extra);
      else branch.member(id, step.sender, step.target, step.membership, extra);
    });
    branches.push(branch);
  });
  return { room, sets: branches.map((branch) => branch.state as Map<never, string>) };
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe.each([ROOM_V1, ROOM_V11, ROOM_V12])('order independence ($name)', (rules: NamedRules) => {
  it('property: the resolved state does not depend on the order of the state sets or of the source\'s events', async () => {
    await fc.assert(
      fc.asyncProperty(forks, fc.integer(), fc.integer(), async (plan, setSeed, eventSeed) => {
        const { room, sets } = build(rules, plan);
        const expected = await room.resolve(sets);
        const order = (events: StateResolutionEvent[]) => shuffle(events, eventSeed);
        const actual = await room.resolve(shuffle(sets, setSeed), room.source({ order }));
        expect([...actual].sort()).toEqual([...expected].sort());
      }),
      { numRuns: 60 },
    );
  });
});
