import type { Topic } from './topic';
import { deviceListTopic, presenceTopic, receiptTopic, toDeviceTopic, typingTopic } from './edu-topics';

function roundTrip<T>(topic: Topic<T>, value: T): T {
  return topic.codec.decode(topic.codec.encode(value));
}

function decode(topic: Topic<unknown>, value: unknown): unknown {
  return topic.codec.decode(Buffer.from(JSON.stringify(value)));
}

describe('EDU topics', () => {
  it('round-trip valid payloads, keyed by room (receipts, typing) or user (presence, to-device, device lists)', () => {
    const receipt = { room_id: '!r:x', user_id: '@a:x', receipt_type: 'm.read' as const, event_id: '$e', thread_id: 'main', ts: 1 };
    expect(roundTrip(receiptTopic, receipt)).toEqual(receipt);
    expect(receiptTopic.key(receipt)).toBe('!r:x');
    const typing = { room_id: '!r:x', user_id: '@a:x', typing: true, expires_at: 5 };
    expect(roundTrip(typingTopic, typing)).toEqual(typing);
    expect(typingTopic.key(typing)).toBe('!r:x');
    const presence = { user_id: '@a:x', presence: 'online' as const, status_msg: null, last_active_ts: 3, currently_active: true };
    expect(roundTrip(presenceTopic, presence)).toEqual(presence);
    expect(presenceTopic.key(presence)).toBe('@a:x');
    const toDevice = { recipient: '@b:x', sender: '@a:x', type: 'm.test', message_id: 'm1', messages: { DEV: { a: 1 } } };
    expect(roundTrip(toDeviceTopic, toDevice)).toEqual(toDevice);
    expect(toDeviceTopic.key(toDevice)).toBe('@b:x');
    const change = { user_id: '@a:x', device_id: 'D', change: 'added' as const };
    expect(roundTrip(deviceListTopic, change)).toEqual(change);
    expect(deviceListTopic.key(change)).toBe('@a:x');
  });

  it('keeps typing and presence out of durable retention', () => {
    expect([typingTopic.retention, presenceTopic.retention]).toEqual(['ephemeral', 'ephemeral']);
    expect([receiptTopic.retention, toDeviceTopic.retention, deviceListTopic.retention]).toEqual(['durable', 'durable', 'durable']);
  });

  it.each([
    [receiptTopic, { room_id: '!r:x', user_id: '@a:x', receipt_type: 'm.fully_read', event_id: '$e', ts: 1 }],
    [receiptTopic, { room_id: '!r:x', user_id: '@a:x', receipt_type: 'm.read', event_id: '', ts: 1 }],
    [typingTopic, { room_id: '!r:x', user_id: '@a:x', typing: 'yes', expires_at: 5 }],
    [presenceTopic, { user_id: '@a:x', presence: 'away', last_active_ts: 3, currently_active: true }],
    [presenceTopic, { user_id: '@a:x', presence: 'online', status_msg: 4, last_active_ts: 3, currently_active: true }],
    [toDeviceTopic, { recipient: '@b:x', sender: '@a:x', type: 'm.test', message_id: 'm1', messages: { DEV: 'text' } }],
    [deviceListTopic, { user_id: '@a:x', device_id: 'D', change: 'renamed' }],
  ] as Array<[Topic<unknown>, unknown]>)('refuses a malformed payload on %#', (topic, value) => {
    expect(() => decode(topic, value)).toThrow(TypeError);
  });
});
