import { Injectable } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import type { UserId } from '@axon/matrix-identifiers';
import { InjectConfig } from '@axon/platform-runtime';
import { AccountsService } from '../accounts/accounts.service';
import { optionalBoolean, optionalString, type JsonObject } from '@axon/platform-http';
import { optionalDeviceId } from '../devices/client-device-id';
import { userIdForUsername } from '../accounts/user-ids';
import { noticesUserIdOf } from '../admin/notices-user';
import { SessionsService, type IssuedDevice, type IssuedSession } from '../auth/sessions.service';
import type { UiaFlow } from '../auth/uia';
import { UiaService, type StageResult } from '../auth/uia.service';
import { DeviceListsProducer } from '../devices/device-lists.producer';
import { ClientApiStorage } from '../storage/client-api-storage';
import { RegistrationTokensRepository } from '../storage/registration-tokens.repository';

export const MAX_PASSWORD_LENGTH = 512;

/** The answer of `POST /register`. */
export interface RegisterResponse {
  readonly user_id: string;
  readonly device_id?: string;
  readonly access_token?: string;
  readonly refresh_token?: string;
  readonly expires_in_ms?: number;
}

/** Open registration (`POST /register`), guests, username checks and registration tokens. */
@Injectable()
export class RegistrationService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly storage: ClientApiStorage,
    private readonly accounts: AccountsService,
    private readonly sessions: SessionsService,
    private readonly uia: UiaService,
    private readonly registrationTokens: RegistrationTokensRepository,
    private readonly deviceLists: DeviceListsProducer,
  ) {}

  /** The flows open registration offers: a registration token when tokens are configured, else the dummy stage. */
  flows(): UiaFlow[] {
    return this.config.registration.registration_tokens.length > 0
      ? [{ stages: ['m.login.registration_token'] }]
      : [{ stages: ['m.login.dummy'] }];
  }

  /** `counted` runs (and may refuse) once the request is authenticated, just before the account is created. */
  async register(kind: string | undefined, body: JsonObject, counted: () => Promise<void> = async () => undefined): Promise<RegisterResponse> {
    if (kind !== undefined && kind !== 'user' && kind !== 'guest') throw new MatrixError('M_INVALID_PARAM', 'kind must be "user" or "guest"', 400);
    if (!this.config.registration.enabled) throw new MatrixError('M_FORBIDDEN', 'Registration has been disabled', 403);
    if (kind === 'guest') {
      await counted();
      return this.registerGuest(body);
    }

    const username = optionalString(body, 'username');
    const password = optionalString(body, 'password');
    if (password !== undefined && password.length > MAX_PASSWORD_LENGTH) throw new MatrixError('M_INVALID_PARAM', 'Password too long', 400);
    const inhibitLogin = optionalBoolean(body, 'inhibit_login') ?? false;
    const deviceId = optionalDeviceId(body);
    const displayName = optionalString(body, 'initial_device_display_name');
    const withRefresh = optionalBoolean(body, 'refresh_token') ?? false;
    // The username is checked before authentication, so clients learn early that it is taken.
    const userId = username === undefined ? undefined : userIdForUsername(username, this.config.server_name);
    if (userId !== undefined && (await this.taken(userId))) throw new MatrixError('M_USER_IN_USE', 'User ID already taken', 400);

    const data = await this.uia.authenticate({
      operation: 'POST /register',
      flows: this.flows(),
      auth: body['auth'],
      verify: (stage, auth) => this.verifyStage(stage, auth),
    });
    if (password === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing "password"', 400);
    await counted();
    const finalUserId = userId ?? (await this.freeUserId('u'));
    const token = data['registration_token'];
    const passwordHash = await this.accounts.hashPassword(password);

    const issued = await this.storage.transaction(async (tx): Promise<IssuedDevice | undefined> => {
      await this.accounts.create(tx, { userId: finalUserId, passwordHash, isGuest: false, isAdmin: false, displayName: localpartOf(finalUserId) });
      if (token !== undefined) {
        const configured = this.findToken(token);
        if (!configured || !(await this.registrationTokens.use(token, configured.uses_allowed, tx))) {
          throw new MatrixError('M_FORBIDDEN', 'The registration token is no longer valid', 401);
        }
      }
      if (inhibitLogin) return undefined;
      return this.sessions.issue(tx, finalUserId, { deviceId, displayName, withRefreshToken: withRefresh });
    });
    if (issued === undefined) return { user_id: finalUserId };
    return this.announced(issued);
  }

  private async registerGuest(body: JsonObject): Promise<RegisterResponse> {
    if (!this.config.registration.guest_access) throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access is disabled', 403);
    const displayName = optionalString(body, 'initial_device_display_name');
    const withRefresh = optionalBoolean(body, 'refresh_token') ?? false;
    const userId = await this.freeUserId('guest-');
    const issued = await this.storage.transaction(async (tx) => {
      await this.accounts.create(tx, { userId, passwordHash: null, isGuest: true, isAdmin: false, displayName: localpartOf(userId) });
      // Guests cannot choose a device ID: the spec lets servers ignore it for them.
      return this.sessions.issue(tx, userId, { displayName, withRefreshToken: withRefresh });
    });
    return this.announced(issued);
  }

  /**
   * An account an admin tool registers (Synapse's shared-secret registration), logged in
   * on a new device; the caller checked the request.
   */
  async registerAdministered(account: { userId: UserId; password: string; isAdmin: boolean; displayName: string }): Promise<IssuedSession> {
    const passwordHash = await this.accounts.hashPassword(account.password);
    const issued = await this.storage.transaction(async (tx) => {
      await this.accounts.create(tx, { userId: account.userId, passwordHash, isGuest: false, isAdmin: account.isAdmin, displayName: account.displayName });
      return this.sessions.issue(tx, account.userId, { withRefreshToken: false });
    });
    await this.deviceLists.publish(issued.session.user_id, [issued.session.device_id], issued.change);
    return issued.session;
  }

  /** Announces the new device once the account's transaction committed. */
  private async announced({ session, change }: IssuedDevice): Promise<RegisterResponse> {
    await this.deviceLists.publish(session.user_id, [session.device_id], change);
    return session;
  }

  /** `GET /register/available`. */
  async available(username: string | undefined): Promise<{ available: true }> {
    if (username === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing "username"', 400);
    const userId = userIdForUsername(username, this.config.server_name);
    if (await this.taken(userId)) throw new MatrixError('M_USER_IN_USE', 'User ID already taken', 400);
    return { available: true };
  }

  /**
   * Whether the user ID is taken: an account has it, or it is the server notices user's,
   * whose account is made on the first notice; whoever registered it first would send
   * (and administer the rooms of) every notice.
   */
  private async taken(userId: UserId): Promise<boolean> {
    if (userId === noticesUserIdOf(this.config)) return true;
    return this.accounts.exists(userId);
  }

  /** `GET /register/m.login.registration_token/validity`. */
  async tokenValidity(token: string | undefined): Promise<{ valid: boolean }> {
    if (!this.config.registration.enabled || this.config.registration.registration_tokens.length === 0) {
      throw new MatrixError('M_FORBIDDEN', 'Registration tokens are not in use', 403);
    }
    if (token === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing "token"', 400);
    return { valid: await this.isTokenUsable(token) };
  }

  private async verifyStage(stage: string, auth: JsonObject): Promise<StageResult> {
    if (stage === 'm.login.dummy') return { ok: true };
    if (stage === 'm.login.registration_token') {
      const token = auth['token'];
      if (typeof token === 'string' && (await this.isTokenUsable(token))) return { ok: true, data: { registration_token: token } };
      return { ok: false, errcode: 'M_FORBIDDEN', error: 'Invalid registration token' };
    }
    return { ok: false, errcode: 'M_UNRECOGNIZED', error: `Unsupported stage ${stage}` };
  }

  private findToken(token: string): AxonConfig['registration']['registration_tokens'][number] | undefined {
    return this.config.registration.registration_tokens.find((t) => t.token === token);
  }

  private async isTokenUsable(token: string): Promise<boolean> {
    const configured = this.findToken(token);
    if (!configured) return false;
    if (configured.expiry_time !== undefined && configured.expiry_time <= Date.now()) return false;
    if (configured.uses_allowed === undefined) return true;
    return (await this.registrationTokens.completed(token)) < configured.uses_allowed;
  }

  /** A random user ID not taken yet (registration without a username, guests). */
  private async freeUserId(prefix: string): Promise<UserId> {
    for (let attempt = 0; ; attempt++) {
      const localpart = prefix === 'u' ? `u${randomBytes(6).toString('hex')}` : `${prefix}${randomInt(1e9, 1e10)}`;
      const userId = userIdForUsername(localpart, this.config.server_name);
      if (!(await this.accounts.exists(userId)) || attempt > 10) return userId;
    }
  }
}

export function localpartOf(userId: string): string {
  return userId.slice(1, userId.indexOf(':'));
}
