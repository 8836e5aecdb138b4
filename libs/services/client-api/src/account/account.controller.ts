import { Body, Controller, Get, HttpCode, Post, UseFilters, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { AccountsService } from '../accounts/accounts.service';
import { objectBody, optionalBoolean, requiredString } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { UiaRequiredFilter, UiaService } from '../auth/uia.service';
import { MAX_PASSWORD_LENGTH } from '../register/registration.service';
import { UserRoomsService } from '../rooms/user-rooms.service';

/** Account management: password change, deactivation, third-party identifiers (none are stored). */
@Controller('_matrix/client/v3/account')
@UseGuards(AccessTokenGuard)
@UseFilters(UiaRequiredFilter)
export class AccountController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly uia: UiaService,
    private readonly rooms: UserRoomsService,
  ) {}

  @Post('password')
  @HttpCode(200)
  async changePassword(@Requester() requester: Requester, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    await this.passwordAuth('POST /account/password', requester, body);
    const newPassword = requiredString(body, 'new_password');
    if (newPassword.length > MAX_PASSWORD_LENGTH) throw new MatrixError('M_INVALID_PARAM', 'Password too long', 400);
    await this.accounts.changePassword(requester.userId, newPassword, optionalBoolean(body, 'logout_devices') ?? true, requester.deviceId);
    return {};
  }

  @Post('deactivate')
  @HttpCode(200)
  async deactivate(@Requester() requester: Requester, @Body() raw: unknown): Promise<{ id_server_unbind_result: 'no-support' }> {
    const body = objectBody(raw);
    await this.passwordAuth('POST /account/deactivate', requester, body);
    await this.accounts.deactivate(requester.userId);
    // After the account is disabled, so it cannot rejoin meanwhile.
    await this.rooms.leaveAll(requester.userId);
    // No third-party identifiers are bound, so there is nothing to unbind.
    return { id_server_unbind_result: 'no-support' };
  }

  @Get('3pid')
  threepids(): { threepids: never[] } {
    return { threepids: [] };
  }

  private async passwordAuth(operation: string, requester: Requester, body: Readonly<Record<string, unknown>>): Promise<void> {
    await this.uia.authenticate({
      operation,
      userId: requester.userId,
      flows: [{ stages: ['m.login.password'] }],
      auth: body['auth'],
      verify: (_stage, auth) => this.accounts.passwordStage(requester.userId, auth),
    });
  }
}
