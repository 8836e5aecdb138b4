import { Module } from '@nestjs/common';
import { Database } from '@axon/platform-database';
import { AccountController } from './account/account.controller';
import { AccountsService } from './accounts/accounts.service';
import { AccessTokenGuard } from './auth/access-token.guard';
import { PasswordHasher } from './auth/password-hasher';
import { RateLimits } from './auth/rate-limits';
import { SessionsService } from './auth/sessions.service';
import { UiaService } from './auth/uia.service';
import { CapabilitiesController } from './capabilities/capabilities.controller';
import { DevicesController } from './devices/devices.controller';
import { DiscoveryController } from './discovery.controller';
import { FiltersController } from './filters/filters.controller';
import { LoginController } from './login/login.controller';
import { ProfileController } from './profile/profile.controller';
import { RegisterController } from './register/register.controller';
import { RegistrationService } from './register/registration.service';
import { SharedSecretController } from './register/shared-secret.controller';
import { ClientApiStore } from './storage/client-api-store';
import { DevicesRepository } from './storage/devices.repository';
import { FiltersRepository } from './storage/filters.repository';
import { CLIENT_API_MIGRATIONS } from './storage/migrations';
import { RegistrationTokensRepository } from './storage/registration-tokens.repository';
import { TokensRepository } from './storage/tokens.repository';
import { UsersRepository } from './storage/users.repository';

const repository = <T>(type: new (store: ClientApiStore) => T) => ({ provide: type, inject: [ClientApiStore], useFactory: (store: ClientApiStore) => new type(store) });

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
  ],
  providers: [
    {
      provide: ClientApiStore,
      inject: [Database],
      useFactory: async (database: Database) => new ClientApiStore(await database.dataSource({ schema: 'client_api', migrations: [...CLIENT_API_MIGRATIONS] })),
    },
    repository(UsersRepository),
    repository(DevicesRepository),
    repository(TokensRepository),
    repository(FiltersRepository),
    repository(RegistrationTokensRepository),
    PasswordHasher,
    RateLimits,
    SessionsService,
    UiaService,
    AccountsService,
    RegistrationService,
    AccessTokenGuard,
  ],
  exports: [AccessTokenGuard, SessionsService, RateLimits, UsersRepository],
})
export class ClientApiModule {}
