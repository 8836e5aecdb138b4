import type { JsonObject } from '@axon/matrix-canonical-json';
import type { ServerName } from '@axon/matrix-identifiers';
import { createNativeEd25519Backend, generateSigningKey, type Ed25519Backend, type KnownServerKeys } from '@axon/matrix-signing';
import { knownKeysOf, SignedRoom, type TestSigner } from '@axon/testing';
import { checkReceivedPdu, nameReceivedPdu, type EventKeySource } from './received-pdu';

let backend: Ed25519Backend;
let remote: TestSigner;

beforeAll(async () => {
  backend = (await createNativeEd25519Backend())!;
  const key = generateSigningKey(backend, 'r1');
  if (!key.ok) throw new Error(key.error);
  remote = { serverName: 'remote.test', key: key.value, backend };
});

const keysOf = (known: Record<string, KnownServerKeys>): EventKeySource => ({
  keysOf: (wanted) => Promise.resolve(new Map([...wanted.keys()].flatMap((server) => (known[server] === undefined ? [] : [[server, known[server]!] as [ServerName, KnownServerKeys]])))),
});

describe.each(['1', '3', '6', '10', '11', '12'])('checks on receipt, room version %s', (version) => {
  const BOB = '@bob:remote.test';

  function roomWithMessage(): { room: SignedRoom; message: JsonObject } {
    const room = SignedRoom.create(version, BOB, [remote]);
    const message = room.add({ type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'secret plans' } });
    return { room, message: JSON.parse(message.json) as JsonObject };
  }

  it('passes a well-formed event signed by its server, with its event ID', async () => {
    const room = SignedRoom.create(version, BOB, [remote]);
    const message = room.add({ type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'hi' } });
    const checked = await checkReceivedPdu(message.pdu, room.rules, keysOf({ 'remote.test': knownKeysOf(remote) }), backend);
    expect(checked).toMatchObject({ ok: true, value: { eventId: message.eventId, roomId: room.roomId, redacted: false, pduJson: message.json } });
  });

  it('drops an event whose signature does not verify, or whose server\'s keys are not known', async () => {
    const { room, message } = roomWithMessage();
    const forged = JSON.parse(JSON.stringify(message)) as JsonObject;
    const signatures = forged['signatures'] as Record<string, Record<string, string>>;
    const keyId = Object.keys(signatures['remote.test']!)[0]!;
    signatures['remote.test']![keyId] = `${signatures['remote.test']![keyId]!.slice(0, -4)}AAAA`;
    const wrong = await checkReceivedPdu(forged, room.rules, keysOf({ 'remote.test': knownKeysOf(remote) }), backend);
    expect(wrong).toMatchObject({ ok: false });
    if (!wrong.ok) expect(wrong.reason).toMatch(/^signatures:/);
    // Refused, but named: the /send answer reports the refusal under the event's ID.
    const id = room.events.at(-1)!.eventId;
    expect(wrong).toMatchObject({ eventId: id });
    const unknown = await checkReceivedPdu(message, room.rules, keysOf({}), backend);
    expect(unknown).toMatchObject({ ok: false, eventId: id });
    expect(nameReceivedPdu('not an event', room.rules)).toBeUndefined();
  });

  it('redacts an event whose content was changed after it was hashed, keeping it', async () => {
    const { room, message } = roomWithMessage();
    (message['content'] as JsonObject)['body'] = 'changed on the way';
    const checked = await checkReceivedPdu(message, room.rules, keysOf({ 'remote.test': knownKeysOf(remote) }), backend);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.redacted).toBe(true);
    expect(checked.value.pdu.content).toEqual({});
    expect(checked.value.pduJson).not.toContain('changed on the way');
  });

  it('drops what is not an event of the room version, and an event over 64 KiB, naming what it can', async () => {
    const { room, message } = roomWithMessage();
    const { type: _type, ...untyped } = message;
    expect((await checkReceivedPdu(untyped, room.rules, keysOf({ 'remote.test': knownKeysOf(remote) }), backend)).ok).toBe(false);
    const big = room.add({ type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'x'.repeat(70_000) } });
    const oversize = await checkReceivedPdu(big.pdu, room.rules, keysOf({ 'remote.test': knownKeysOf(remote) }), backend);
    expect(oversize).toMatchObject({ ok: false, eventId: big.eventId });
    if (!oversize.ok) expect(oversize.reason).toMatch(/bytes/);
  });
});
