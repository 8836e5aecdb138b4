import { KeyQueue } from './key-queue';

describe('KeyQueue', () => {
  it('gives out one item per key at a time, in insertion order, interleaving keys', () => {
    const q = new KeyQueue<string>();
    for (const [key, item] of [['a', 'a1'], ['a', 'a2'], ['b', 'b1'], ['a', 'a3'], ['c', 'c1']] as const) q.push(key, item);
    expect(q.size).toBe(5);
    expect([q.take()?.item, q.take()?.item, q.take()?.item]).toEqual(['a1', 'b1', 'c1']);
    expect(q.take()).toBeUndefined(); // a2 waits for a1
    q.release('a');
    expect(q.take()?.item).toBe('a2');
    q.release('b');
    q.release('c');
    expect(q.take()).toBeUndefined();
    q.release('a');
    expect(q.take()?.item).toBe('a3');
    expect(q.size).toBe(0);
  });

  it('a key released with an empty queue takes new items at once', () => {
    const q = new KeyQueue<number>();
    q.push('k', 1);
    expect(q.take()?.item).toBe(1);
    q.push('k', 2);
    expect(q.take()).toBeUndefined();
    q.release('k');
    expect(q.take()?.item).toBe(2);
  });

  it('refuses to release a key that is not out', () => {
    expect(() => new KeyQueue<number>().release('nope')).toThrow(/not busy/);
  });

  it('clear drops what is queued, not what is out', () => {
    const q = new KeyQueue<number>();
    q.push('a', 1);
    q.push('a', 2);
    q.take();
    q.clear();
    expect(q.size).toBe(0);
    q.release('a');
    expect(q.take()).toBeUndefined();
  });

  it('stays correct over many keys and items (compaction)', () => {
    const q = new KeyQueue<number>();
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) q.push(`k${i % 50}`, i);
    for (let next = q.take(); next; next = q.take()) {
      out.push(next.item);
      q.release(next.key);
    }
    expect(out).toHaveLength(5000);
    for (let k = 0; k < 50; k++) {
      const mine = out.filter((i) => i % 50 === k);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
  });

  it('passes over keys the caller skips, leaving them ready for later', () => {
    const q = new KeyQueue<number>();
    q.push('a', 1);
    q.push('b', 2);
    expect(q.take((key) => key === 'a')).toEqual({ key: 'b', item: 2 });
    expect(q.take((key) => key === 'a')).toBeUndefined();
    expect(q.take()).toEqual({ key: 'a', item: 1 });
  });

  it('takeBatch takes whole queues of ready keys up to the cap, skipping busy and refused keys; one release per key', () => {
    const q = new KeyQueue<number>();
    for (const [key, item] of [['a', 0], ['b', 1], ['a', 2], ['c', 3], ['b', 4], ['d', 5]] as const) q.push(key, item);
    expect(q.take()).toEqual({ key: 'a', item: 0 });
    // a is out: its 2 waits. c is refused. b's two and d's one fit the cap of 3.
    expect(q.takeBatch(3, (key) => key === 'c')).toEqual([
      { key: 'b', item: 1 },
      { key: 'b', item: 4 },
      { key: 'd', item: 5 },
    ]);
    expect(q.takeBatch(3, (key) => key === 'c')).toEqual([]);
    q.release('a');
    q.release('b');
    expect(q.takeBatch(1)).toEqual([{ key: 'c', item: 3 }]);
    expect(q.takeBatch(5)).toEqual([{ key: 'a', item: 2 }]);
    expect(q.size).toBe(0);
  });

  it('takeOldest merges the ready keys\' queues by position, up to the cap, leaving the rest queued', () => {
    const q = new KeyQueue<number>();
    for (const [key, item] of [['a', 0], ['b', 1], ['a', 2], ['c', 3], ['b', 4]] as const) q.push(key, item);
    expect(q.takeOldest(3, (item) => BigInt(item)).map((t) => t.item)).toEqual([0, 1, 2]);
    // a and b are out now (b keeps 4 queued); only c is ready.
    expect(q.takeOldest(3, (item) => BigInt(item)).map((t) => t.item)).toEqual([3]);
    q.release('b');
    expect(q.takeOldest(3, (item) => BigInt(item)).map((t) => t.item)).toEqual([4]);
  });
});
