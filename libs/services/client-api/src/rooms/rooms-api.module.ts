import { Module } from '@nestjs/common';
import { ClientApiModule } from '../client-api.module';
import { RoomInputClient } from './room-input.client';
import { RoomsController } from './rooms.controller';
import { RoomsService } from './rooms.service';

/** The room endpoints of the Client-Server API (rooms, membership, events). */
@Module({
  imports: [ClientApiModule],
  controllers: [RoomsController],
  providers: [RoomInputClient, RoomsService],
})
export class RoomsApiModule {}
