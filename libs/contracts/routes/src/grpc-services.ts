import type { ServiceName } from './services';

/**
 * Which process serves each gRPC service (full protobuf name, as `grpc.targets` keys
 * it) in distributed mode. Those processes listen on `listen.grpc`; clients reach them
 * through a headless Kubernetes Service with round-robin over the replicas.
 * `hs.platform.v1.Diagnostics`, served by every process, is not routed.
 */
export const GRPC_SERVICES = {
  'hs.roomserver.v1.RoomQuery': 'room-server',
  'hs.roomserver.v1.RoomDirectory': 'room-server',
  'hs.clientapi.v1.Accounts': 'client-api',
  'hs.federationreceiver.v1.KeyRing': 'federation-receiver',
  'hs.federationreceiver.v1.RemoteRooms': 'federation-receiver',
} as const satisfies Readonly<Record<string, ServiceName>>;

export type GrpcServiceName = keyof typeof GRPC_SERVICES;

/** The services that listen on gRPC. */
export const GRPC_SERVER_NAMES: readonly ServiceName[] = [...new Set<ServiceName>(Object.values(GRPC_SERVICES))];
