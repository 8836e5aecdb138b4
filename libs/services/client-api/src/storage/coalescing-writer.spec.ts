import { CoalescingWriter } from './coalescing-writer';

/** An insert whose statements the test completes or fails one by one. */
function controlledInsert() {
  const statements: { rows: readonly string[]; commit: () => void; fail: (error: Error) => void }[] = [];
  const insert = (rows: readonly string[]) =>
    new Promise<void>((commit, fail) => {
      statements.push({ rows, commit, fail });
    });
  return { statements, insert };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescingWriter', () => {
  it('starts a lone write at once, and sends every write that arrived meanwhile together in the next statement', async () => {
    const { statements, insert } = controlledInsert();
    const writer = new CoalescingWriter(insert);
    const done: string[] = [];
    const write = (row: string) => writer.write(row).then(() => done.push(row));

    const first = write('a');
    expect(statements.map((statement) => statement.rows)).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map(write);
    await settled();
    expect(statements).toHaveLength(1);

    statements[0]!.commit();
    await first;
    await settled();
    expect(done).toEqual(['a']);
    expect(statements.map((statement) => statement.rows)).toEqual([['a'], ['b', 'c', 'd']]);

    statements[1]!.commit();
    await Promise.all(rest);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
  });

  it('resolves a write only once the statement carrying its row committed', async () => {
    const { statements, insert } = controlledInsert();
    const writer = new CoalescingWriter(insert);
    void writer.write('a');
    let durable = false;
    const second = writer.write('b').then(() => (durable = true));
    statements[0]!.commit();
    await settled();
    expect(durable).toBe(false);
    statements[1]!.commit();
    await second;
    expect(durable).toBe(true);
  });

  it('rejects exactly the writes of a failed statement and goes on with the next ones', async () => {
    const { statements, insert } = controlledInsert();
    const writer = new CoalescingWriter(insert);
    const first = writer.write('a');
    const second = writer.write('b');
    const third = writer.write('c');
    statements[0]!.commit();
    await first;
    await settled();
    statements[1]!.fail(new Error('connection lost'));
    await expect(second).rejects.toThrow('connection lost');
    await expect(third).rejects.toThrow('connection lost');

    const fourth = writer.write('d');
    expect(statements.map((statement) => statement.rows)).toEqual([['a'], ['b', 'c'], ['d']]);
    statements[2]!.commit();
    await expect(fourth).resolves.toBeUndefined();
  });

  it('splits a backlog into statements of at most maxRows rows, in arrival order', async () => {
    const { statements, insert } = controlledInsert();
    const writer = new CoalescingWriter(insert, 2);
    const writes = ['a', 'b', 'c', 'd', 'e', 'f'].map((row) => writer.write(row));
    for (let i = 0; i < 4; i++) {
      statements[i]!.commit();
      await settled();
    }
    await Promise.all(writes);
    expect(statements.map((statement) => statement.rows)).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f']]);
  });
});
