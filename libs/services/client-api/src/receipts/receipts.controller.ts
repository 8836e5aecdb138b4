import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { RoomId } from '@axon/matrix-identifiers';
import { objectBody, RoomIdParam } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { ReceiptsService } from './receipts.service';

/**
 * Receipts and read markers (Client-Server API, "Receipts" and "Fully read markers").
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3roomsroomidreceiptreceipttypeeventid
 */
@Controller('_matrix/client/v3/rooms/:roomId')
@UseGuards(AccessTokenGuard)
export class ReceiptsController {
  constructor(private readonly receipts: ReceiptsService) {}

  @Post('receipt/:receiptType/:eventId')
  @HttpCode(200)
  async receipt(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Param('receiptType') receiptType: string,
    @Param('eventId') eventId: string,
    @Body() body: unknown,
  ): Promise<Record<string, never>> {
    await this.receipts.receipt(requester, roomId, receiptType, eventId, objectBody(body));
    return {};
  }

  @Post('read_markers')
  @HttpCode(200)
  async readMarkers(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() body: unknown): Promise<Record<string, never>> {
    await this.receipts.readMarkers(requester, roomId, objectBody(body));
    return {};
  }
}
