import { GroupCommit } from './group-commit';

/** A commit function that records each call's items and can be made to fail on an item. */
function recorder(fail: (item: string) => boolean = () => false) {
  const calls: string[][] = [];
  let release: (() => void) | undefined;
  const commit = async (items: readonly string[]): Promise<string[]> => {
    calls.push([...items]);
    // The first call waits until released, so that the next submissions queue behind it.
    if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
    if (items.some(fail)) throw new Error(`cannot write ${items.find(fail)}`);
    return items.map((item) => `ok:${item}`);
  };
  return { calls, commit, release: () => release?.() };
}

describe('GroupCommit', () => {
  it('commits a lone item at once and the items submitted meanwhile together, in order, each with its own result', async () => {
    const r = recorder();
    const group = new GroupCommit(r.commit);
    const first = group.submit('a');
    const rest = ['b', 'c', 'd'].map((item) => group.submit(item));
    expect(r.calls).toEqual([['a']]);
    r.release();
    expect(await first).toBe('ok:a');
    expect(await Promise.all(rest)).toEqual(['ok:b', 'ok:c', 'ok:d']);
    expect(r.calls).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('bounds a commit by weight, taking at least one item however heavy', async () => {
    const r = recorder();
    const group = new GroupCommit(r.commit, { maxWeight: 5, weight: (item) => item.length });
    const all = [group.submit('x'), group.submit('aa'), group.submit('bbb'), group.submit('cccccccc'), group.submit('d')];
    r.release();
    await Promise.all(all);
    expect(r.calls).toEqual([['x'], ['aa', 'bbb'], ['cccccccc'], ['d']]);
  });

  it('retries a failed shared commit item by item, so only the bad item fails', async () => {
    const r = recorder((item) => item === 'bad');
    const group = new GroupCommit(r.commit);
    const first = group.submit('a');
    const [b, bad, c] = [group.submit('b'), group.submit('bad'), group.submit('c')];
    r.release();
    await first;
    await expect(b).resolves.toBe('ok:b');
    await expect(bad).rejects.toThrow('cannot write bad');
    await expect(c).resolves.toBe('ok:c');
    expect(r.calls).toEqual([['a'], ['b', 'bad', 'c'], ['b'], ['bad'], ['c']]);
  });

  it('fails the whole group at once when the failure is not the items\' (retryAlone false)', async () => {
    const r = recorder((item) => item !== 'a');
    const group = new GroupCommit(r.commit, { retryAlone: () => false });
    const first = group.submit('a');
    const [b, c] = [group.submit('b'), group.submit('c')];
    r.release();
    await first;
    await expect(b).rejects.toThrow();
    await expect(c).rejects.toThrow();
    expect(r.calls).toEqual([['a'], ['b', 'c']]);
  });
});
