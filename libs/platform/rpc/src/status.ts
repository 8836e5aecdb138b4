import type { RpcMetadata } from './definition';

/**
 * gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), spelled
 * here so that the in-process binding does not load @grpc/grpc-js. The numbers are the
 * wire values and equal `@grpc/grpc-js`'s `status` enum.
 */
export enum RpcStatus {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * A call's failure as it travels: a status code, its details text and trailing
 * metadata. Both bindings produce and consume exactly this, so error mapping happens in
 * one place (error-mapping.ts) for both.
 */
export class RpcStatusError extends Error {
  constructor(
    readonly code: RpcStatus,
    readonly details: string,
    readonly trailers: RpcMetadata = {},
  ) {
    super(`${RpcStatus[code] ?? code}: ${details}`);
    this.name = 'RpcStatusError';
  }
}
