import { Metadata } from '@grpc/grpc-js';
import type { RpcMetadata } from './definition';
import { RpcStatusError } from './status';

/** Our text metadata as gRPC's: `-bin` keys travel as UTF-8 bytes, per gRPC's rule. */
export function toGrpcMetadata(metadata: RpcMetadata): Metadata {
  const out = new Metadata();
  for (const [key, value] of Object.entries(metadata)) {
    out.set(key, key.endsWith('-bin') ? Buffer.from(value, 'utf8') : value);
  }
  return out;
}

/** gRPC metadata as text (first value per key). */
export function fromGrpcMetadata(metadata: Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata?.getMap() ?? {})) {
    out[key] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out;
}

/** The status a grpc-js client error carries (a `ServiceError` is a StatusObject). */
export function statusFromServiceError(error: unknown): RpcStatusError {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') {
    const details = 'details' in error && typeof error.details === 'string' ? error.details : '';
    const metadata = 'metadata' in error && error.metadata instanceof Metadata ? error.metadata : undefined;
    return new RpcStatusError(error.code, details, fromGrpcMetadata(metadata));
  }
  throw error; // not a call failure: a defect in this library, let it surface
}

/** Request bytes pass through grpc-js untouched: encoding is ours (client-core.ts). */
export const passThrough = {
  serialize: (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  deserialize: (bytes: Buffer): Buffer => bytes,
};
