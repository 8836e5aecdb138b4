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
});
