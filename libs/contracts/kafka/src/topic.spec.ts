import { bytesCodec, jsonCodec } from './codec';
import { deadLetterTopic, defineTopic, dlqTopicName, isValidTopicName, type Topic } from './topic';
import { registeredTopics } from './topics';

interface Greeting {
  readonly room_id: string;
  readonly body: string;
}

describe('topic names', () => {
  // The first-cut topics of ARCHITECTURE.md §5: all must be definable as written there.
  it.each([
    'hs.room.input.v1',
    'hs.room.output.v1',
    'hs.edu.typing.v1',
    'hs.edu.receipt.v1',
    'hs.edu.presence.v1',
    'hs.todevice.v1',
    'hs.account-data.v1',
    'hs.device-list.v1',
    'hs.federation.out.v1',
    'hs.room.input.v12',
  ])('accepts %s', (name) => {
    expect(isValidTopicName(name)).toBe(true);
  });

  it.each([
    ['no hs. prefix', 'room.input.v1'],
    ['no version', 'hs.room.input'],
    ['version zero', 'hs.room.input.v0'],
    ['uppercase', 'hs.Room.input.v1'],
    ['underscore', 'hs.room_input.v1'],
    ['too many segments', 'hs.room.input.extra.v1'],
    ['empty segment', 'hs..input.v1'],
    ['a dead-letter topic', 'hs.room.input.v1.dlq'],
    ['trailing junk', 'hs.room.input.v1 '],
  ])('rejects %s (%s)', (_why, name) => {
    expect(isValidTopicName(name)).toBe(false);
    expect(() => defineTopic({ name, partitions: 1, key: () => 'k', codec: bytesCodec })).toThrow(/does not match/);
  });

  it('every registered topic follows the rule, has a unique name and a valid partition count', () => {
    const names = registeredTopics().map((t) => t.name);
    for (const name of names) expect(isValidTopicName(name)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    for (const topic of registeredTopics()) expect(topic.partitions).toBeGreaterThanOrEqual(1);
  });
});

describe('defineTopic', () => {
  it('names the dead-letter topic <topic>.dlq and defaults retention to durable', () => {
    const topic = defineTopic<Greeting>({ name: 'hs.test.greeting.v1', partitions: 3, key: (m) => m.room_id, codec: jsonCodec() });
    expect(topic.dlqName).toBe('hs.test.greeting.v1.dlq');
    expect(dlqTopicName(topic.name)).toBe(topic.dlqName);
    expect(topic.retention).toBe('durable');
    expect(topic.key({ room_id: '!a:example.org', body: 'hi' })).toBe('!a:example.org');
    expect(Object.isFrozen(topic)).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects %p partitions', (partitions) => {
    expect(() => defineTopic({ name: 'hs.test.bad.v1', partitions, key: () => 'k', codec: bytesCodec })).toThrow(/partitions/);
  });

  it('a typed topic is usable where any topic is expected', () => {
    const typed: Topic<Greeting> = defineTopic<Greeting>({ name: 'hs.test.typed.v1', partitions: 1, key: (m) => m.room_id, codec: jsonCodec() });
    const names = (topics: readonly Topic<unknown>[]): string[] => topics.map((t) => t.name);
    expect(names([typed])).toEqual(['hs.test.typed.v1']);
  });

  it('gives the dead-letter topic the same partitions, raw bytes, and no dead-letter topic of its own', () => {
    const topic = defineTopic<Greeting>({ name: 'hs.test.dead.v1', partitions: 4, key: (m) => m.room_id, codec: jsonCodec(), retention: 'ephemeral' });
    const dlq = deadLetterTopic(topic);
    expect(dlq).toMatchObject({ name: 'hs.test.dead.v1.dlq', partitions: 4, retention: 'ephemeral' });
    expect(dlq.dlqName).toBeUndefined();
    expect(() => deadLetterTopic(dlq as Topic<unknown>)).toThrow(/no dead-letter topic of its own/);
    const poison = Buffer.from('{not json');
    expect(dlq.codec.decode(poison)).toBe(poison);
    expect(() => dlq.key(poison)).toThrow(/written by the bus only/);
  });
});
