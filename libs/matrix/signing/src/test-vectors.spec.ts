import type { JsonObject } from '@axon/matrix-canonical-json';
import type { Ed25519Backend } from './ed25519-backend';
import { computeContentHash, signJson, verifyJsonSignature } from './json-signing';
import { encodeVerifyKey } from './signing-key';
import { BACKENDS, SERVER_NAME, specKey } from './testing/spec-vectors';


describe.each(BACKENDS)('Cryptographic Test Vectors, JSON Signing (%s backend)', (_name, create) => {
  let backend: Ed25519Backend;
  beforeAll(async () => {
    const created = await create();
    if (!created) throw new Error('backend unavailable');
    backend = created;
  });

  it.each<{ given: JsonObject; emits: JsonObject }>([
    {
      given: {},
      emits: {
        signatures: {
          domain: {
            'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ',
          },
        },
      },
    },
    {
      given: { one: 1, two: 'Two' },
      emits: {
        one: 1,
        signatures: {
          domain: {
            'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw',
          },
        },
        two: 'Two',
      },
    },
  ])('given $given the JSON signing algorithm emits the spec signature', ({ given, emits }) => {
    const signed = signJson(given, { serverName: SERVER_NAME, key: specKey(), backend });
    expect(signed).toEqual(emits);
    const publicKey = encodeVerifyKey(specKey(), backend);
    expect(verifyJsonSignature(signed, { serverName: SERVER_NAME, keyId: 'ed25519:1', publicKey, backend })).toEqual({ ok: true, value: undefined });
  });

  it.each<{ event: JsonObject; sha256: string }>([
    {
      event: {
        room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000, signatures: {}, hashes: {},
        type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3, unsigned: { age_ts: 1000000 },
      },
      sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos',
    },
    {
      event: {
        content: { body: 'Here is the message content' }, event_id: '$0:domain', origin: 'domain', origin_server_ts: 1000000,
        type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', signatures: {}, unsigned: { age_ts: 1000000 },
      },
      sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g',
    },
  ])('Event Signing vectors: the content hash of $event.type is $sha256', ({ event, sha256 }) => {
    expect(computeContentHash(event)).toBe(sha256);
  });
});
