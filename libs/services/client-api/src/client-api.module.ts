import { Module } from '@nestjs/common';
import { DiscoveryController } from './discovery.controller';

/** The Client-Server API service (`/_matrix/client/*` except sync and media). */
@Module({ controllers: [DiscoveryController] })
export class ClientApiModule {}
