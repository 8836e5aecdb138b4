import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller';
import { OpenIdUserInfoController } from './openid.controller';

/** The Server-Server API service that answers other servers (`/_matrix/key/*`, `/_matrix/federation/*`). */
@Module({ controllers: [KeysController, OpenIdUserInfoController] })
export class FederationReceiverModule {}
