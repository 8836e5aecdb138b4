import {
  CanonicalJsonError,
  decodeBase64,
  encodeCanonicalJsonBytes,
  type CanonicalJsonMode,
  type JsonObject,
  type JsonValue,
} from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { isJsonObject, redactEvent, type RedactionRules } from '@axon/matrix-events';
import { getEventIdServerName, getUserIdServerName, parseEventIdOfFormat, parseHistoricalUserId, type ServerName } from '@axon/matrix-identifiers';
import type { Ed25519Backend } from './ed25519-backend';
import { findVerifyKeyForEvent, type ServerKeys } from './key-validity';

/**
 * The signature sub-rules of a room version, as plain data: which servers must have
 * signed an event, and whether key validity is enforced. The room-versions library maps
 * each room version to one of the `SIGNATURES_V*` constants.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export interface SignatureRules {
  /**
   * The server named in a `$id:server` event ID must sign too, when it is not the
   * sender's (room versions 1 and 2; dropped with those event IDs in v3).
   */
  readonly eventIdServerMustSign: boolean;
  /**
   * A join whose `content` has `join_authorised_via_users_server` must be signed by that
   * user's server (introduced in room version 8 with restricted rooms; authorization
   * rule 4.2, checked here because only the signature stage has the keys).
   */
  readonly authorisingServerMustSign: boolean;
  /**
   * A key's `valid_until_ts` (or an old key's `expired_ts`) must be at least the event's
   * `origin_server_ts` (introduced in room version 5; ignored in 1 to 4).
   */
  readonly enforceKeyValidity: boolean;
}

/**
 * Room versions 1 and 2: the event ID's server signs as well as the sender's.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export const SIGNATURES_V1: SignatureRules = {
  eventIdServerMustSign: true,
  authorisingServerMustSign: false,
  enforceKeyValidity: false,
};

/**
 * Room versions 3 and 4: event IDs are hashes, so only the sender's server signs.
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/#event-ids
 */
export const SIGNATURES_V3: SignatureRules = { ...SIGNATURES_V1, eventIdServerMustSign: false };

/**
 * Room versions 5 to 7: key validity is enforced.
 * Spec: https://spec.matrix.org/v1.19/rooms/v5/#signing-key-validity-period
 */
export const SIGNATURES_V5: SignatureRules = { ...SIGNATURES_V3, enforceKeyValidity: true };

/**
 * Room version 8 onwards: the server authorising a restricted join signs it.
 * Spec: https://spec.matrix.org/v1.19/rooms/v8/#authorization-rules
 */
export const SIGNATURES_V8: SignatureRules = { ...SIGNATURES_V5, authorisingServerMustSign: true };

