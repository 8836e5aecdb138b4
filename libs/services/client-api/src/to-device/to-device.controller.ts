import { Body, Controller, Param, Put, UseGuards } from '@nestjs/common';
import { objectBody } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { ToDeviceService } from './to-device.service';

/**
 * Send-to-device messaging (Client-Server API).
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid
 */
@Controller('_matrix/client/v3/sendToDevice')
@UseGuards(AccessTokenGuard)
export class ToDeviceController {
  constructor(private readonly toDevice: ToDeviceService) {}

  @Put(':eventType/:txnId')
  async send(@Requester() requester: Requester, @Param('eventType') eventType: string, @Param('txnId') txnId: string, @Body() body: unknown): Promise<Record<string, never>> {
    await this.toDevice.send(requester, eventType, txnId, objectBody(body));
    return {};
  }
}
