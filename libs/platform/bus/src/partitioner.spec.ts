import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey } from './partitioner';

describe('partitionForKey', () => {
  // Reference values from Kafka's own UtilsTest.testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%j) is Kafka\'s %d', (key, expected) => {
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(expected);
  });

  it('agrees with the kafkajs default partitioner for every key', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 8, 16]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
      }));
      for (let i = 0; i < 200; i++) {
        const key = `!room${i}:example.org/é${'x'.repeat(i % 7)}`;
        const theirs = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionForKey(key, partitions)).toBe(theirs);
      }
    }
  });
});
