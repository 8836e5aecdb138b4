import { Module } from '@nestjs/common';
import { ClientApiModule } from '../client-api.module';
import { DirectoryController } from '../directory/directory.controller';
import { DirectoryService } from '../directory/directory.service';
import { PushRulesController } from '../push-rules/push-rules.controller';
import { RoomReadsService } from './room-reads.service';
import { RoomsController } from './rooms.controller';
import { RoomsService } from './rooms.service';

/** The room endpoints of the Client-Server API (rooms, membership, events, aliases, directory). */
@Module({
  imports: [ClientApiModule],
  controllers: [RoomsController, DirectoryController, PushRulesController],
  providers: [RoomsService, RoomReadsService, DirectoryService],
})
export class RoomsApiModule {}
