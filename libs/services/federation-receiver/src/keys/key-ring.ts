import type { JsonObject } from '@axon/matrix-canonical-json';
import { err, type Result } from '@axon/matrix-errors';
import { parseServerName, type ServerName } from '@axon/matrix-identifiers';
import { computeKeysValidUntil, findVerifyKeyForRequest, type Ed25519Backend, type ServerKeys, type ValidVerifyKey } from '@axon/matrix-signing';
import type { Logger } from '@axon/platform-telemetry';
import type { FederationReceiverMetrics, KeyFetchOutcome, KeyFetchSource } from '../federation-receiver.metrics';
import type { ServerKeysRepository, StoredServerKey } from '../storage/server-keys.repository';
import { checkKeyResponse, checkNotarySignature, isJsonObject, type CheckedKeyResponse, type TrustedKeyServer } from './key-response';
import type { OwnServerKeys } from './own-server-keys';
import type { KeyQueryCriteria, RemoteKeySource } from './remote-key-source';

/** A class's public surface: what a fake must provide (private fields make classes nominal). */
export type PublicOf<T> = { [K in keyof T]: T[K] };

/**
 * A server's verify key the key ring vouches for: a current key (`verify_keys`) with the
 * time it is valid until (`valid_until_ts`, already capped at 7 days after it was
 * fetched), or an old key (`old_verify_keys`), valid for events before `expiredTs`.
 */
export type VerifyKey =
  | { readonly keyId: string; readonly key: string; readonly source: 'verify_keys'; readonly validUntilTs: number }
  | { readonly keyId: string; readonly key: string; readonly source: 'old_verify_keys'; readonly expiredTs: number };

/** How long keys must stay valid: the key ring answers keys valid until at least then, and fetches when it has none. */
export interface KeyValidity {
  readonly minimumValidUntilTs: number;
}

/** After a look-up that did not give the keys asked for, the server is not asked again for this long. */
export const DEFAULT_KEY_FETCH_BACKOFF_MS = 60_000;
/** Past this many servers in backoff, the expired entries are swept (the map stays bounded by the failure rate). */
const BACKOFF_SWEEP_SIZE = 10_000;

export interface KeyRingOptions {
  readonly own: OwnServerKeys;
  readonly trustedKeyServers: readonly TrustedKeyServer[];
  readonly backend: Ed25519Backend;
  readonly metrics: Pick<FederationReceiverMetrics, 'keyFetches'>;
  readonly logger: Pick<Logger, 'warn' | 'debug'>;
  readonly fetchBackoffMs?: number;
  readonly clock?: () => number;
}

interface Lookup extends KeyValidity {
  /** The key IDs asked for; empty: any current key will do. */
  readonly keyIds: readonly string[];
}

/** Until when a stored key is valid: `expired_ts` for an old key, the capped `valid_until_ts` for a current one. */
function validUntil(key: StoredServerKey): number {
  if (key.expiredTs !== undefined) return key.expiredTs;
  return computeKeysValidUntil({ valid_until_ts: key.validUntilTs, verify_keys: {} }, key.fetchedTs);
}

/** Whether the stored keys answer a look-up: every key asked for (or, with none named, some current key) valid long enough. */
function satisfies(keys: readonly StoredServerKey[], lookup: Lookup): boolean {
  const valid = keys.filter((key) => validUntil(key) >= lookup.minimumValidUntilTs);
  if (lookup.keyIds.length === 0) return valid.some((key) => key.expiredTs === undefined);
  return lookup.keyIds.every((keyId) => valid.some((key) => key.keyId === keyId));
}

function toVerifyKey(key: StoredServerKey): VerifyKey {
  return key.expiredTs !== undefined
    ? { keyId: key.keyId, key: key.verifyKey, source: 'old_verify_keys', expiredTs: key.expiredTs }
    : { keyId: key.keyId, key: key.verifyKey, source: 'verify_keys', validUntilTs: validUntil(key) };
}

/** A stored key as the signing library's view of a keys response. */
function asServerKeys(key: StoredServerKey): ServerKeys {
  return key.expiredTs !== undefined
    ? { valid_until_ts: 0, verify_keys: {}, old_verify_keys: { [key.keyId]: { key: key.verifyKey, expired_ts: key.expiredTs } } }
    : { valid_until_ts: key.validUntilTs, verify_keys: { [key.keyId]: { key: key.verifyKey } } };
}

