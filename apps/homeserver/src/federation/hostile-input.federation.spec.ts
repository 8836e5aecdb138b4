import type { JsonObject } from '@axon/matrix-canonical-json';
import { generateSigningKey, signEvent } from '@axon/matrix-signing';
import { startFederationNet, startFederationPeer, type FederatedUser, type FederationNet, type FederationPeer, type SignedEvent, type XMatrixTampering, type SignedRoom } from '@axon/testing';

type ClientEvent = { event_id: string; type: string; state_key?: string; content: Record<string, unknown> };
type SendAnswer = { pdus: Record<string, { error?: string }> };

let txns = 0;

// A hostile server (a peer played by the test process over real HTTPS, with keys of its
// own) sends hs1 what a server must not accept: forged signatures, content changed after
// hashing, events the auth rules forbid, events from before a ban, oversize events,
// forged request signatures, replayed transactions, events from a server the room's ACL
// denies. Each is answered as the spec says, and a hs1 client sees the room unchanged.
//
// Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
describe('hostile input over federation (a peer against hs1)', () => {
  let net: FederationNet;
  let evil: FederationPeer;
  let literal: FederationPeer;
  let alice: FederatedUser;

  beforeAll(async () => {
    jest.spyOn(console, 'debug').mockImplementation(() => undefined);
    net = await startFederationNet();
    evil = await startFederationPeer(net.ca);
    // Named by an IP literal, which a server ACL can deny without denying the others.
    literal = await startFederationPeer(net.ca, { host: '127.0.0.1' });
    alice = await net.register(net.hs1, 'alice');
  }, 180_000);

  afterAll(async () => {
    await Promise.all([evil?.stop(), literal?.stop()]);
    await net?.stop();
  });

  const clientGet = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${net.hs1.clientUrl}/_matrix/client/v3${path}`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** The room's state as a hs1 client reads it: `type|state_key|event_id`, sorted. */
  const stateOf = async (roomId: string): Promise<string[]> => {
    const state = (await alice.client.roomState(roomId)) as unknown as ClientEvent[];
    return state.map((e) => `${e.type}|${e.state_key}|${e.event_id}`).sort();
  };
  /** The event IDs of the room's timeline as a hs1 client pages it back. */
  const timelineOf = async (roomId: string): Promise<string[]> => {
    const answer = await clientGet(`/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=200`);
    expect(answer.status).toBe(200);
    return (answer.body['chunk'] as ClientEvent[]).map((e) => e.event_id);
  };
  const eventOf = (roomId: string, eventId: string) => clientGet(`/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`);

  /** A transaction of `pdus` from `peer` to hs1. */
  const send = async (peer: FederationPeer, pdus: readonly JsonObject[], txnId = `txn${++txns}`): Promise<SendAnswer> => {
    const answer = await peer.request(net.hs1, 'PUT', `/_matrix/federation/v1/send/${txnId}`, { origin: peer.serverName, origin_server_ts: Date.now(), pdus: [...pdus] });
    expect(answer.status).toBe(200);
    return answer.body as SendAnswer;
  };

  describe.each(['10', '12'])('room version %s', (version) => {
    /** A public room of alice on hs1 that `peer`'s user has joined, as the peer builds on it. */
    const joinedRoom = async (peer: FederationPeer = evil): Promise<{ roomId: string; room: SignedRoom; user: string }> => {
      const { room_id: roomId } = await alice.client.createRoom({ preset: 'public_chat' as never, room_version: version });
      const user = `@evil:${peer.serverName}`;
      const room = await peer.join(net.hs1, roomId, user);
      expect(await stateOf(roomId)).toContain(`m.room.member|${user}|${room.events.at(-1)!.eventId}`);
      return { roomId, room, user };
    };
    const message = (user: string, body: string) => ({ type: 'm.room.message', sender: user, content: { msgtype: 'm.text', body } });
    /** Fetches an event of hs1 as the peer, and adds it to the peer's room. */
    const adoptFromHs1 = async (peer: FederationPeer, room: SignedRoom, eventId: string): Promise<SignedEvent> => {
      const answer = await peer.request(net.hs1, 'GET', `/_matrix/federation/v1/event/${encodeURIComponent(eventId)}`);
      expect(answer.status).toBe(200);
      return room.adopt((answer.body as { pdus: JsonObject[] }).pdus[0]!);
    };

    it('a PDU with a forged signature is dropped: not stored, not seen', async () => {
      const { roomId, room, user } = await joinedRoom();
      const before = await stateOf(roomId);
      const honest = room.sign(message(user, 'forged'));
      // Signed under the peer's key ID with another key: a signature that does not verify.
      const other = generateSigningKey(evil.backend, evil.key.version);
      if (!other.ok) throw new Error(other.error);
      const { signatures: _, ...unsigned } = honest.pdu;
      const forged = signEvent(unsigned, { serverName: evil.serverName, key: other.value, backend: evil.backend, redactionRules: room.rules.redaction });
      expect(forged['signatures']).not.toEqual(honest.pdu['signatures']);

      const answer = await send(evil, [forged]);
      expect(answer.pdus[honest.eventId]?.error).toEqual(expect.stringContaining('signature'));
      expect((await eventOf(roomId, honest.eventId)).status).toBe(404);
      expect(await timelineOf(roomId)).not.toContain(honest.eventId);
      expect(await stateOf(roomId)).toEqual(before);
    });

    it('a PDU whose content changed after hashing is stored redacted: a client sees it with empty content', async () => {
      const { roomId, room, user } = await joinedRoom();
      const before = await stateOf(roomId);
      const signed = room.add(message(user, 'the signed body'));
      const changed = { ...signed.pdu, content: { msgtype: 'm.text', body: 'a body swapped in after hashing' } };

      const answer = await send(evil, [changed]);
      // The signature covers the redacted event, so the event and its ID stand.
      expect(answer.pdus[signed.eventId]).toEqual({});
      const seen = await eventOf(roomId, signed.eventId);
      expect(seen.status).toBe(200);
      expect(seen.body['content']).toEqual({});
      expect(await timelineOf(roomId)).toContain(signed.eventId);
      expect(await stateOf(roomId)).toEqual(before);
    });

    it('a PDU the auth rules forbid (power levels from a user with power 0) is rejected', async () => {
      const { roomId, room, user } = await joinedRoom();
      const before = await stateOf(roomId);
      const grab = room.sign({ type: 'm.room.power_levels', state_key: '', sender: user, content: { users: { [user]: 100 }, users_default: 0, state_default: 0, events_default: 0 } });

      const answer = await send(evil, [grab.pdu]);
      expect(answer.pdus[grab.eventId]?.error).toEqual(expect.any(String));
      expect(await stateOf(roomId)).toEqual(before);
      expect(await timelineOf(roomId)).not.toContain(grab.eventId);
      const powers = (await alice.client.getStateEvent(roomId, 'm.room.power_levels', '')) as { users?: Record<string, number> };
      expect(powers.users?.[user]).toBeUndefined();
    });

    it('a message built on the state before a ban is soft-failed: accepted in the answer, seen by no client', async () => {
      const { roomId, room, user } = await joinedRoom();
      const beforeBan = room.snapshot();
      const join = room.events.at(-1)!;
      const { event_id: banId } = await alice.client.sendStateEvent(roomId, 'm.room.member' as never, { membership: 'ban', reason: 'hostile' } as never, user);
      const before = await stateOf(roomId);
      expect(before).toContain(`m.room.member|${user}|${banId}`);

      const late = room.sign(message(user, 'sent as if never banned'), { prev: [join], state: beforeBan });
      const answer = await send(evil, [late.pdu]);
      expect(answer.pdus[late.eventId]).toEqual({});
      expect(await timelineOf(roomId)).not.toContain(late.eventId);
      expect((await eventOf(roomId, late.eventId)).status).toBe(404);
      expect(await stateOf(roomId)).toEqual(before);
    });

    it('an oversize PDU (more than 65536 bytes of canonical JSON) is refused, not stored', async () => {
      const { roomId, room, user } = await joinedRoom();
      const before = await stateOf(roomId);
      const huge = room.sign(message(user, 'x'.repeat(70_000)));
      expect(Buffer.byteLength(huge.json)).toBeGreaterThan(65_536);

      const answer = await send(evil, [huge.pdu]);
      expect(answer.pdus[huge.eventId]?.error).toEqual(expect.any(String));
      expect((await eventOf(roomId, huge.eventId)).status).toBe(404);
      expect(await timelineOf(roomId)).not.toContain(huge.eventId);
      expect(await stateOf(roomId)).toEqual(before);
    });

    it('an invite in a room version hs1 does not know is answered 400 M_INCOMPATIBLE_ROOM_VERSION', async () => {
      const { room, user } = await joinedRoom();
      const invite = room.sign({ type: 'm.room.member', state_key: alice.userId, sender: user, content: { membership: 'invite' } });
      const roomId = `!unknown${version}:${evil.serverName}`;
      const pdu = { ...invite.pdu, room_id: roomId };
      const answer = await evil.request(net.hs1, 'PUT', `/_matrix/federation/v2/invite/${encodeURIComponent(roomId)}/${encodeURIComponent(invite.eventId)}`, {
        room_version: '999',
        event: pdu,
        invite_room_state: [],
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ errcode: 'M_INCOMPATIBLE_ROOM_VERSION', room_version: '999' });
    });

    it.each([
      ['claims another origin (hs2) with its own key', (): XMatrixTampering => ({ origin: net.hs2.serverName })],
      ['names another destination', (): XMatrixTampering => ({ destination: net.hs2.serverName })],
      ['signs another body', (): XMatrixTampering => ({ signedContent: { pdus: [], edus: [] } })],
      ['sends no Authorization header', (): XMatrixTampering => ({ omit: true })],
    ])('a transaction whose request %s is refused 401 M_UNAUTHORIZED, its PDU not taken', async (_, tampering) => {
      const { roomId, room, user } = await joinedRoom();
      const before = await stateOf(roomId);
      const sneaked = room.sign(message(user, 'behind a bad signature'));
      const answer = await evil.request(net.hs1, 'PUT', `/_matrix/federation/v1/send/txn${++txns}`, { origin: evil.serverName, origin_server_ts: Date.now(), pdus: [sneaked.pdu] }, tampering());
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ errcode: 'M_UNAUTHORIZED' });
      expect((await eventOf(roomId, sneaked.eventId)).status).toBe(404);
      expect(await stateOf(roomId)).toEqual(before);
    });

    it('a transaction sent twice gets the same answer, and its message is in the timeline once', async () => {
      const { roomId, room, user } = await joinedRoom();
      const before = await stateOf(roomId);
      const hello = room.add(message(user, 'said once'));
      const txnId = `replayed${++txns}`;
      const first = await send(evil, [hello.pdu], txnId);
      const second = await send(evil, [hello.pdu], txnId);
      expect(first).toEqual({ pdus: { [hello.eventId]: {} } });
      expect(second).toEqual(first);
      expect((await timelineOf(roomId)).filter((id) => id === hello.eventId)).toHaveLength(1);
      expect(await stateOf(roomId)).toEqual(before);
    });

    it('a server the room ACL denies (an IP literal) gets an error for its PDUs, and make_join answers 403', async () => {
      const { roomId, room, user } = await joinedRoom(literal);
      // A peer named by a host name is in the room too: the ACL leaves it in.
      await evil.join(net.hs1, roomId, `@evil:${evil.serverName}`);
      const { event_id: aclId } = await alice.client.sendStateEvent(roomId, 'm.room.server_acl' as never, { allow: ['*'], deny: [], allow_ip_literals: false } as never, '');
      // The denied server may no longer read the room; the other peer still may.
      expect((await literal.request(net.hs1, 'GET', `/_matrix/federation/v1/event/${encodeURIComponent(aclId)}`)).status).toBe(403);
      await adoptFromHs1(evil, room, aclId);
      const before = await stateOf(roomId);

      const denied = room.sign(message(user, 'from a denied server'));
      const answer = await send(literal, [denied.pdu]);
      expect(answer.pdus[denied.eventId]?.error).toEqual(expect.stringContaining('ACL'));
      expect((await eventOf(roomId, denied.eventId)).status).toBe(404);
      expect(await timelineOf(roomId)).not.toContain(denied.eventId);
      expect(await stateOf(roomId)).toEqual(before);

      const makeJoin = await literal.request(net.hs1, 'GET', `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${encodeURIComponent(`@other:${literal.serverName}`)}?ver=${version}`);
      expect(makeJoin.status).toBe(403);
      expect(makeJoin.body).toMatchObject({ errcode: 'M_FORBIDDEN' });
    });
  });
});
