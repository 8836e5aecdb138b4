import type { MessageHeaders } from './bus';

/** Header names the bus writes on dead-lettered messages (`<topic>.dlq`). */
export const DLQ_HEADERS = {
  error: 'x-axon-error',
  originalTopic: 'x-axon-original-topic',
  originalPartition: 'x-axon-original-partition',
  originalOffset: 'x-axon-original-offset',
  originalTimestamp: 'x-axon-original-timestamp',
  attempts: 'x-axon-attempts',
  consumerGroup: 'x-axon-consumer-group',
} as const;

/** Every header the bus owns starts with this; publishers may not set them. */
export const RESERVED_HEADER_PREFIX = 'x-axon-';

export function checkPublisherHeaders(headers: MessageHeaders | undefined): void {
  if (!headers) return;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) {
      throw new Error(`header "${name}" is reserved for the bus`);
    }
    if (typeof value !== 'string') throw new TypeError(`header "${name}" must be a string`);
  }
}

/** Kafka header values arrive as Buffers (or arrays of them): the bus exposes UTF-8 strings, last value wins. */
export function headersFromKafka(raw: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>> | undefined): MessageHeaders {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const [name, value] of Object.entries(raw)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    out[name] = typeof last === 'string' ? last : last.toString('utf8');
  }
  return out;
}

/** The in-process log stores headers as a JSON object of strings. */
export function headersFromJson(raw: unknown): MessageHeaders {
  const out: Record<string, string> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