/**
 * Other servers' signing keys (Server-Server API "Retrieving server keys"), for checking
 * request and event signatures and for answering as a notary.
 *
 * A look-up is answered from the stored keys when they are valid long enough; otherwise
 * the server is asked (`GET /_matrix/key/v2/server` through `RemoteKeySource`), then, if
 * that did not give the keys, each notary of `federation.trusted_key_servers` in turn.
 * Every answer is checked before it is stored (`checkKeyResponse`: the server's name, its
 * signature with each of its keys; a notary's answer also the notary's signature), and
 * validity is capped at 7 days after the fetch. This server's own keys come from its
 * signing key and `signing.old_verify_keys`, never from a fetch.
 *
 * Concurrency: look-ups of one server share one fetch (`inFlight`, set before the first
 * await of the fetch, so a look-up that finds it missing starts it and every later one
 * joins it); each then reads the stored keys again. A fetch that did not give the keys it
 * was started for puts the server in backoff: until it ends, look-ups answer what is
 * stored without asking anyone, so a peer signing with unknown key IDs, or a server that
 * is down, costs one round of requests per backoff period, not one per request.
 */
export class KeyRing {
  private readonly inFlight = new Map<ServerName, Promise<void>>();
  private readonly backoffUntil = new Map<ServerName, number>();
  private readonly notaries: ReadonlyArray<{ readonly name: ServerName; readonly trusted: TrustedKeyServer }>;
  private readonly clock: () => number;
  private readonly backoffMs: number;

  constructor(
    private readonly storage: PublicOf<ServerKeysRepository>,
    /** The outbound requests; absent in a process without a federation client (only stored and own keys answer). */
    private readonly remote: RemoteKeySource | undefined,
    private readonly options: KeyRingOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.backoffMs = options.fetchBackoffMs ?? DEFAULT_KEY_FETCH_BACKOFF_MS;
    this.notaries = options.trustedKeyServers.map((trusted) => {
      const name = parseServerName(trusted.server_name);
      if (!name.ok) throw new Error(`federation.trusted_key_servers: ${trusted.server_name}: ${name.error}`);
      return { name: name.value, trusted };
    });
  }

  /**
   * The keys of `server` named in `keyIds` (all of them when empty) that are valid until
   * at least `minimumValidUntilTs`, fetching when the stored ones do not answer.
   */
  async verifyKeysFor(server: ServerName, keyIds: readonly string[], validity: KeyValidity): Promise<VerifyKey[]> {
    const keys = await this.keysFor(server, { keyIds, ...validity });
    return keys.filter((key) => validUntil(key) >= validity.minimumValidUntilTs).map(toVerifyKey);
  }

  /**
   * The key to check a request signature of `origin` made with `keyId` at `nowTs`: a
   * current key valid at that time (old keys only sign events), or why there is none.
   *
   * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
   */
  async verifyKeyForRequest(origin: ServerName, keyId: string, nowTs: number): Promise<Result<ValidVerifyKey>> {
    const keys = await this.keysFor(origin, { keyIds: [keyId], minimumValidUntilTs: nowTs });
    const key = keys.find((stored) => stored.keyId === keyId);
    if (key === undefined) return err(`no key ${keyId} of ${origin} is known`);
    return findVerifyKeyForRequest(asServerKeys(key), keyId, { nowTs, fetchedTs: key.fetchedTs });
  }

  /**
   * The signed key responses of `server` that hold the keys named in `keyIds` (or all),
   * as a notary serves them: fetched first when the stored keys are not valid long
   * enough, but the stored ones answer even when that fetch fails ("Notary servers can
   * return keys for servers that are offline"). This server's own: its response now.
   *
   * Spec: https://spec.matrix.org/v1.19/server-server-api/#querying-keys-through-another-server
   */
  async keyResponsesFor(server: ServerName, keyIds: readonly string[], validity: KeyValidity): Promise<JsonObject[]> {
    if (server === this.options.own.serverName) return [this.options.own.response(this.clock())];
    const keys = await this.keysFor(server, { keyIds, ...validity });
    return [...new Set(keys.map((key) => key.keyJson))].map((json) => JSON.parse(json) as JsonObject);
  }

  private async keysFor(server: ServerName, lookup: Lookup): Promise<StoredServerKey[]> {
    if (server === this.options.own.serverName) return this.ownKeys(lookup.keyIds);
    const stored = await this.storage.keysOf(server, lookup.keyIds);
    if (satisfies(stored, lookup)) return stored;
    await this.refresh(server, lookup);
    return this.storage.keysOf(server, lookup.keyIds);
  }

  private ownKeys(keyIds: readonly string[]): StoredServerKey[] {
    const now = this.clock();
    const { signingKey, verifyKey, oldVerifyKeys, keyValidityMs, serverName } = this.options.own.settings;
    const name = serverName as ServerName;
    const keys: StoredServerKey[] = [
      { serverName: name, keyId: signingKey.keyId, verifyKey, validUntilTs: now + keyValidityMs, fetchedTs: now, keyJson: '' },
      ...Object.entries(oldVerifyKeys).map(([keyId, old]) => ({ serverName: name, keyId, verifyKey: old.key, expiredTs: old.expired_ts, fetchedTs: now, keyJson: '' })),
    ];
    return keyIds.length === 0 ? keys : keys.filter((key) => keyIds.includes(key.keyId));
  }

