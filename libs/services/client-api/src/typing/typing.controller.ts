import { Body, Controller, Param, Put, UseGuards } from '@nestjs/common';
import { objectBody } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { TypingService } from './typing.service';

/**
 * Typing notifications (Client-Server API).
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3roomsroomidtypinguserid
 */
@Controller('_matrix/client/v3/rooms/:roomId/typing')
@UseGuards(AccessTokenGuard)
export class TypingController {
  constructor(private readonly typing: TypingService) {}

  @Put(':userId')
  async setTyping(@Requester() requester: Requester, @Param('roomId') roomId: string, @Param('userId') userId: string, @Body() body: unknown): Promise<Record<string, never>> {
    await this.typing.setTyping(requester, roomId, userId, objectBody(body));
    return {};
  }
}
