import { Injectable } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import { InjectConfig } from '@axon/platform-runtime';
import type { EntityManager } from '@axon/platform-database';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import { ClientApiStorage } from '../storage/client-api-storage';
import { DevicesRepository } from '../storage/devices.repository';
import { TokensRepository } from '../storage/tokens.repository';
import type { Requester } from './requester';
import { generateDeviceId, generateToken, hashToken } from './secrets';


/** A login's answer: the tokens of one device. */
export interface IssuedSession {
  readonly user_id: UserId;
  readonly device_id: DeviceId;
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly expires_in_ms?: number;
}

/**
 * What `issue` did: the session to answer with, and whether the device is new or was
 * taken over, for the caller to announce on `hs.device-list.v1` once its transaction
 * committed (DeviceListsProducer).
 */
export interface IssuedDevice {
  readonly session: IssuedSession;
  readonly change: 'added' | 'updated';
}

/** How often a device's `last_seen_*` is written at most (per process). */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

/**
 * Devices and their tokens: issuing them (login, register, refresh) and resolving them
 * (every authenticated request). Tokens are resolved from the database on each request,
 * never from a cache, so a logged-out or deleted device's token, or a deactivated
 * account's, is dead the moment that transaction commits, on every replica.
 */
@Injectable()
export class SessionsService {
  private readonly lastSeenWrites = new Map<string, number>();

  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly storage: ClientApiStorage,
    private readonly devices: DevicesRepository,
    private readonly tokens: TokensRepository,
  ) {}

  /**
   * Creates (or takes over) the device and issues its tokens inside `tx` (the caller's
   * transaction, so an account and its first device commit together).
   */
  async issue(
    tx: EntityManager,
    userId: UserId,
    options: { deviceId?: DeviceId | undefined; displayName?: string | undefined; withRefreshToken: boolean },
  ): Promise<IssuedDevice> {
    const deviceId = options.deviceId ?? generateDeviceId();
    const { created } = await this.devices.upsert(userId, deviceId, options.displayName, tx);
    return { session: await this.issueTokens(tx, userId, deviceId, options.withRefreshToken), change: created ? 'added' : 'updated' };
  }

  async issueTokens(tx: EntityManager, userId: UserId, deviceId: DeviceId, withRefreshToken: boolean, revokesPredecessor = false): Promise<IssuedSession> {
    const accessToken = generateToken('axo');
    const lifetime = this.config.auth.access_token_lifetime_ms;
    const refreshToken = withRefreshToken ? generateToken('axr') : undefined;
    const refreshTokenHash = refreshToken === undefined ? null : hashToken(refreshToken);
    if (refreshTokenHash !== null) await this.tokens.insertRefresh(refreshTokenHash, userId, deviceId, tx);
    await this.tokens.insertAccess(
      hashToken(accessToken),
      { userId, deviceId },
      { expiresTs: withRefreshToken ? Date.now() + lifetime : null, refreshTokenHash, revokesPredecessor },
      tx,
    );
    if (refreshToken === undefined) return { user_id: userId, device_id: deviceId, access_token: accessToken };
    return { user_id: userId, device_id: deviceId, access_token: accessToken, refresh_token: refreshToken, expires_in_ms: lifetime };
  }

  /**
   * `POST /refresh`. Spec: the old refresh token stays valid until the new access token
   * or the new refresh token is used, so a client that lost the response can retry; a
   * retry replaces the pair issued before. The access tokens issued with the old refresh
   * token are revoked at once (the spec lets servers choose).
   */
  async refresh(refreshToken: string): Promise<IssuedSession> {
    const oldHash = hashToken(refreshToken);
    return this.storage.transaction(async (tx) => {
      const owner = await this.tokens.lockRefresh(oldHash, tx);
      if (!owner) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unknown or already used refresh token', 401, { soft_logout: false });
      await this.tokens.revokePredecessor(oldHash, tx);
      await this.tokens.deleteAccessOfRefresh(oldHash, tx);
      if (owner.supersededBy !== null) await this.tokens.deleteRefresh(owner.supersededBy, tx);
      const issued = await this.issueTokens(tx, owner.userId, owner.deviceId, true, true);
      await this.tokens.supersede(oldHash, hashToken(issued.refresh_token!), tx);
      return issued;
    });
  }

  /** The requester an access token stands for, or the spec's `M_UNKNOWN_TOKEN`. */
  async resolve(accessToken: string, ip: string | undefined): Promise<Requester> {
    const tokenHash = hashToken(accessToken);
    const row = await this.tokens.findAccess(tokenHash);
    if (!row) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token', 401, { soft_logout: false });
    const now = Date.now();
    if (row.expiresTs !== null && row.expiresTs < now) {
      // Spec ("Soft logout"): an expired token that can be refreshed is a soft logout.
      throw new MatrixError('M_UNKNOWN_TOKEN', 'Access token has expired', 401, { soft_logout: true });
    }
    if (row.revokesPredecessor && row.refreshTokenHash !== null) await this.tokens.revokePredecessor(row.refreshTokenHash);
    await this.touch(row.userId, row.deviceId, now, ip);
    return { userId: row.userId, deviceId: row.deviceId, isGuest: row.isGuest, tokenHash };
  }

  /** Writes `last_seen_*` at most once a minute per device and process. */
  private async touch(userId: UserId, deviceId: DeviceId, now: number, ip: string | undefined): Promise<void> {
    const key = `${userId}|${deviceId}`;
    const last = this.lastSeenWrites.get(key);
    if (last !== undefined && now - last < LAST_SEEN_WRITE_INTERVAL_MS) return;
    this.lastSeenWrites.set(key, now);
    if (this.lastSeenWrites.size > 10_000) this.lastSeenWrites.clear();
    await this.devices.touch(userId, deviceId, now, ip);
  }
}
