import { applyEventFields, splitPropertyPath } from './event-fields';

const event = {
  type: 'm.room.message',
  sender: '@alice:example.com',
  event_id: '$143273582443PhrSn:example.org',
  origin_server_ts: 1432735824653,
  room_id: '!jEsUZKDJdhlrceRyVU:example.org',
  unsigned: { age: 1234 },
  content: {
    body: 'hello',
    msgtype: 'm.text',
    'm.relates_to': { rel_type: 'm.thread', event_id: '$root' },
    'm\\foo': 'backslash',
    'm.x': { y: 'dotted then nested' },
  },
};

describe('splitPropertyPath (spec: Dot-separated property paths)', () => {
  it.each([
    ['content.body', ['content', 'body']],
    ['content.m\\.relates_to', ['content', 'm.relates_to']],
    ['content.m\\\\foo', ['content', 'm\\foo']],
    ['content.\\x', ['content', '\\x']],
    ['a\\', ['a\\']],
    ['type', ['type']],
    ['a..b', ['a', '', 'b']],
  ])('%s is %j', (path, names) => {
    expect(splitPropertyPath(path)).toEqual(names);
  });
});

describe('applyEventFields (spec: Filter event_fields)', () => {
  it('keeps the fields of the spec example ["type", "content", "sender"]', () => {
    expect(applyEventFields(event, ['type', 'content', 'sender'])).toEqual({ type: event.type, content: event.content, sender: event.sender });
  });

  it('keeps only body inside content for the spec example ["content.body"]', () => {
    expect(applyEventFields(event, ['content.body'])).toEqual({ content: { body: 'hello' } });
  });

  it('reads `content.m\\.relates_to` as the m.relates_to property of content (the spec example)', () => {
    expect(applyEventFields(event, ['content.m\\.relates_to'])).toEqual({ content: { 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } } });
  });

  it('reads `content.m\\\\foo` as the m\\foo property of content (the spec example)', () => {
    expect(applyEventFields(event, ['content.m\\\\foo'])).toEqual({ content: { 'm\\foo': 'backslash' } });
  });

  it('merges several paths into the same object, escaped and not', () => {
    expect(applyEventFields(event, ['content.body', 'content.m\\.x.y', 'unsigned.age', 'type'])).toEqual({
      content: { body: 'hello', 'm.x': { y: 'dotted then nested' } },
      unsigned: { age: 1234 },
      type: 'm.room.message',
    });
  });

  it('skips paths to missing keys and through non-objects', () => {
    expect(applyEventFields(event, ['content.missing', 'nope', 'content.body.length', 'content.m.relates_to', 'type'])).toEqual({ type: 'm.room.message' });
  });

  it('keeps null values, which are present', () => {
    expect(applyEventFields({ type: 't', content: { url: null } }, ['content.url'])).toEqual({ content: { url: null } });
  });

  it('copies values rather than referencing the event', () => {
    const projected = applyEventFields(event, ['content', 'unsigned.age']) as { content: Record<string, unknown> };
    expect(projected.content).not.toBe(event.content);
    projected.content['body'] = 'changed';
    (projected.content['m.relates_to'] as Record<string, unknown>)['rel_type'] = 'changed';
    expect(event.content.body).toBe('hello');
    expect(event.content['m.relates_to'].rel_type).toBe('m.thread');
  });

  it('returns every field when event_fields is absent, and none for an empty list', () => {
    expect(applyEventFields(event, undefined)).toBe(event);
    expect(applyEventFields(event, [])).toEqual({});
  });

  it('copies a `__proto__` key as an own property without touching prototypes', () => {
    const hostile = JSON.parse('{"content": {"__proto__": {"polluted": true}}}') as object;
    const projected = applyEventFields(hostile, ['content.__proto__.polluted']) as { content: object };
    expect(Object.getOwnPropertyNames(projected.content)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(projected.content)).toBe(Object.prototype);
  });
});
