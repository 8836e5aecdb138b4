import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller';

/** The Server-Server API service that answers other servers (`/_matrix/key/*`, later `/_matrix/federation/*`). */
@Module({ controllers: [KeysController] })
export class FederationReceiverModule {}
