import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig } from '@axon/platform-runtime';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { turnCredentials, type TurnServerCredentials } from './turn-credentials';

/**
 * `GET /voip/turnServer` (Client-Server API, "Voice over IP"): credentials for the
 * configured TURN server (`turn.*`); `{}` when none is configured, as Synapse answers.
 */
@Controller('_matrix/client/v3/voip/turnServer')
@UseGuards(AccessTokenGuard)
export class VoipController {
  constructor(@InjectConfig() private readonly config: AxonConfig) {}

  @Get()
  // Credentials are per user and time-limited: no cache may keep them.
  @Header('cache-control', 'no-store')
  turnServer(@Requester() requester: Requester): TurnServerCredentials | Record<string, never> {
    if (requester.isGuest && !this.config.turn.allow_guests) throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access not allowed', 403);
    return turnCredentials(this.config.turn, requester.userId, Date.now()) ?? {};
  }
}
