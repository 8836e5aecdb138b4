import { Injectable } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import { optionalBoolean, optionalString, requiredString, type JsonObject } from '@axon/platform-http';
import type { UserId } from '@axon/matrix-identifiers';
import { InjectConfig } from '@axon/platform-runtime';
import { AccountsService } from '../accounts/accounts.service';
import type { Requester } from '../auth/requester';
import { generateToken, hashToken } from '../auth/secrets';
import { SessionsService, type IssuedSession } from '../auth/sessions.service';
import { UiaService } from '../auth/uia.service';
import { optionalDeviceId } from '../devices/client-device-id';
import { DeviceListsProducer } from '../devices/device-lists.producer';
import { ClientApiStorage } from '../storage/client-api-storage';
import { DevicesRepository } from '../storage/devices.repository';
import { TokensRepository } from '../storage/tokens.repository';

/**
 * Logging in and out (Client-Server API, "Login"): a login issues a device and its tokens
 * in one transaction, and the device list change is announced once it committed.
 */
@Injectable()
export class LoginService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly storage: ClientApiStorage,
    private readonly accounts: AccountsService,
    private readonly sessions: SessionsService,
    private readonly tokens: TokensRepository,
    private readonly devices: DevicesRepository,
    private readonly uia: UiaService,
    private readonly deviceLists: DeviceListsProducer,
  ) {}

  /** `POST /login` with `m.login.password` or `m.login.token`. */
  async logIn(body: JsonObject): Promise<IssuedSession> {
    const userId = await this.authenticate(body);
    const deviceId = optionalDeviceId(body);
    const displayName = optionalString(body, 'initial_device_display_name');
    const withRefreshToken = optionalBoolean(body, 'refresh_token') ?? false;
    const { session, change } = await this.storage.transaction((tx) => this.sessions.issue(tx, userId, { deviceId, displayName, withRefreshToken }));
    await this.deviceLists.publish(userId, [session.device_id], change);
    return session;
  }

  /** `POST /v1/login/get_token`: a short-lived, single-use `m.login.token` token, behind UIA. */
  async issueLoginToken(requester: Requester, body: JsonObject): Promise<{ login_token: string; expires_in_ms: number }> {
    if (!this.config.auth.login_token_enabled || requester.isGuest) {
      throw new MatrixError('M_FORBIDDEN', 'Login tokens are not available', 400);
    }
    await this.uia.authenticate({
      operation: 'POST /login/get_token',
      userId: requester.userId,
      flows: [{ stages: ['m.login.password'] }],
      auth: body['auth'],
      verify: (_stage, auth) => this.accounts.passwordStage(requester.userId, auth),
    });
    const token = generateToken('axl');
    const lifetime = this.config.auth.login_token_lifetime_ms;
    await this.tokens.insertLogin(hashToken(token), requester.userId, Date.now() + lifetime);
    return { login_token: token, expires_in_ms: lifetime };
  }

  /** Logs the device out: the spec says the device goes with its token. */
  async logOut(requester: Requester): Promise<void> {
    // Only the server notices user has no device, and it has no token to log out with.
    const deleted = requester.deviceId === '' ? [] : await this.devices.delete(requester.userId, [requester.deviceId]);
    await this.deviceLists.publish(requester.userId, deleted, 'removed');
  }

  async logOutAll(requester: Requester): Promise<void> {
    const deleted = await this.devices.deleteAllExcept(requester.userId, undefined);
    await this.deviceLists.publish(requester.userId, deleted, 'removed');
  }

  /** The user a login request proves to be. */
  private async authenticate(body: JsonObject): Promise<UserId> {
    const type = requiredString(body, 'type');
    if (type === 'm.login.password') return this.accounts.checkPassword(body);
    if (type === 'm.login.token') {
      const userId = await this.tokens.takeLogin(hashToken(requiredString(body, 'token')), Date.now());
      if (userId === undefined) throw new MatrixError('M_FORBIDDEN', 'Invalid login token', 403);
      return userId;
    }
    throw new MatrixError('M_UNKNOWN', `Unknown login type ${type}`, 400);
  }
}
