import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseFilters, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { parseDeviceId, type DeviceId } from '@axon/matrix-identifiers';
import { AccountsService } from '../accounts/accounts.service';
import { objectBody, optionalString } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { UiaRequiredFilter, UiaService } from '../auth/uia.service';
import { DevicesRepository, type DeviceRow } from '../storage/devices.repository';
import { DeviceListsProducer } from './device-lists.producer';

/** A device ID of a path or body, parsed; one that does not parse names no device (answered as an unknown one). */
function knownDevice(deviceId: string): DeviceId | undefined {
  const parsed = parseDeviceId(deviceId);
  return parsed.ok ? parsed.value : undefined;
}

/** Device management (Client-Server API, "Device management"). */
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
@UseFilters(UiaRequiredFilter)
export class DevicesController {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly accounts: AccountsService,
    private readonly uia: UiaService,
    private readonly deviceLists: DeviceListsProducer,
  ) {}

  @Get('devices')
  async list(@Requester() requester: Requester): Promise<{ devices: ReturnType<typeof toWire>[] }> {
    return { devices: (await this.devices.list(requester.userId)).map(toWire) };
  }

  @Get('devices/:deviceId')
  async get(@Requester() requester: Requester, @Param('deviceId') deviceId: string): Promise<ReturnType<typeof toWire>> {
    const id = knownDevice(deviceId);
    const device = id === undefined ? undefined : await this.devices.find(requester.userId, id);
    if (!device) throw new MatrixError('M_NOT_FOUND', 'No such device', 404);
    return toWire(device);
  }

  @Put('devices/:deviceId')
  async rename(@Requester() requester: Requester, @Param('deviceId') deviceId: string, @Body() raw: unknown): Promise<Record<string, never>> {
    const displayName = optionalString(objectBody(raw), 'display_name');
    const id = knownDevice(deviceId);
    if (displayName === undefined) {
      if (id === undefined || !(await this.devices.find(requester.userId, id))) throw new MatrixError('M_NOT_FOUND', 'No such device', 404);
      return {};
    }
    if (id === undefined || !(await this.devices.rename(requester.userId, id, displayName))) throw new MatrixError('M_NOT_FOUND', 'No such device', 404);
    await this.deviceLists.publish(requester.userId, [id], 'updated');
    return {};
  }

  @Delete('devices/:deviceId')
  async delete(@Requester() requester: Requester, @Param('deviceId') deviceId: string, @Body() raw: unknown): Promise<Record<string, never>> {
    await this.authenticate('DELETE /devices', requester, objectBody(raw));
    const id = knownDevice(deviceId);
    const deleted = id === undefined ? [] : await this.devices.delete(requester.userId, [id]);
    await this.deviceLists.publish(requester.userId, deleted, 'removed');
    return {};
  }

  @Post('delete_devices')
  @HttpCode(200)
  async deleteMany(@Requester() requester: Requester, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    const ids = body['devices'];
    if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) {
      throw new MatrixError('M_BAD_JSON', '"devices" must be a list of device IDs', 400);
    }
    await this.authenticate('POST /delete_devices', requester, body);
    const deleted = await this.devices.delete(requester.userId, ids.map(knownDevice).filter((id) => id !== undefined));
    await this.deviceLists.publish(requester.userId, deleted, 'removed');
    return {};
  }

  private async authenticate(operation: string, requester: Requester, body: Readonly<Record<string, unknown>>): Promise<void> {
    await this.uia.authenticate({
      operation,
      userId: requester.userId,
      flows: [{ stages: ['m.login.password'] }],
      auth: body['auth'],
      verify: (_stage, auth) => this.accounts.passwordStage(requester.userId, auth),
    });
  }
}

/**
 * A device as `GET /devices` lists it. A name never set, or a device never seen since it
 * logged in, has the field `null`, as Synapse sends it. The spec's schema has these fields
 * optional and says "absent" (a string or integer when present, which rejects null), but
 * clients read them: matrix-nio's `devices()` validates the answer with all four keys
 * required (string, integer or null) and fails on a device without them. Sending null
 * keeps those clients working at the cost of the letter of the schema; every other field
 * is as the spec says.
 */
function toWire(device: DeviceRow): { device_id: string; display_name: string | null; last_seen_ip: string | null; last_seen_ts: number | null } {
  return { device_id: device.device_id, display_name: device.display_name, last_seen_ip: device.last_seen_ip, last_seen_ts: device.last_seen_ts };
}