function ownString(object: JsonObject, name: string): string | undefined {
  const value: JsonValue | undefined = Object.hasOwn(object, name) ? object[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function serverOfUser(value: string | undefined, what: string): Result<ServerName> {
  if (value === undefined) return err(`${what} is missing or not a string`);
  // Remote events may carry user IDs under the historical (or non-compliant) grammar;
  // only the server name matters here.
  const parsed = parseHistoricalUserId(value);
  return parsed.ok ? ok(getUserIdServerName(parsed.value)) : err(`${what} is not a user ID: ${parsed.error}`);
}

/**
 * Whether the event is an invite made from a third-party invite: such an event may be
 * sent by a server other than the sender's, so the sender's signature is not required
 * (the identity server's signature inside `third_party_invite` is checked by the
 * authorization rules instead). Judged on the event as received, before redaction.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export function isThirdPartyInviteMembership(pdu: JsonObject): boolean {
  const content = Object.hasOwn(pdu, 'content') ? pdu['content'] : undefined;
  return (
    ownString(pdu, 'type') === 'm.room.member' &&
    isJsonObject(content) &&
    ownString(content, 'membership') === 'invite' &&
    Object.hasOwn(content, 'third_party_invite')
  );
}

/**
 * The servers whose signatures an event must carry, without duplicates, in this order:
 * the sender's server (unless the event is a third-party-invite membership), the event
 * ID's server (room versions 1 and 2), and the authorising server of a restricted join
 * (room version 8 on). Refuses with a reason when a user or event ID it needs is
 * malformed. The list may be empty only for a third-party invite in room versions 3+.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export function getRequiredEventSigners(pdu: JsonObject, rules: SignatureRules): Result<ServerName[]> {
  const servers: ServerName[] = [];
  const add = (server: ServerName): void => {
    if (!servers.includes(server)) servers.push(server);
  };
  const sender = serverOfUser(ownString(pdu, 'sender'), 'sender');
  if (!sender.ok) return sender;
  if (!isThirdPartyInviteMembership(pdu)) add(sender.value);
  if (rules.eventIdServerMustSign) {
    const eventId = parseEventIdOfFormat(ownString(pdu, 'event_id') ?? '', 'v1');
    if (!eventId.ok) return err(`event_id: ${eventId.error}`);
    const server = getEventIdServerName(eventId.value);
    if (server !== undefined) add(server);
  }
  const content = Object.hasOwn(pdu, 'content') ? pdu['content'] : undefined;
  if (
    rules.authorisingServerMustSign &&
    ownString(pdu, 'type') === 'm.room.member' &&
    isJsonObject(content) &&
    ownString(content, 'membership') === 'join' &&
    Object.hasOwn(content, 'join_authorised_via_users_server')
  ) {
    const authoriser = serverOfUser(ownString(content, 'join_authorised_via_users_server'), 'content.join_authorised_via_users_server');
    if (!authoriser.ok) return authoriser;
    add(authoriser.value);
  }
  return ok(servers);
}

/**
 * A server's keys as the caller knows them, and when they were fetched (for the 7-day
 * cap on `valid_until_ts`).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v5/#signing-key-validity-period
 */
export interface KnownServerKeys {
  readonly keys: ServerKeys;
  readonly fetchedTs?: number;
}

/**
 * Options for `verifyEventSignatures`. `keysFor` answers from keys the caller has already
 * fetched (this library does no I/O): `undefined` when none are known for the server.
 */
export interface VerifyEventSignaturesOptions {
  readonly signatureRules: SignatureRules;
  readonly redactionRules: RedactionRules;
  readonly mode: CanonicalJsonMode;
  readonly backend: Ed25519Backend;
  readonly keysFor: (serverName: ServerName) => KnownServerKeys | undefined;
}

/**
 * Why an event's signatures were refused:
 * - `malformed`: a user or event ID that names a required signer, `origin_server_ts`, or
 *   `signatures` is malformed, or the event has no canonical JSON form;
 * - `unsigned`: a required server has no signature made with a key known and valid for
 *   the event (unknown and expired keys are skipped, so this covers "no keys yet");
 * - `invalid_signature`: a signature by a known, valid key does not verify.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export interface EventSignaturesError {
  readonly code: 'malformed' | 'unsigned' | 'invalid_signature';
  readonly serverName?: ServerName;
  readonly message: string;
}

/**
 * Checks the signatures of a received event: for each required signer
 * (`getRequiredEventSigners`), every `ed25519:` signature made with a key that is known
 * and valid at the event's `origin_server_ts` must verify on the redacted event, and
 * there must be at least one. Signatures by other servers, other algorithms and unknown
 * or expired keys are skipped, as the spec says. The redacted event is encoded once for
 * all signatures. Never throws on untrusted input.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#validating-hashes-and-signatures-on-received-events
 */
export function verifyEventSignatures(pdu: JsonObject, options: VerifyEventSignaturesOptions): Result<ServerName[], EventSignaturesError> {
  const required = getRequiredEventSigners(pdu, options.signatureRules);
  if (!required.ok) return err({ code: 'malformed', message: required.error });
  const originServerTs = Object.hasOwn(pdu, 'origin_server_ts') ? pdu['origin_server_ts'] : undefined;
  if (typeof originServerTs !== 'number' || !Number.isSafeInteger(originServerTs)) {
    return err({ code: 'malformed', message: 'origin_server_ts is missing or not an integer' });
  }
  const redacted = redactEvent(pdu, options.redactionRules);
  const signatures = Object.hasOwn(redacted, 'signatures') ? redacted['signatures'] : undefined;
  if (required.value.length > 0 && !isJsonObject(signatures)) {
    return err({ code: 'malformed', message: 'signatures is missing or not an object' });
  }
  let signedBytes: Uint8Array | undefined;
  for (const server of required.value) {
    const byKey = isJsonObject(signatures) && Object.hasOwn(signatures, server) ? signatures[server] : undefined;
    if (byKey !== undefined && !isJsonObject(byKey)) {
      return err({ code: 'malformed', serverName: server, message: `signatures.${server} is not an object` });
    }
    const known = options.keysFor(server);
    let verified = 0;
    for (const [keyId, signatureValue] of Object.entries(byKey ?? {})) {
      if (!keyId.startsWith('ed25519:') || known === undefined) continue;
      const key = findVerifyKeyForEvent(known.keys, keyId, {
        originServerTs,
        enforceValidUntilTs: options.signatureRules.enforceKeyValidity,
        ...(known.fetchedTs === undefined ? {} : { fetchedTs: known.fetchedTs }),
      });
      if (!key.ok) continue;
      if (signedBytes === undefined) {
        try {
          const body: JsonObject = {};
          for (const [name, value] of Object.entries(redacted)) {
            if (name === 'signatures' || name === 'unsigned') continue;
            Object.defineProperty(body, name, { value, enumerable: true, writable: true, configurable: true });
          }
          signedBytes = encodeCanonicalJsonBytes(body, { mode: options.mode });
        } catch (error) {
          if (error instanceof CanonicalJsonError) return err({ code: 'malformed', message: `no canonical JSON form: ${error.message}` });
          throw error;
        }
      }
      const publicKey = decodeBase64(key.value.key);
      const signature = typeof signatureValue === 'string' ? decodeBase64(signatureValue) : undefined;
      if (!publicKey.ok || signature === undefined || !signature.ok || !options.backend.verify(publicKey.value, signedBytes, signature.value)) {
        return err({ code: 'invalid_signature', serverName: server, message: `signature by ${server} with ${keyId} does not verify` });
      }
      verified++;
    }
    if (verified === 0) {
      return err({ code: 'unsigned', serverName: server, message: `no signature by ${server} with a key known and valid at ${originServerTs}` });
    }
  }
  return ok(required.value);
}
