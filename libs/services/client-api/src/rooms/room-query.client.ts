import { Injectable } from '@nestjs/common';
import {
  RoomQueryDefinition,
  type GetCurrentStateRequest,
  type GetCurrentStateResponse,
  type GetEventsRequest,
  type GetEventsResponse,
  type GetInputResultRequest,
  type GetInputResultResponse,
  type GetMembershipRequest,
  type GetMembershipResponse,
  type GetMembersRequest,
  type GetMembersResponse,
  type GetRoomInfoRequest,
  type GetRoomInfoResponse,
  type GetRoomsOfUserRequest,
  type GetRoomsOfUserResponse,
  type GetStateAtEventRequest,
  type GetStateAtEventResponse,
  type GetStateEventRequest,
  type GetStateEventResponse,
  type PaginateRequest,
  type PaginateResponse,
} from '@axon/contracts-grpc';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';

/**
 * The room server's read API (`hs.roomserver.v1.RoomQuery`), as client-api uses it. One
 * injectable of its own, so that reading a room does not go through the write path's
 * client (`RoomInputClient`) and a test fakes exactly the reads it needs.
 */
@Injectable()
export class RoomQueryClient {
  private readonly client: ServiceClient<typeof RoomQueryDefinition>;

  constructor(rpc: RpcHost) {
    this.client = rpc.client(RoomQueryDefinition);
  }

  getInputResult(request: GetInputResultRequest): Promise<GetInputResultResponse> {
    return this.client.getInputResult(request);
  }

  getRoomInfo(request: GetRoomInfoRequest): Promise<GetRoomInfoResponse> {
    return this.client.getRoomInfo(request);
  }

  getCurrentState(request: GetCurrentStateRequest): Promise<GetCurrentStateResponse> {
    return this.client.getCurrentState(request);
  }

  getStateEvent(request: GetStateEventRequest): Promise<GetStateEventResponse> {
    return this.client.getStateEvent(request);
  }

  getStateAtEvent(request: GetStateAtEventRequest): Promise<GetStateAtEventResponse> {
    return this.client.getStateAtEvent(request);
  }

  getEvents(request: GetEventsRequest): Promise<GetEventsResponse> {
    return this.client.getEvents(request);
  }

  getMembership(request: GetMembershipRequest): Promise<GetMembershipResponse> {
    return this.client.getMembership(request);
  }

  getRoomsOfUser(request: GetRoomsOfUserRequest): Promise<GetRoomsOfUserResponse> {
    return this.client.getRoomsOfUser(request);
  }

  getMembers(request: GetMembersRequest): Promise<GetMembersResponse> {
    return this.client.getMembers(request);
  }

  paginate(request: PaginateRequest): Promise<PaginateResponse> {
    return this.client.paginate(request);
  }
}
