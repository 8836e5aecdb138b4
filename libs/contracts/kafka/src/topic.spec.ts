import { bytesCodec, jsonCodec } from './codec';
import { deadLetterTopic, defineTopic, dlqTopicName, isValidTopicName, type Topic } from './topic';
import { typingTopic } from './edu-topics';
import { roomInputTopic, roomOutputTopic } from './room-topics';
import { configurePartitionCounts, registeredTopics } from './topics';

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

describe('the deployment’s partition counts (kafka.partitions)', () => {
  afterEach(() => configurePartitionCounts({}));

  it('replace the definitions’ counts of the topics they name, and their dead-letter twins’', () => {
    const defaults = new Map(registeredTopics().map((topic) => [topic.name, topic.partitions]));
    configurePartitionCounts({ 'hs.room.output.v1': 40, 'hs.edu.typing.v1': 5 });
    expect(roomOutputTopic.partitions).toBe(40);
    expect(deadLetterTopic(roomOutputTopic).partitions).toBe(40);
    expect(typingTopic.partitions).toBe(5);
    expect(roomInputTopic.partitions).toBe(defaults.get('hs.room.input.v1'));
    expect(Object.isFrozen(roomOutputTopic)).toBe(true);
    configurePartitionCounts({});
    for (const topic of registeredTopics()) expect(topic.partitions).toBe(defaults.get(topic.name));
  });

  it.each([
    [{ 'hs.room.nope.v1': 4 }, /not a topic/],
    [{ 'hs.room.output.v1.dlq': 4 }, /not a topic/],
    [{ 'hs.room.output.v1': 0 }, /1\.\.10000/],
    [{ 'hs.room.output.v1': 10_001 }, /1\.\.10000/],
    [{ 'hs.room.output.v1': 2.5 }, /1\.\.10000/],
  ])('refuse %j, changing nothing', (counts, message) => {
    configurePartitionCounts({ 'hs.room.output.v1': 24 });
    expect(() => configurePartitionCounts({ 'hs.edu.typing.v1': 6, ...counts })).toThrow(message);
    expect(roomOutputTopic.partitions).toBe(24);
    expect(typingTopic.partitions).not.toBe(6);
  });
});