  private refresh(server: ServerName, lookup: Lookup): Promise<void> {
    const running = this.inFlight.get(server);
    if (running !== undefined) return running;
    const until = this.backoffUntil.get(server);
    if (until !== undefined && until > this.clock()) return Promise.resolve();
    const fetch = this.fetch(server, lookup).finally(() => this.inFlight.delete(server));
    this.inFlight.set(server, fetch);
    return fetch;
  }

  private async fetch(server: ServerName, lookup: Lookup): Promise<void> {
    const remote = this.remote;
    if (remote === undefined) return;
    let found = await this.fromServer(remote, server, lookup);
    for (const notary of this.notaries) {
      if (found) break;
      found = await this.fromNotary(remote, notary, server, lookup);
    }
    if (found) {
      this.backoffUntil.delete(server);
      return;
    }
    const now = this.clock();
    if (this.backoffUntil.size >= BACKOFF_SWEEP_SIZE) {
      for (const [name, until] of this.backoffUntil) if (until <= now) this.backoffUntil.delete(name);
    }
    this.backoffUntil.set(server, now + this.backoffMs);
  }

  /** Asks the server itself; true when what it gave answers the look-up. */
  private async fromServer(remote: RemoteKeySource, server: ServerName, lookup: Lookup): Promise<boolean> {
    const fetchedTs = this.clock();
    let json: unknown;
    try {
      json = await remote.fetchServerKeys(server);
    } catch (error) {
      return this.outcome('direct', 'failed', { server, reason: (error as Error).message });
    }
    const checked = checkKeyResponse(json, server, this.options.backend);
    if (!checked.ok) return this.outcome('direct', 'refused', { server, reason: checked.error });
    await this.store(server, [checked.value], fetchedTs);
    return this.outcome('direct', satisfies(await this.storage.keysOf(server, lookup.keyIds), lookup) ? 'accepted' : 'insufficient', { server });
  }

  /** Asks one notary; true when the answers it gave (signed by it and by the server) answer the look-up. */
  private async fromNotary(remote: RemoteKeySource, notary: (typeof this.notaries)[number], server: ServerName, lookup: Lookup): Promise<boolean> {
    const fetchedTs = this.clock();
    const criteria: KeyQueryCriteria = { [server]: Object.fromEntries(lookup.keyIds.map((keyId) => [keyId, { minimum_valid_until_ts: lookup.minimumValidUntilTs }])) };
    let json: unknown;
    try {
      json = await remote.queryNotary(notary.name, criteria);
    } catch (error) {
      return this.outcome('notary', 'failed', { server, notary: notary.name, reason: (error as Error).message });
    }
    const list = isJsonObject(json) && Object.hasOwn(json, 'server_keys') ? json['server_keys'] : undefined;
    if (!Array.isArray(list)) return this.outcome('notary', 'refused', { server, notary: notary.name, reason: 'server_keys is not an array' });
    const accepted: CheckedKeyResponse[] = [];
    const refusals: string[] = [];
    for (const entry of list) {
      // Answers about servers not asked for are no business of this look-up.
      if (!isJsonObject(entry) || entry['server_name'] !== server) continue;
      const notarised = checkNotarySignature(entry, notary.trusted, this.options.backend);
      const checked = notarised.ok ? checkKeyResponse(entry, server, this.options.backend) : notarised;
      if (checked.ok) accepted.push(checked.value);
      else refusals.push(checked.error);
    }
    if (accepted.length === 0 && refusals.length > 0) return this.outcome('notary', 'refused', { server, notary: notary.name, reason: refusals.join('; ') });
    await this.store(server, accepted, fetchedTs);
    return this.outcome('notary', satisfies(await this.storage.keysOf(server, lookup.keyIds), lookup) ? 'accepted' : 'insufficient', { server, notary: notary.name });
  }

  private async store(server: ServerName, responses: readonly CheckedKeyResponse[], fetchedTs: number): Promise<void> {
    const keys: StoredServerKey[] = [];
    for (const checked of responses) {
      const keyJson = JSON.stringify(checked.response);
      for (const [keyId, verifyKey] of checked.verifyKeys) keys.push({ serverName: server, keyId, verifyKey, validUntilTs: checked.validUntilTs, fetchedTs, keyJson });
      for (const [keyId, old] of checked.oldVerifyKeys) keys.push({ serverName: server, keyId, verifyKey: old.key, expiredTs: old.expiredTs, fetchedTs, keyJson });
    }
    await this.storage.store(keys);
  }

  private outcome(source: KeyFetchSource, outcome: KeyFetchOutcome, fields: Record<string, string>): boolean {
    this.options.metrics.keyFetches.inc({ source, outcome });
    if (outcome === 'refused') this.options.logger.warn({ source, ...fields }, 'server keys refused');
    else this.options.logger.debug({ source, outcome, ...fields }, 'server keys looked up');
    return outcome === 'accepted';
  }
}
