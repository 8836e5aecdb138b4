import type { DataSource } from '@axon/platform-database';
import { AccountDataRepository } from './account-data.repository';
import { DeviceListsRepository } from './device-lists.repository';
import { MembershipsRepository } from './memberships.repository';
import { PresenceRepository } from './presence.repository';
import { ReceiptsRepository } from './receipts.repository';
import { RoomEventsRepository } from './room-events.repository';
import { StreamPositionsRepository } from './stream-positions.repository';
import { ToDeviceRepository } from './to-device.repository';
import { TypingRepository } from './typing.repository';

/** A class's public surface: what a fake must provide (private fields make classes nominal). */
export type PublicOf<T> = { [K in keyof T]: T[K] };

/** Every repository of the sync read model (schema `sync`), one per concept. */
export interface SyncRepositories {
  readonly positions: PublicOf<StreamPositionsRepository>;
  readonly roomEvents: PublicOf<RoomEventsRepository>;
  readonly memberships: PublicOf<MembershipsRepository>;
  readonly accountData: PublicOf<AccountDataRepository>;
  readonly receipts: PublicOf<ReceiptsRepository>;
  readonly typing: PublicOf<TypingRepository>;
  readonly presence: PublicOf<PresenceRepository>;
  readonly toDevice: PublicOf<ToDeviceRepository>;
  readonly deviceLists: PublicOf<DeviceListsRepository>;
}

/** The repositories over one connection to schema `sync` (the module's provider). */
export class SyncStorage implements SyncRepositories {
  readonly positions: StreamPositionsRepository;
  readonly roomEvents: RoomEventsRepository;
  readonly memberships: MembershipsRepository;
  readonly accountData: AccountDataRepository;
  readonly receipts: ReceiptsRepository;
  readonly typing: TypingRepository;
  readonly presence: PresenceRepository;
  readonly toDevice: ToDeviceRepository;
  readonly deviceLists: DeviceListsRepository;

  constructor(readonly db: DataSource) {
    this.positions = new StreamPositionsRepository(db);
    this.roomEvents = new RoomEventsRepository(db);
    this.memberships = new MembershipsRepository(db);
    this.accountData = new AccountDataRepository(db);
    this.receipts = new ReceiptsRepository(db);
    this.typing = new TypingRepository(db);
    this.presence = new PresenceRepository(db);
    this.toDevice = new ToDeviceRepository(db);
    this.deviceLists = new DeviceListsRepository(db);
  }
}
