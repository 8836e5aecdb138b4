import fc from 'fast-check';
import { AuthChainIndex } from './auth-chain';
import type { StateResolutionEvent } from './state-resolution-source';
import { stateResolutionSourceFromEvents } from './state-resolution-source';

// The auth chain, auth difference and conflicted state subgraph of the index, against
// their definitions computed naively by walking `auth_events`.
// Spec: https://spec.matrix.org/v1.19/rooms/v2/#definitions
//       https://spec.matrix.org/v1.19/rooms/v12/#definitions

/** A bare DAG node: only `event_id` and `auth_events` matter to the index. */
function node(id: string, authEvents: readonly string[] = []): StateResolutionEvent {
  return { event_id: id, type: 'm.test', state_key: id, sender: '@a:example.org', content: {}, origin_server_ts: 0, depth: 0, auth_events: authEvents, prev_events: [] };
}

function naiveChain(id: string, byId: ReadonlyMap<string, StateResolutionEvent>): Set<string> {
  const chain = new Set<string>();
  const stack = [...(byId.get(id)?.auth_events ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (chain.has(next) || !byId.has(next)) continue;
    chain.add(next);
    stack.push(...(byId.get(next)?.auth_events ?? []));
  }
  return chain;
}

/** Random DAGs: node i cites up to three of the nodes before it. */
const dags = fc.integer({ min: 1, max: 40 }).chain((size) =>
  fc.tuple(...Array.from({ length: size }, (_, i) => (i === 0 ? fc.constant<number[]>([]) : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: 3 })))).map((parents) =>
    parents.map((list, i) => node(`$${i}`, list.map((p) => `$${p}`))),
  ),
);

describe('AuthChainIndex', () => {
  //   $create <- $power <- $alice <- $topic
  //                  ^------ $bob <- $name
  const room = [node('$create'), node('$power', ['$create']), node('$alice', ['$create', '$power']), node('$bob', ['$create', '$power']), node('$topic', ['$alice', '$power']), node('$name', ['$bob'])];

  it.each([
    { id: '$create', chain: [] },
    { id: '$power', chain: ['$create'] },
    { id: '$topic', chain: ['$alice', '$create', '$power'] },
    { id: '$name', chain: ['$bob', '$create', '$power'] },
  ])('the auth chain of $id is every event reachable through auth_events', ({ id, chain }) => {
    const index = new AuthChainIndex();
    index.add([...room].reverse()); // any order: auth events are placed first
    expect(index.authChain(id)?.sort()).toEqual(chain);
  });

  it.each([
    { case: 'the chains of one side only', sets: [['$topic'], ['$name']], common: [], diff: ['$alice', '$bob'] },
    { case: 'a chain shared through the unconflicted state', sets: [['$topic'], ['$name']], common: ['$name'], diff: ['$alice'] },
    { case: 'identical sets', sets: [['$topic'], ['$topic']], common: [], diff: [] },
    { case: 'unknown events contribute nothing', sets: [['$topic'], ['$unknown']], common: [], diff: ['$alice', '$create', '$power'] },
  ])('auth difference: $case', ({ sets, common, diff }) => {
    const index = new AuthChainIndex();
    index.add(room);
    expect([...index.authDifference(sets, common)].sort()).toEqual(diff);
  });

  it.each([
    { case: 'a path through a non-conflicted event', conflicted: ['$topic', '$power'], subgraph: ['$alice', '$power', '$topic'] },
    { case: 'no path between the conflicted events', conflicted: ['$topic', '$name'], subgraph: ['$name', '$topic'] },
    { case: 'a path and a dead end ($bob only leads to $power)', conflicted: ['$name', '$topic', '$power'], subgraph: ['$alice', '$bob', '$name', '$power', '$topic'] },
    { case: 'ancestors of the oldest conflicted event are out', conflicted: ['$alice', '$power'], subgraph: ['$alice', '$power'] },
  ])('conflicted state subgraph: $case', ({ conflicted, subgraph }) => {
    const index = new AuthChainIndex();
    index.add(room);
    expect([...index.conflictedStateSubgraph(conflicted)].sort()).toEqual(subgraph);
  });

  it('loads auth chains from a source in one batch per level, skipping unknown events', async () => {
    const batches: string[][] = [];
    const inner = stateResolutionSourceFromEvents(room.filter((event) => event.event_id !== '$bob'));
    const index = new AuthChainIndex();
    await index.load(['$topic', '$name'], { getEvents: (ids) => (batches.push([...ids]), inner.getEvents(ids)) });
    expect(batches).toEqual([['$topic', '$name'], ['$alice', '$power', '$bob'], ['$create']]);
    expect(index.authChain('$name')).toEqual([]);
    expect(index.has('$bob')).toBe(false);
    expect(index.isInAuthChain('$create', '$topic')).toBe(true);
    expect(index.isInAuthChain('$topic', '$create')).toBe(false);
  });

  it('indexes a 5,000-deep auth chain added newest first without overflowing the stack', () => {
    const events = Array.from({ length: 5000 }, (_, i) => node(`$${i}`, i === 0 ? [] : [`$${i - 1}`]));
    const index = new AuthChainIndex();
    index.add([...events].reverse());
    expect(index.authChain('$4999')).toHaveLength(4999);
    expect(index.isInAuthChain('$0', '$4999')).toBe(true);
  });

  it('property: auth chains, auth difference and subgraph match their definitions on random DAGs', () => {
    fc.assert(
      fc.property(dags, fc.array(fc.array(fc.nat(), { maxLength: 6 }), { minLength: 2, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), (events, rawSets, rawCommon) => {
        const byId = new Map(events.map((event) => [event.event_id, event]));
        const pick = (raw: number[]) => [...new Set(raw.map((i) => `$${i % events.length}`))];
        const sets = rawSets.map(pick);
        const common = pick(rawCommon);
        const index = new AuthChainIndex();
        index.add([...events].reverse());
        for (const event of events) expect(new Set(index.authChain(event.event_id))).toEqual(naiveChain(event.event_id, byId));
        const chains = sets.map((set) => {
          const chain = new Set<string>();
          for (const id of [...set, ...common]) for (const a of naiveChain(id, byId)) chain.add(a);
          return chain;
        });
        const union = new Set(chains.flatMap((chain) => [...chain]));
        const expectedDiff = [...union].filter((id) => !chains.every((chain) => chain.has(id)));
        expect([...index.authDifference(sets, common)].sort()).toEqual(expectedDiff.sort());
        const conflicted = sets.flat();
        const expectedSubgraph = events
          .map((event) => event.event_id)
          .filter((x) => conflicted.some((c1) => c1 === x || naiveChain(c1, byId).has(x)) && conflicted.some((c2) => c2 === x || naiveChain(x, byId).has(c2)));
        expect([...index.conflictedStateSubgraph(conflicted)].sort()).toEqual(expectedSubgraph.sort());
      }),
      { numRuns: 200 },
    );
  });
});
