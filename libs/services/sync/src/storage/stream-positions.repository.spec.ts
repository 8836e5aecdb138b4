import type { DataSource } from '@axon/platform-database';
import { roomOutputTopic } from '@axon/contracts-kafka';
import { StreamPositionsRepository } from './stream-positions.repository';

type Row = { topic: string; partition: number; offset: string };

/** A `stream_heads` table whose reads finish when the test says so. */
function fakeHeads() {
  let table: Row[] = [];
  const reads: Array<{ rows: Row[]; finish: () => void; fail: (error: Error) => void }> = [];
  const db = {
    query: () =>
      new Promise<Row[]>((resolve, reject) => {
        // What the read sees is the table as it was when the read started.
        const rows = [...table];
        reads.push({ rows, finish: () => resolve(rows), fail: reject });
      }),
  } as unknown as DataSource;
  return {
    repository: new StreamPositionsRepository(db),
    reads,
    commit: (offset: number) => {
      table = [{ topic: roomOutputTopic.name, partition: 0, offset: String(offset) }];
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('StreamPositionsRepository.heads', () => {
  it('reads at once for a lone caller', async () => {
    const { repository, reads, commit } = fakeHeads();
    commit(4);
    const heads = repository.heads();
    expect(reads).toHaveLength(1);
    reads[0]!.finish();
    expect((await heads).rooms[0]).toBe(4);
  });

  it('gives callers that come while a read runs the next read, which sees what was committed before they came', async () => {
    const { repository, reads, commit } = fakeHeads();
    commit(1);
    const first = repository.heads();
    // Committed (and announced) after the first read started: the callers below must see it.
    commit(2);
    const later = [repository.heads(), repository.heads(), repository.heads()];
    expect(reads).toHaveLength(1);
    reads[0]!.finish();
    expect((await first).rooms[0]).toBe(1);
    await settle();
    // One read for all three, started after the first ended.
    expect(reads).toHaveLength(2);
    reads[1]!.finish();
    for (const heads of await Promise.all(later)) expect(heads.rooms[0]).toBe(2);
  });

  it('fails only the callers of a failed read; the next caller reads again', async () => {
    const { repository, reads, commit } = fakeHeads();
    commit(3);
    const failing = repository.heads();
    const following = repository.heads();
    reads[0]!.fail(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    await settle();
    reads[1]!.finish();
    expect((await following).rooms[0]).toBe(3);
    const again = repository.heads();
    expect(reads).toHaveLength(3);
    reads[2]!.finish();
    expect((await again).rooms[0]).toBe(3);
  });
});
