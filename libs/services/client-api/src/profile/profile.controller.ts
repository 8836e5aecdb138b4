import { Body, Controller, Delete, Get, Param, Put, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { parseHistoricalUserId, type UserId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import { objectBody } from '@axon/platform-http';
import { InjectConfig } from '@axon/platform-runtime';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { RemoteRoomsClient } from '../rooms/remote-rooms.client';
import { UserRoomsService } from '../rooms/user-rooms.service';
import { UsersRepository, type Profile } from '../storage/users.repository';

const MAX_PROFILE_BYTES = 64 * 1024;
const MAX_KEY_BYTES = 255;

/** The user a path names; an ID that does not parse names no account (M_NOT_FOUND, as an unknown user). */
function userOf(userId: string): UserId {
  const parsed = parseHistoricalUserId(userId);
  if (!parsed.ok) throw new MatrixError('M_NOT_FOUND', 'No such user', 404);
  return parsed.value;
}

/**
 * Profiles of local users (Client-Server API, "Profiles"): `displayname`, `avatar_url`
 * and custom fields. Only the user may change their own.
 */
@Controller('_matrix/client/v3/profile/:userId')
export class ProfileController {
  constructor(
    private readonly users: UsersRepository,
    private readonly rooms: UserRoomsService,
    private readonly remoteRooms: RemoteRoomsClient,
    @InjectConfig() private readonly config: AxonConfig,
  ) {}

  @Get()
  async profile(@Param('userId') userId: string): Promise<Profile> {
    return this.lookUp(userOf(userId));
  }

  @Get(':keyName')
  async field(@Param('userId') userId: string, @Param('keyName') keyName: string): Promise<Profile> {
    const profile = await this.lookUp(userOf(userId), keyName);
    if (!Object.hasOwn(profile, keyName)) throw new MatrixError('M_NOT_FOUND', 'No such profile field', 404);
    return { [keyName]: profile[keyName] };
  }

  @Put(':keyName')
  @UseGuards(AccessTokenGuard)
  async set(@Requester() requester: Requester, @Param('userId') userId: string, @Param('keyName') keyName: string, @Body() raw: unknown): Promise<Record<string, never>> {
    // From here on the path's user is the requester, whose ID is already parsed.
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', "Cannot change other users' profiles", 403);
    if (Buffer.byteLength(keyName, 'utf8') > MAX_KEY_BYTES) throw new MatrixError('M_TOO_LARGE', 'Profile key longer than 255 bytes', 400);
    const body = objectBody(raw);
    if (!Object.hasOwn(body, keyName)) throw new MatrixError('M_MISSING_PARAM', `Missing "${keyName}"`, 400);
    const value = body[keyName];
    if ((keyName === 'displayname' || keyName === 'avatar_url') && typeof value !== 'string' && value !== null) {
      throw new MatrixError('M_BAD_JSON', `"${keyName}" must be a string`, 400);
    }
    const next = { ...(await this.load(requester.userId)), [keyName]: value };
    if (Buffer.byteLength(JSON.stringify(next), 'utf8') > MAX_PROFILE_BYTES) {
      throw new MatrixError('M_TOO_LARGE', 'The profile would exceed 64 KiB', 400);
    }
    await this.users.setProfileField(requester.userId, keyName, value === null ? undefined : value);
    await this.propagate(requester.userId, keyName);
    return {};
  }

  @Delete(':keyName')
  @UseGuards(AccessTokenGuard)
  async remove(@Requester() requester: Requester, @Param('userId') userId: string, @Param('keyName') keyName: string): Promise<Record<string, never>> {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', "Cannot change other users' profiles", 403);
    await this.users.setProfileField(requester.userId, keyName, undefined);
    await this.propagate(requester.userId, keyName);
    return {};
  }

  /** A new display name or avatar goes into the user's member event in every room they are in. */
  private async propagate(userId: UserId, keyName: string): Promise<void> {
    if (keyName !== 'displayname' && keyName !== 'avatar_url') return;
    await this.rooms.propagateProfile(userId, await this.load(userId));
  }

  /** A profile to show: a local user's, or another server's user's from their server (`query/profile`). */
  private async lookUp(userId: UserId, field?: string): Promise<Profile> {
    if (userId.slice(userId.indexOf(':') + 1) === this.config.server_name) return this.load(userId);
    const remoteField = field === 'displayname' || field === 'avatar_url' ? field : '';
    const remote = await this.remoteRooms.queryProfile({ userId, field: remoteField });
    if (!remote.found) throw new MatrixError('M_NOT_FOUND', 'No such user', 404);
    return { ...(remote.displayname === undefined ? {} : { displayname: remote.displayname }), ...(remote.avatarUrl === undefined ? {} : { avatar_url: remote.avatarUrl }) };
  }

  private async load(userId: UserId): Promise<Profile> {
    const profile = await this.users.profile(userId);
    if (profile === undefined) throw new MatrixError('M_NOT_FOUND', 'No such user', 404);
    return profile;
  }
}
