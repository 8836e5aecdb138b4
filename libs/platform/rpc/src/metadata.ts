import {
  type Context,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
  propagation,
} from '@opentelemetry/api';
import type { RpcMetadata } from './definition';

// gRPC's rules for custom metadata (https://grpc.github.io/grpc/core/md_doc_PROTOCOL-HTTP2.html):
// lower-case keys of [0-9a-z_.-], `grpc-` reserved, text values in printable ASCII.
// Both bindings apply them, so metadata that gRPC would refuse is refused in-process too.
const KEY = /^[0-9a-z_.-]+$/;
const ASCII_VALUE = /^[\x20-\x7e]*$/;

/** Validates and lower-cases outgoing metadata. Throws TypeError on a programming error. */
export function normalizeMetadata(metadata: RpcMetadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(metadata ?? {})) {
    const key = rawKey.toLowerCase();
    if (!KEY.test(key) || key.startsWith('grpc-')) {
      throw new TypeError(`invalid gRPC metadata key ${JSON.stringify(rawKey)}`);
    }
    if (!key.endsWith('-bin') && !ASCII_VALUE.test(value)) {
      throw new TypeError(`metadata ${key} must be printable ASCII (use a -bin key for other text)`);
    }
    out[key] = value;
  }
  return out;
}

const setter: TextMapSetter<Record<string, string>> = {
  set(carrier, key, value) {
    carrier[key.toLowerCase()] = value;
  },
};

const getter: TextMapGetter<RpcMetadata> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key.toLowerCase()],
};

/**
 * Writes the trace context of `context` into the metadata with the globally registered
 * propagator (W3C traceparent once the telemetry SDK is started; nothing before).
 */
export function injectTraceContext(context: Context, metadata: Record<string, string>): void {
  propagation.inject(context, metadata, setter);
}

/** The caller's trace context, as a parent for the server side of the call. */
export function extractTraceContext(metadata: RpcMetadata): Context {
  return propagation.extract(ROOT_CONTEXT, metadata, getter);
}
