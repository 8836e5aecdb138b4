import { Body, Controller, Header, Param, Put, UseGuards } from '@nestjs/common';
import type { ServerName } from '@axon/matrix-identifiers';
import { objectBody } from '@axon/platform-http';
import { TransactionService, type TransactionAnswer } from '../transactions/transaction.service';
import { Origin } from './origin';
import { XMatrixGuard } from './x-matrix.guard';

/**
 * `PUT /_matrix/federation/v1/send/{txnId}`: a transaction of PDUs and EDUs from another
 * server, answered once every PDU has its outcome.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#put_matrixfederationv1sendtxnid
 */
@Controller('_matrix/federation/v1/send')
@UseGuards(XMatrixGuard)
export class TransactionsController {
  constructor(private readonly transactions: TransactionService) {}

  @Put(':txnId')
  @Header('cache-control', 'no-store')
  send(@Origin() origin: ServerName, @Param('txnId') txnId: string, @Body() body: unknown): Promise<TransactionAnswer> {
    return this.transactions.receive(origin, txnId, objectBody(body));
  }
}
