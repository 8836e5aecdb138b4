import fc from 'fast-check';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { REDACTION_V1, REDACTION_V11, REDACTION_V6, REDACTION_V8, REDACTION_V9, redactEvent, type RedactionRules } from './redaction';

const ALGORITHMS: ReadonlyArray<[string, RedactionRules]> = [
  ['v1', REDACTION_V1],
  ['v6', REDACTION_V6],
  ['v8', REDACTION_V8],
  ['v9', REDACTION_V9],
  ['v11', REDACTION_V11],
];

// [event type, content key, kept by v1, v6, v8, v9, v11], each row from the rooms/vN "Redactions" lists.
const CONTENT_ROWS: ReadonlyArray<[string, string, boolean, boolean, boolean, boolean, boolean]> = [
  ['m.room.member', 'membership', true, true, true, true, true],
  ['m.room.member', 'join_authorised_via_users_server', false, false, false, true, true],
  ['m.room.member', 'displayname', false, false, false, false, false],
  ['m.room.create', 'creator', true, true, true, true, true],
  ['m.room.create', 'room_version', false, false, false, false, true],
  ['m.room.create', 'm.federate', false, false, false, false, true],
  ['m.room.create', 'org.example.anything', false, false, false, false, true],
  ['m.room.join_rules', 'join_rule', true, true, true, true, true],
  ['m.room.join_rules', 'allow', false, false, true, true, true],
  ['m.room.power_levels', 'ban', true, true, true, true, true],
  ['m.room.power_levels', 'events', true, true, true, true, true],
  ['m.room.power_levels', 'events_default', true, true, true, true, true],
  ['m.room.power_levels', 'kick', true, true, true, true, true],
  ['m.room.power_levels', 'redact', true, true, true, true, true],
  ['m.room.power_levels', 'state_default', true, true, true, true, true],
  ['m.room.power_levels', 'users', true, true, true, true, true],
  ['m.room.power_levels', 'users_default', true, true, true, true, true],
  ['m.room.power_levels', 'invite', false, false, false, false, true],
  ['m.room.power_levels', 'notifications', false, false, false, false, false],
  ['m.room.aliases', 'aliases', true, false, false, false, false],
  ['m.room.history_visibility', 'history_visibility', true, true, true, true, true],
  ['m.room.redaction', 'redacts', false, false, false, false, true],
  ['m.room.message', 'body', false, false, false, false, false],
  ['org.example.custom', 'membership', false, false, false, false, false],
];

// [top-level key, kept by v1, v6, v8, v9, v11].
const TOP_LEVEL_ROWS: ReadonlyArray<[string, boolean, boolean, boolean, boolean, boolean]> = [
  ['event_id', true, true, true, true, true],
  ['type', true, true, true, true, true],
  ['room_id', true, true, true, true, true],
  ['sender', true, true, true, true, true],
  ['state_key', true, true, true, true, true],
  ['hashes', true, true, true, true, true],
  ['signatures', true, true, true, true, true],
  ['depth', true, true, true, true, true],
  ['prev_events', true, true, true, true, true],
  ['auth_events', true, true, true, true, true],
  ['origin_server_ts', true, true, true, true, true],
  ['prev_state', true, true, true, true, false],
  ['origin', true, true, true, true, false],
  ['membership', true, true, true, true, false],
  ['unsigned', false, false, false, false, false],
  ['redacts', false, false, false, false, false],
  ['org.example.extra', false, false, false, false, false],
];

function event(type: string, content: JsonObject, extra: JsonObject = {}): JsonObject {
  return { type, sender: '@alice:example.org', room_id: '!room:example.org', content, ...extra };
}

describe('redaction: content keys kept per algorithm (rooms/vN, "Redactions")', () => {
  const cases = CONTENT_ROWS.flatMap(([type, key, ...kept]) =>
    ALGORITHMS.map(([name, rules], index) => [type, key, name, kept[index], rules] as const),
  );
  it.each(cases)('%s content.%s under %s: kept = %s', (type, key, _name, kept, rules) => {
    const content = redactEvent(event(type, { [key]: 'value' }), rules)['content'];
    expect(content).toEqual(kept ? { [key]: 'value' } : {});
  });
});

