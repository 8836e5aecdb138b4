import { Injectable } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import { InjectConfig } from '@axon/platform-runtime';
import type { EntityManager } from '@axon/platform-database';
import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import { PasswordHasher } from '../auth/password-hasher';
import type { StageResult } from '../auth/uia.service';
import { DeviceListsProducer } from '../devices/device-lists.producer';
import { ClientApiStorage } from '../storage/client-api-storage';
import { DevicesRepository } from '../storage/devices.repository';
import { UsersRepository } from '../storage/users.repository';
import { userIdFromIdentifier } from './user-ids';

export interface NewAccount {
  readonly userId: UserId;
  /** From {@link AccountsService.hashPassword}; `null` for accounts without a password (guests). */
  readonly passwordHash: string | null;
  readonly isGuest: boolean;
  readonly isAdmin: boolean;
  readonly displayName: string;
}

/** Accounts: creating them, checking and changing passwords, deactivation. */
@Injectable()
export class AccountsService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly storage: ClientApiStorage,
    private readonly users: UsersRepository,
    private readonly devices: DevicesRepository,
    private readonly hasher: PasswordHasher,
    private readonly deviceLists: DeviceListsProducer,
  ) {}

  /**
   * Hashes the password (argon2id, deliberately slow): done before the transaction
   * that creates the account opens, so no database session waits on it.
   */
  async hashPassword(password: string | undefined): Promise<string | null> {
    return password === undefined ? null : this.hasher.hash(password);
  }

  /** Creates the account in `tx`; `M_USER_IN_USE` when the ID is taken. */
  async create(tx: EntityManager, account: NewAccount): Promise<void> {
    const passwordHash = account.passwordHash;
    const inserted = await this.users.insert(
      { userId: account.userId, passwordHash, isGuest: account.isGuest, isAdmin: account.isAdmin, profile: { displayname: account.displayName } },
      tx,
    );
    if (!inserted) throw new MatrixError('M_USER_IN_USE', 'User ID already taken', 400);
  }

  async exists(userId: UserId): Promise<boolean> {
    return (await this.users.find(userId)) !== undefined;
  }

  /**
   * The user a password login names, if the password is theirs. Answers `M_FORBIDDEN`
   * alike for unknown users and wrong passwords (no account probing), and
   * `M_USER_DEACTIVATED` for deactivated accounts.
   */
  async checkPassword(body: Readonly<Record<string, unknown>>): Promise<UserId> {
    const userId = userIdFromIdentifier(body, this.config.server_name);
    const password = body['password'];
    if (typeof password !== 'string') throw new MatrixError('M_BAD_JSON', '"password" must be a string', 400);
    const user = userId === undefined ? undefined : await this.users.find(userId);
    if (user?.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated', 403);
    if (!user || !(await this.hasher.verify(user.passwordHash, password))) {
      throw new MatrixError('M_FORBIDDEN', 'Invalid username or password', 403);
    }
    return user.userId;
  }

  /**
   * The `m.login.password` UIA stage: the password must be the requester's own. A wrong
   * password fails the stage (401 with the flows, to try again); valid credentials of
   * another user are refused outright (403), as Synapse does: retrying cannot help.
   */
  async passwordStage(requesterId: UserId, auth: Readonly<Record<string, unknown>>): Promise<StageResult> {
    let userId: UserId;
    try {
      userId = await this.checkPassword(auth);
    } catch (error) {
      if (error instanceof MatrixError && error.status === 403) return { ok: false, errcode: 'M_FORBIDDEN', error: error.message };
      throw error;
    }
    if (userId !== requesterId) throw new MatrixError('M_FORBIDDEN', 'The credentials are not those of the requesting user', 403);
    return { ok: true };
  }

  /**
   * Sets a new password; with `logoutDevices`, every device but `keepDeviceId` is logged
   * out in the same transaction (all of them for a requester without a device: no device
   * has the empty ID).
   */
  async changePassword(userId: UserId, newPassword: string, logoutDevices: boolean, keepDeviceId: DeviceId | ''): Promise<void> {
    const passwordHash = await this.hasher.hash(newPassword);
    const deleted = await this.storage.transaction(async (tx) => {
      await this.users.setPasswordHash(userId, passwordHash, tx);
      return logoutDevices ? this.devices.deleteAllExcept(userId, keepDeviceId === '' ? undefined : keepDeviceId, tx) : [];
    });
    await this.deviceLists.publish(userId, deleted, 'removed');
  }

  /**
   * Deactivates the account: every device and token goes at once, the password and
   * profile are wiped. The user ID stays taken for good.
   */
  async deactivate(userId: UserId): Promise<void> {
    const deleted = await this.storage.transaction(async (tx) => {
      await this.users.deactivate(userId, tx);
      return this.devices.deleteAllExcept(userId, undefined, tx);
    });
    await this.deviceLists.publish(userId, deleted, 'removed');
  }
}
