import { Module } from '@nestjs/common';
import { ServerNoticesController } from './admin/server-notices.controller';
import { ServerNoticesService } from './admin/server-notices.service';
import { ClientApiModule } from './client-api.module';
import { DirectoryController } from './directory/directory.controller';
import { DirectoryService } from './directory/directory.service';
import { PushRulesController } from './push-rules/push-rules.controller';
import { ReceiptsController } from './receipts/receipts.controller';
import { ReceiptsService } from './receipts/receipts.service';
import { RoomReadsService } from './rooms/room-reads.service';
import { RoomsController } from './rooms/rooms.controller';
import { RoomsService } from './rooms/rooms.service';
import { TypingController } from './typing/typing.controller';
import { TypingService } from './typing/typing.service';

/**
 * The room endpoints of the Client-Server API (rooms, membership, events, aliases, directory,
 * receipts, typing), and Synapse's server notices, which are sent through them.
 */
@Module({
  imports: [ClientApiModule],
  controllers: [RoomsController, DirectoryController, PushRulesController, ReceiptsController, TypingController, ServerNoticesController],
  providers: [RoomsService, RoomReadsService, DirectoryService, ReceiptsService, TypingService, ServerNoticesService],
})
export class RoomsApiModule {}
