import type { JsonObject } from '@axon/matrix-canonical-json';
import { encodeUnpaddedBase64, encodeUrlSafeUnpaddedBase64 } from '@axon/matrix-canonical-json';
import { createNativeEd25519Backend, encodeVerifyKey, generateSigningKey, signJson, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import { getThirdPartyInvitePublicKeys, verifyThirdPartyInviteSignature } from './third-party-invite';
import { ALICE, BOB, CAROL, outcome, RoomFixture, VERSION_NAMES, OPTIONS } from './testing/room-fixture';

// Rule 5.4.1 (v12 numbering): an invite made from a third-party invite, with a `signed`
// block signed by the identity server whose key the m.room.third_party_invite publishes.
describe('third-party invites', () => {
  let backend: Ed25519Backend;
  let key: SigningKey;
  let otherKey: SigningKey;
  beforeAll(async () => {
    const created = await createNativeEd25519Backend();
    if (created === undefined) throw new Error('no Ed25519');
    backend = created;
    const generated = generateSigningKey(backend, 'is1');
    const other = generateSigningKey(backend, 'is2');
    if (!generated.ok || !other.ok) throw new Error('key');
    key = generated.value;
    otherKey = other.value;
  });

  const signed = (mxid: string, token: string, by: SigningKey = key): JsonObject =>
    signJson({ mxid, token, sender: BOB }, { serverName: 'id.example', key: by, backend });

  const roomWithInvite = (version: (typeof VERSION_NAMES)[number], content?: JsonObject): RoomFixture => {
    const room = new RoomFixture(version);
    room.apply({
      type: 'm.room.third_party_invite',
      sender: BOB,
      state_key: 'tok',
      content: content ?? { display_name: 'c***@example.org', public_keys: [{ public_key: encodeVerifyKey(key, backend) }] },
    });
    return room;
  };

  const invite = (room: RoomFixture, thirdPartyInvite: JsonObject, sender = BOB) =>
    room.check({ type: 'm.room.member', sender, state_key: CAROL, content: { membership: 'invite', third_party_invite: thirdPartyInvite } }, { ...OPTIONS, backend });

  it.each(VERSION_NAMES)('%s: a validly signed invite is allowed, even from a sender who is not joined', (version) => {
    const room = roomWithInvite(version);
    expect(outcome(invite(room, { display_name: 'c', signed: signed(CAROL, 'tok') }))).toBe('allow');
    room.member(BOB, 'leave');
    expect(outcome(invite(room, { display_name: 'c', signed: signed(CAROL, 'tok') }))).toBe('allow');
  });

  it('accepts the single public_key form and URL-safe keys', () => {
    const raw = encodeVerifyKey(key, backend);
    const urlSafe = encodeUrlSafeUnpaddedBase64(Buffer.from(raw, 'base64'));
    expect(outcome(invite(roomWithInvite('v10', { public_key: raw }), { signed: signed(CAROL, 'tok') }))).toBe('allow');
    expect(outcome(invite(roomWithInvite('v10', { public_keys: [{ public_key: urlSafe }] }), { signed: signed(CAROL, 'tok') }))).toBe('allow');
  });

  const refusals: Array<[string, (room: RoomFixture) => JsonObject, string, string | undefined]> = [
    ['the invitee is banned', (room) => (room.member(CAROL, 'ban', ALICE), { signed: signed(CAROL, 'tok') }), 'member.invite.third_party.banned', undefined],
    ['no signed block', () => ({ display_name: 'c' }), 'member.invite.third_party.signed', undefined],
    ['signed without a token', () => ({ signed: { mxid: CAROL } }), 'member.invite.third_party.signed', undefined],
    ['signed for another user', () => ({ signed: signed(ALICE, 'tok') }), 'member.invite.third_party.mxid', undefined],
    ['a token with no m.room.third_party_invite', () => ({ signed: signed(CAROL, 'other') }), 'member.invite.third_party.invite_event', undefined],
    ['sent by someone other than the inviter', () => ({ signed: signed(CAROL, 'tok') }), 'member.invite.third_party.sender', ALICE],
    ['signed by a key the invite does not publish', () => ({ signed: signed(CAROL, 'tok', otherKey) }), 'member.invite.third_party.signature', undefined],
    ['a tampered signed block', () => ({ signed: { ...signed(CAROL, 'tok'), sender: ALICE } }), 'member.invite.third_party.signature', undefined],
  ];
  it.each(refusals)('refuses: %s', (_name, build, rule, sender) => {
    const room = roomWithInvite('v12');
    expect(outcome(invite(room, build(room), sender))).toBe(rule);
  });

  it('refuses signatures when no Ed25519 backend is given', () => {
    const room = roomWithInvite('v10');
    expect(outcome(room.check({ type: 'm.room.member', sender: BOB, state_key: CAROL, content: { membership: 'invite', third_party_invite: { signed: signed(CAROL, 'tok') } } }))).toBe(
      'member.invite.third_party.signature',
    );
  });

  it('lists public keys from public_key and public_keys, skipping malformed entries', () => {
    expect(getThirdPartyInvitePublicKeys({ public_key: 'a', public_keys: [{ public_key: 'b' }, { key_validity_url: 'x' }, 'c', { public_key: 3 }] })).toEqual(['a', 'b']);
  });

  it('never throws on malformed signed blocks', () => {
    for (const bad of [{}, { signatures: 'x' }, { signatures: { a: 'x' } }, { signatures: { a: { b: 5 } } }, { signatures: { a: { b: '!!' } } }, { x: 1.5, signatures: {} }]) {
      expect(verifyThirdPartyInviteSignature(bad as JsonObject, [encodeUnpaddedBase64(new Uint8Array(32))], backend)).toBe(false);
    }
  });
});
