import type { RemoteEventInput } from '@axon/contracts-kafka';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import type { RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import { createNativeEd25519Backend, generateSigningKey, verifyEventSignatures, type Ed25519Backend } from '@axon/matrix-signing';
import { getCanonicalJsonMode } from '@axon/matrix-room-versions';
import { knownKeysOf, SignedRoom, type TestSigner } from '@axon/testing';
import type { EventKeySource } from '../pdus/received-pdu';
import { RemoteJoin, type LocalSigner, type MembershipRequests } from './remote-join';

const ALICE = '@alice:hs.test' as UserId;
const DAVE = '@dave:remote.test';
const quiet = { warn: () => undefined };

let backend: Ed25519Backend;
let local: TestSigner;
let remote: TestSigner;
let keys: EventKeySource;

beforeAll(async () => {
  backend = (await createNativeEd25519Backend())!;
  const keyOf = (v: string) => {
    const key = generateSigningKey(backend, v);
    if (!key.ok) throw new Error(key.error);
    return key.value;
  };
  local = { serverName: 'hs.test', key: keyOf('l1'), backend };
  remote = { serverName: 'remote.test', key: keyOf('r1'), backend };
  const known = new Map([
    ['hs.test', knownKeysOf(local)],
    ['remote.test', knownKeysOf(remote)],
  ]);
  keys = { keysOf: (wanted) => Promise.resolve(new Map([...wanted.keys()].flatMap((s) => (known.has(s) ? [[s, known.get(s)!] as const] : [])))) };
});

/** remote.test, resident in `room`: answers make_join with a template and send_join with the room's state. */
function resident(room: SignedRoom, behaviour: { makeJoin?: 'forbidden'; forgeState?: boolean } = {}): MembershipRequests & { calls: string[]; joined?: JsonObject } {
  const calls: string[] = [];
  const requests: MembershipRequests & { calls: string[]; joined?: JsonObject } = {
    calls,
    get(destination, path) {
      calls.push(`${destination} GET ${path.split('?')[0]}`);
      if (destination !== 'remote.test') return Promise.reject(new Error('connection refused'));
      if (behaviour.makeJoin === 'forbidden') return Promise.reject(new MatrixError('M_FORBIDDEN', 'You are not invited to this room.', 403));
      return Promise.resolve({ room_version: room.rules.id, event: room.template({ type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } }) });
    },
    put(destination, path, body) {
      calls.push(`${destination} PUT ${path}`);
      requests.joined = body;
      const state = room.stateEvents().map((e) => e.pdu as JsonValue);
      if (behaviour.forgeState) (state[3] as JsonObject) = { ...(state[3] as JsonObject), signatures: { 'remote.test': { [remote.key.keyId]: 'A'.repeat(86) } } };
      return Promise.resolve({ state, auth_chain: state, members_omitted: false });
    },
  };
  return requests;
}

function collector(): { submitted: RemoteEventInput[]; submit(input: RemoteEventInput): Promise<unknown> } {
  const submitted: RemoteEventInput[] = [];
  return { submitted, submit: (input) => (submitted.push(input), Promise.resolve({})) };
}

describe.each(['6', '10', '12'])('joining a room of another server, room version %s', (version) => {
  it('signs the template and hands the join to the room server with the room state as the state before it', async () => {
    const room = SignedRoom.create(version, DAVE, [remote, local]);
    const requests = resident(room);
    const inputs = collector();
    const join = new RemoteJoin(requests, keys, inputs, local as LocalSigner, quiet);
    const eventId = await join.join(ALICE, room.roomId, ['hs.test' as ServerName, 'elsewhere.test' as ServerName, 'remote.test' as ServerName], { displayname: 'Alice' });

    // This server is never asked; a server that fails is passed over.
    expect(requests.calls).toEqual([
      'elsewhere.test GET /_matrix/federation/v1/make_join/' + encodeURIComponent(room.roomId) + '/' + encodeURIComponent(ALICE),
      'remote.test GET /_matrix/federation/v1/make_join/' + encodeURIComponent(room.roomId) + '/' + encodeURIComponent(ALICE),
      `remote.test PUT /_matrix/federation/v2/send_join/${encodeURIComponent(room.roomId)}/${encodeURIComponent(eventId)}`,
    ]);
    const sent = requests.joined!;
    expect(sent['content']).toEqual({ displayname: 'Alice', membership: 'join' });
    const verified = verifyEventSignatures(sent, {
      signatureRules: room.rules.signatures,
      redactionRules: room.rules.redaction,
      mode: getCanonicalJsonMode(room.rules),
      backend,
      keysFor: (server) => (server === 'hs.test' ? knownKeysOf(local) : undefined),
    });
    expect(verified.ok).toBe(true);

    const [input] = inputs.submitted;
    expect(input).toMatchObject({ kind: 'remote_event', room_id: room.roomId, origin: 'remote.test', room_version: version });
    expect(JSON.parse(input!.pdu_json)).toEqual(sent);
    expect(new Set(input!.state_before)).toEqual(new Set(room.stateEvents().map((e) => e.eventId)));
    expect(input!.outliers).toHaveLength(room.stateEvents().length);
  });

  it('stops at a room that refuses the user, and leaves forged events of the answer out', async () => {
    const room = SignedRoom.create(version, DAVE, [remote, local]);
    const refused = new RemoteJoin(resident(room, { makeJoin: 'forbidden' }), keys, collector(), local as LocalSigner, quiet);
    await expect(refused.join(ALICE, room.roomId, ['remote.test' as ServerName, 'other.test' as ServerName], {})).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });

    const inputs = collector();
    const forged = new RemoteJoin(resident(room, { forgeState: true }), keys, inputs, local as LocalSigner, quiet);
    await forged.join(ALICE, room.roomId as RoomId, ['remote.test' as ServerName], {});
    const forgedId = room.stateEvents()[3]!.eventId;
    expect(inputs.submitted[0]!.state_before).not.toContain(forgedId);
  });
});
