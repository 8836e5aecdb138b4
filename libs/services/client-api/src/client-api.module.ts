import { Module, type OnModuleInit } from '@nestjs/common';
import { AccountsDefinition } from '@axon/contracts-grpc';
import type { MessageBus } from '@axon/platform-bus';
import type { CacheClient } from '@axon/platform-cache';
import { RoomInputClient, RoomInputTiming } from '@axon/platform-room-input';
import { BUS, CACHE, CONFIG, RpcHost } from '@axon/platform-runtime';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { AccountController } from './account/account.controller';
import { AccountDataController } from './account-data/account-data.controller';
import { AccountDataService } from './account-data/account-data.service';
import { AccountsService } from './accounts/accounts.service';
import { AccessTokenGuard } from './auth/access-token.guard';
import { PasswordHasher } from './auth/password-hasher';
import { RateLimits } from './auth/rate-limits';
import { SessionsService } from './auth/sessions.service';
import { UiaService } from './auth/uia.service';
import { CapabilitiesController } from './capabilities/capabilities.controller';
import { ThirdPartyController } from './thirdparty/thirdparty.controller';
import { DeviceListsProducer } from './devices/device-lists.producer';
import { DevicesController } from './devices/devices.controller';
import { DiscoveryController } from './discovery.controller';
import { FiltersController } from './filters/filters.controller';
import { LoginController } from './login/login.controller';
import { LoginService } from './login/login.service';
import { ProfileController } from './profile/profile.controller';
import { RegisterController } from './register/register.controller';
import { RegistrationService } from './register/registration.service';
import { RegistrationSecret } from './register/registration-secret';
import { SharedSecretController } from './register/shared-secret.controller';
import { RemoteRoomsClient } from './rooms/remote-rooms.client';
import { RoomQueryClient } from './rooms/room-query.client';
import { UserRoomsService } from './rooms/user-rooms.service';
import { createAccountsRpc } from './rpc/accounts.rpc';
import { AccountDataRepository } from './storage/account-data.repository';
import { ClientApiStorage } from './storage/client-api-storage';
import { DevicesRepository } from './storage/devices.repository';
import { FiltersRepository } from './storage/filters.repository';
import { ForgottenRoomsRepository } from './storage/forgotten-rooms.repository';
import { ToDeviceTxnsRepository } from './storage/to-device-txns.repository';
import { CLIENT_API_MIGRATIONS } from './storage/migrations';
import { RegistrationTokensRepository } from './storage/registration-tokens.repository';
import { ServerNoticeRoomsRepository } from './storage/server-notice-rooms.repository';
import { TokensRepository } from './storage/tokens.repository';
import { UsersRepository } from './storage/users.repository';
import { ToDeviceController } from './to-device/to-device.controller';
import { ToDeviceService } from './to-device/to-device.service';
import { OpenIdController } from './openid/openid.controller';
import { OpenIdTokensRepository } from './storage/openid-tokens.repository';
import { ReportsRepository } from './storage/reports.repository';
import { UserDirectoryRepository } from './storage/user-directory.repository';
import { UserDirectoryConsumer } from './user-directory/user-directory.consumer';
import { UserDirectoryController } from './user-directory/user-directory.controller';
import { VoipController } from './voip/voip.controller';

const repository = <T>(type: new (storage: ClientApiStorage) => T) => ({ provide: type, inject: [ClientApiStorage], useFactory: (storage: ClientApiStorage) => new type(storage) });

/** The Client-Server API service (`/_matrix/client/*` except sync and media). */
@Module({
  controllers: [
    DiscoveryController,
    RegisterController,
    SharedSecretController,
    LoginController,
    AccountController,
    DevicesController,
    ProfileController,
    FiltersController,
    CapabilitiesController,
    ThirdPartyController,
    AccountDataController,
    ToDeviceController,
    OpenIdController,
    VoipController,
    UserDirectoryController,
  ],
  providers: [
    {
      provide: ClientApiStorage,
      inject: [Database],
      useFactory: async (database: Database) => new ClientApiStorage(await database.dataSource({ schema: 'client_api', migrations: [...CLIENT_API_MIGRATIONS] })),
    },
    { provide: RegistrationSecret, inject: [CONFIG], useFactory: (config: AxonConfig) => RegistrationSecret.load(config) },
    repository(UsersRepository),
    repository(AccountDataRepository),
    repository(DevicesRepository),
    repository(TokensRepository),
    repository(FiltersRepository),
    repository(ToDeviceTxnsRepository),
    repository(RegistrationTokensRepository),
    repository(ForgottenRoomsRepository),
    repository(ServerNoticeRoomsRepository),
    repository(OpenIdTokensRepository),
    repository(ReportsRepository),
    repository(UserDirectoryRepository),
    UserDirectoryConsumer,
    RoomQueryClient,
    RemoteRoomsClient,
    RoomInputTiming,
    {
      provide: RoomInputClient,
      inject: [BUS, CACHE, RoomQueryClient, RoomInputTiming],
      useFactory: (bus: MessageBus, cache: CacheClient, rooms: RoomQueryClient, timing: RoomInputTiming) => new RoomInputClient(bus, cache, rooms, timing),
    },
    UserRoomsService,
    PasswordHasher,
    RateLimits,
    SessionsService,
    UiaService,
    AccountsService,
    RegistrationService,
    LoginService,
    AccessTokenGuard,
    AccountDataService,
    DeviceListsProducer,
    ToDeviceService,
  ],
  // The room endpoints (RoomsApiModule) share the room server clients and forgotten rooms;
  // profiles and deactivation here change memberships through them too; read markers set
  // room account data; server notices keep each user's notices room; reports are stored here.
  exports: [AccessTokenGuard, SessionsService, RateLimits, UsersRepository, ReportsRepository, FiltersRepository, RoomQueryClient, RemoteRoomsClient, RoomInputClient, ForgottenRoomsRepository, ServerNoticeRoomsRepository, AccountDataService],
})
export class ClientApiModule implements OnModuleInit {
  constructor(
    private readonly sessions: SessionsService,
    private readonly filters: FiltersRepository,
    private readonly openIdTokens: OpenIdTokensRepository,
    private readonly devices: DevicesRepository,
    private readonly users: UsersRepository,
    private readonly rpc: RpcHost,
  ) {}

  /** Serves `Accounts` (access-token and OpenID-token resolution, stored filters) to the other services. */
  onModuleInit(): void {
    this.rpc.serve(AccountsDefinition, createAccountsRpc({ sessions: this.sessions, filters: this.filters, openIdTokens: this.openIdTokens, devices: this.devices, users: this.users }));
  }
}