describe('redaction: top-level keys kept per algorithm (rooms/vN, "Redactions")', () => {
  const cases = TOP_LEVEL_ROWS.flatMap(([key, ...kept]) =>
    ALGORITHMS.map(([name, rules], index) => [key, name, kept[index], rules] as const),
  );
  it.each(cases)('%s under %s: kept = %s', (key, _name, kept, rules) => {
    const redacted = redactEvent({ type: 'm.room.message', content: {}, [key]: 'value' }, rules);
    expect(Object.prototype.hasOwnProperty.call(redacted, key)).toBe(kept);
  });
});

describe('redaction: m.room.member third_party_invite (rooms/v11, "Redactions")', () => {
  const invite = { display_name: 'Bob', signed: { mxid: '@bob:example.org', token: 'abc', signatures: {} } };

  it.each([
    ['v1', REDACTION_V1],
    ['v9', REDACTION_V9],
  ] as const)('is dropped under %s', (_name, rules) => {
    const redacted = redactEvent(event('m.room.member', { membership: 'invite', third_party_invite: invite }), rules);
    expect(redacted['content']).toEqual({ membership: 'invite' });
  });

  it('keeps only its signed key under v11', () => {
    const redacted = redactEvent(event('m.room.member', { membership: 'invite', third_party_invite: invite }), REDACTION_V11);
    expect(redacted['content']).toEqual({ membership: 'invite', third_party_invite: { signed: invite.signed } });
  });

  it('is not kept under v11 on other event types', () => {
    const redacted = redactEvent(event('m.room.message', { third_party_invite: invite }), REDACTION_V11);
    expect(redacted['content']).toEqual({});
  });
});

describe('redactEvent', () => {
  it('keeps the whole m.room.create content under v11, nested values included', () => {
    const content = { room_version: '11', 'm.federate': false, predecessor: { room_id: '!old:example.org' } };
    expect(redactEvent(event('m.room.create', content), REDACTION_V11)['content']).toEqual(content);
  });

  it('never mutates its input and shares no objects with it', () => {
    const input = event('m.room.power_levels', { users: { '@alice:example.org': 100 }, notifications: { room: 50 } }, {
      unsigned: { age: 5 },
    });
    const snapshot = structuredClone(input);
    const redacted = redactEvent(input, REDACTION_V11);
    expect(input).toEqual(snapshot);
    (redacted['content'] as { users: JsonObject }).users['@mallory:example.org'] = 100;
    expect(input).toEqual(snapshot);
  });

  it('treats a content that is not an object as empty', () => {
    expect(redactEvent({ type: 'm.room.member', content: 'oops' }, REDACTION_V11)).toEqual({ type: 'm.room.member', content: {} });
  });

  it('does not look up content keys through the prototype chain', () => {
    expect(redactEvent({ type: 'toString', content: { a: 1 } }, REDACTION_V1)['content']).toEqual({});
  });
});

describe('redaction is idempotent (property)', () => {
  const types = fc.constantFrom(
    'm.room.member',
    'm.room.create',
    'm.room.join_rules',
    'm.room.power_levels',
    'm.room.aliases',
    'm.room.history_visibility',
    'm.room.redaction',
    'm.room.message',
  );
  const key = fc.oneof(
    fc.constantFrom('membership', 'join_authorised_via_users_server', 'third_party_invite', 'signed', 'invite', 'allow', 'redacts', 'origin'),
    fc.string(),
  );
  const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.string(),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
  const pdu = fc.record({ type: types, content: fc.dictionary(key, json, { maxKeys: 5 }) }).chain((base) =>
    fc.dictionary(key, json, { maxKeys: 5 }).map((extra): JsonObject => ({ ...extra, ...base })),
  );

  it.each(ALGORITHMS)('redact(redact(x)) equals redact(x) under %s', (_name, rules) => {
    fc.assert(
      fc.property(pdu, (input) => {
        const once = redactEvent(input, rules);
        expect(redactEvent(once, rules)).toEqual(once);
      }),
    );
  });
});
