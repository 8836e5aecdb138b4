import { Body, Controller, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { ServerNoticesService } from './server-notices.service';

/**
 * Synapse's admin API for server notices (not part of the Matrix spec); server admins only.
 *
 * Synapse: https://element-hq.github.io/synapse/latest/admin_api/server_notices.html
 */
@Controller('_synapse/admin/v1/send_server_notice')
@UseGuards(AccessTokenGuard)
export class ServerNoticesController {
  constructor(private readonly notices: ServerNoticesService) {}

  @Post()
  @HttpCode(200)
  async send(@Requester() requester: Requester, @Body() body: unknown): Promise<{ event_id: string }> {
    return { event_id: await this.notices.send(requester, body, undefined) };
  }

  @Put(':txnId')
  async sendIdempotent(@Requester() requester: Requester, @Param('txnId') txnId: string, @Body() body: unknown): Promise<{ event_id: string }> {
    return { event_id: await this.notices.send(requester, body, txnId) };
  }
}
