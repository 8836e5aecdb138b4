import { Body, Controller, Delete, Get, Param, Put, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { ContentBody } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { AccountDataService } from './account-data.service';

type Content = Record<string, unknown>;

function contentOf(body: unknown): Content {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MatrixError('M_NOT_JSON', 'Content must be a JSON object.', 400);
  return body as Content;
}

/**
 * Account data and room tags (Client-Server API, "Client Config" and "Room Tagging").
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#client-config
 */
@Controller('_matrix/client/v3/user/:userId')
@UseGuards(AccessTokenGuard)
export class AccountDataController {
  constructor(private readonly accountData: AccountDataService) {}

  @Get('account_data/:type')
  get(@Requester() requester: Requester, @Param('userId') userId: string, @Param('type') type: string): Promise<Content> {
    return this.accountData.get(this.accountData.owner(requester, userId), '', type);
  }

  @Put('account_data/:type')
  @ContentBody()
  async set(@Requester() requester: Requester, @Param('userId') userId: string, @Param('type') type: string, @Body() body: unknown): Promise<Record<string, never>> {
    await this.accountData.set(this.accountData.owner(requester, userId), '', type, contentOf(body));
    return {};
  }

  @Get('rooms/:roomId/account_data/:type')
  getForRoom(@Requester() requester: Requester, @Param('userId') userId: string, @Param('roomId') roomId: string, @Param('type') type: string): Promise<Content> {
    const [owner, room] = this.accountData.ownerAndRoom(requester, userId, roomId);
    return this.accountData.get(owner, room, type);
  }

  @Put('rooms/:roomId/account_data/:type')
  @ContentBody()
  async setForRoom(
    @Requester() requester: Requester,
    @Param('userId') userId: string,
    @Param('roomId') roomId: string,
    @Param('type') type: string,
    @Body() body: unknown,
  ): Promise<Record<string, never>> {
    const [owner, room] = this.accountData.ownerAndRoom(requester, userId, roomId);
    await this.accountData.set(owner, room, type, contentOf(body));
    return {};
  }

  @Get('rooms/:roomId/tags')
  async tags(@Requester() requester: Requester, @Param('userId') userId: string, @Param('roomId') roomId: string): Promise<{ tags: Record<string, Content> }> {
    const [owner, room] = this.accountData.ownerAndRoom(requester, userId, roomId);
    return { tags: await this.accountData.tags(owner, room) };
  }

  @Put('rooms/:roomId/tags/:tag')
  @ContentBody()
  async setTag(@Requester() requester: Requester, @Param('userId') userId: string, @Param('roomId') roomId: string, @Param('tag') tag: string, @Body() body: unknown): Promise<Record<string, never>> {
    const [owner, room] = this.accountData.ownerAndRoom(requester, userId, roomId);
    await this.accountData.setTag(owner, room, tag, contentOf(body));
    return {};
  }

  @Delete('rooms/:roomId/tags/:tag')
  async deleteTag(@Requester() requester: Requester, @Param('userId') userId: string, @Param('roomId') roomId: string, @Param('tag') tag: string): Promise<Record<string, never>> {
    const [owner, room] = this.accountData.ownerAndRoom(requester, userId, roomId);
    await this.accountData.deleteTag(owner, room, tag);
    return {};
  }
}
