import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { AccessTokenGuard } from '../auth/access-token.guard';

/**
 * Third-party networks (Client-Server API, "Application service room directories" and
 * "Third-party networks"): the protocols that bridges (application services) offer, and
 * lookups between their users and locations and Matrix IDs. Axon registers no
 * application service, so no protocol is offered: the list is empty, and every protocol
 * and lookup is unknown (404, as the spec answers when nothing is found). Clients ask for
 * the protocols at start-up (Element's room directory).
 */
@Controller('_matrix/client/v3/thirdparty')
@UseGuards(AccessTokenGuard)
export class ThirdPartyController {
  @Get('protocols')
  protocols(): Record<string, never> {
    return {};
  }

  @Get('protocol/:protocol')
  protocol(@Param('protocol') protocol: string): never {
    throw unknownProtocol(protocol);
  }

  @Get('location/:protocol')
  locations(@Param('protocol') protocol: string): never {
    throw unknownProtocol(protocol);
  }

  @Get('user/:protocol')
  users(@Param('protocol') protocol: string): never {
    throw unknownProtocol(protocol);
  }

  @Get('location')
  locationOfAlias(): never {
    throw new MatrixError('M_NOT_FOUND', 'No bridged location has this room alias', 404);
  }

  @Get('user')
  userOfId(): never {
    throw new MatrixError('M_NOT_FOUND', 'No bridged user has this user ID', 404);
  }
}

function unknownProtocol(protocol: string): MatrixError {
  return new MatrixError('M_NOT_FOUND', `No bridge offers the protocol ${JSON.stringify(protocol)}`, 404);
}
