// Framework-free RPC over the generated service definitions of @axon/contracts-grpc:
// one ServiceClient<D> type, bound over gRPC (distributed) or in-process (embedded),
// with the same deadlines, error mapping, metadata and trace context. See README.md.
export type {
  CallContext,
  CallOptions,
  MessageCodec,
  MethodDefinition,
  RpcMetadata,
  ServiceClient,
  ServiceDefinition,
  ServiceImplementation,
} from './definition';
export type { ClientOptions } from './client-core';
export {
  ERRCODE_TRAILER,
  EXTRAS_TRAILER,
  HTTP_STATUS_TRAILER,
  INTERNAL_ERROR_MESSAGE,
  STATUS_FOR_ERRCODE,
  TRANSPORT_HTTP_STATUS,
} from './error-mapping';
export { RpcStatus } from './status';
export type { RpcLogger } from './logger';
export { stderrLogger } from './logger';
export { HealthRegistry, ServingStatus, healthImplementation } from './health';
export { type ProcessDescription, diagnosticsImplementation } from './diagnostics';
export { GrpcServer, type GrpcServerOptions } from './grpc-server';
export { GrpcChannel, type GrpcChannelOptions, createGrpcClient } from './grpc-client';
export { InProcessServer, type InProcessServerOptions, createInProcessClient } from './in-process';
export { parseTargetsFile } from './file-resolver';
