import { Controller, Get, UseGuards } from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { getRoomVersionsCapability } from '@axon/matrix-room-versions';
import { InjectConfig } from '@axon/platform-runtime';
import { AccessTokenGuard } from '../auth/access-token.guard';

/** `GET /capabilities` (Client-Server API, "Capabilities negotiation"). */
@Controller('_matrix/client/v3/capabilities')
@UseGuards(AccessTokenGuard)
export class CapabilitiesController {
  constructor(@InjectConfig() private readonly config: AxonConfig) {}

  @Get()
  capabilities(): { capabilities: Record<string, unknown> } {
    return {
      capabilities: {
        'm.change_password': { enabled: true },
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
        'm.get_login_token': { enabled: this.config.auth.login_token_enabled },
        'm.room_versions': getRoomVersionsCapability(this.config.rooms.default_version),
      },
    };
  }
}
