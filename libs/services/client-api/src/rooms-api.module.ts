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
import { OptionalAccessTokenGuard } from './auth/optional-access-token.guard';
import { ReportsController } from './reports/reports.controller';
import { RoomSummaryController } from './room-summary/room-summary.controller';
import { RoomSummaryService } from './room-summary/room-summary.service';

/**
 * The room endpoints of the Client-Server API (rooms, membership, events, aliases, directory,
 * receipts, typing, summaries, reports), and Synapse's server notices, which are sent through them.
 */
@Module({
  imports: [ClientApiModule],
  controllers: [RoomsController, DirectoryController, PushRulesController, ReceiptsController, TypingController, ServerNoticesController, RoomSummaryController, ReportsController],
  providers: [RoomsService, RoomReadsService, DirectoryService, ReceiptsService, TypingService, ServerNoticesService, RoomSummaryService, OptionalAccessTokenGuard],
})
export class RoomsApiModule {}
