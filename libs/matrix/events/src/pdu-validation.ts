import { encodeCanonicalJsonBytes, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import {
  getRoomIdFormat,
  parseEventIdOfFormat,
  parseHistoricalUserId,
  parseRoomId,
} from '@axon/matrix-identifiers';
import { isJsonObject, type EventFormat, type Pdu } from './pdu';

/**
 * Largest PDU: 65,536 bytes of canonical JSON, signatures included.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#size-limits
 */
export const MAX_PDU_BYTES = 65536;

/**
 * Largest `type` and `state_key`, in UTF-8 bytes.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#size-limits
 */
export const MAX_EVENT_FIELD_BYTES = 255;

/**
 * Most `auth_events` a PDU may list.
 * Spec: https://spec.matrix.org/v1.19/rooms/v4/#event-format
 */
export const MAX_AUTH_EVENTS = 10;

/**
 * Most `prev_events` a PDU may list.
 * Spec: https://spec.matrix.org/v1.19/rooms/v4/#event-format
 */
export const MAX_PREV_EVENTS = 20;

/**
 * Why a PDU is not valid for its event format: the offending field (a path such as
 * `prev_events[3]`, or `(event)` for the whole event) and the reason.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export interface PduValidationError {
  readonly field: string;
  readonly reason: string;
}

type Check = PduValidationError | undefined;

/**
 * Checks that a value is a structurally valid PDU of the given event format (step 1 of
 * the checks on receipt): required fields and their types, identifier grammar, the size
 * limits, and the `auth_events`/`prev_events` counts. It checks neither hashes nor
 * signatures nor authorisation. Never throws.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export function validatePdu(input: JsonValue, format: EventFormat): Result<Pdu, PduValidationError> {
  if (!isJsonObject(input)) return err(fail('(event)', 'a PDU must be a JSON object'));
  const error = checkPdu(input, format) ?? checkSize(input, format);
  return error === undefined ? ok(input as Pdu) : err(error);
}

function checkPdu(pdu: JsonObject, format: EventFormat): Check {
  const type = field(pdu, 'type');
  return (
    checkBoundedString(pdu, 'type', true) ??
    checkBoundedString(pdu, 'state_key', false) ??
    checkSender(field(pdu, 'sender')) ??
    checkRoomId(field(pdu, 'room_id'), format, type === 'm.room.create') ??
    checkEventIdField(pdu, 'event_id', format, format.includesEventId) ??
    (format.topLevelRedacts ? checkEventIdField(pdu, 'redacts', format, false) : undefined) ??
    checkObject(field(pdu, 'content'), 'content', true) ??
    checkInteger(field(pdu, 'depth'), 'depth', format, format.maxDepth) ??
    checkInteger(field(pdu, 'origin_server_ts'), 'origin_server_ts', format, undefined) ??
    checkReferences(field(pdu, 'auth_events'), 'auth_events', MAX_AUTH_EVENTS, format) ??
    checkReferences(field(pdu, 'prev_events'), 'prev_events', MAX_PREV_EVENTS, format) ??
    checkHashes(field(pdu, 'hashes'), 'hashes') ??
    checkSignatures(field(pdu, 'signatures')) ??
    checkObject(field(pdu, 'unsigned'), 'unsigned', false)
  );
}

function fail(name: string, reason: string): PduValidationError {
  return { field: name, reason };
}

function field(object: JsonObject, key: string): JsonValue | undefined {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

function checkBoundedString(pdu: JsonObject, name: 'type' | 'state_key', required: boolean): Check {
  const value = field(pdu, name);
  if (value === undefined) return required ? fail(name, 'is required') : undefined;
  if (typeof value !== 'string') return fail(name, 'must be a string');
  const bytes = measureUtf8Bytes(value);
  return bytes > MAX_EVENT_FIELD_BYTES ? fail(name, `is ${bytes} bytes, more than ${MAX_EVENT_FIELD_BYTES}`) : undefined;
}

function checkSender(value: JsonValue | undefined): Check {
  if (value === undefined) return fail('sender', 'is required');
  if (typeof value !== 'string') return fail('sender', 'must be a string');
  const parsed = parseHistoricalUserId(value);
  return parsed.ok ? undefined : fail('sender', parsed.error);
}

function checkRoomId(value: JsonValue | undefined, format: EventFormat, isCreate: boolean): Check {
  if (isCreate && !format.createEventHasRoomId) {
    return value === undefined ? undefined : fail('room_id', `must be absent from m.room.create in event format ${format.name}`);
  }
  if (value === undefined) return fail('room_id', 'is required');
  if (typeof value !== 'string') return fail('room_id', 'must be a string');
  const parsed = parseRoomId(value);
  if (!parsed.ok) return fail('room_id', parsed.error);
  const form = getRoomIdFormat(parsed.value);
  return form === format.roomIdFormat
    ? undefined
    : fail('room_id', `must be a ${format.roomIdFormat} room ID in event format ${format.name}, not ${form}`);
}

function checkEventId(value: JsonValue | undefined, name: string, format: EventFormat): Check {
  if (typeof value !== 'string') return fail(name, 'must be an event ID string');
  const parsed = parseEventIdOfFormat(value, format.eventIdFormat);
  return parsed.ok ? undefined : fail(name, parsed.error);
}

function checkEventIdField(pdu: JsonObject, name: string, format: EventFormat, required: boolean): Check {
  const value = field(pdu, name);
  if (value === undefined) return required ? fail(name, 'is required') : undefined;
  return checkEventId(value, name, format);
}

function checkObject(value: JsonValue | undefined, name: string, required: boolean): Check {
  if (value === undefined) return required ? fail(name, 'is required') : undefined;
  return isJsonObject(value) ? undefined : fail(name, 'must be an object');
}

function checkInteger(value: JsonValue | undefined, name: string, format: EventFormat, max: bigint | undefined): Check {
  if (value === undefined) return fail(name, 'is required');
  let integer: bigint;
  if (typeof value === 'bigint') integer = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
  else return fail(name, 'must be an integer');
  const limit = max ?? (format.strictCanonicalJson ? 2n ** 53n - 1n : 2n ** 63n - 1n);
  const min = format.strictCanonicalJson ? -(2n ** 53n) + 1n : -(2n ** 63n);
  if (integer > limit) return fail(name, `must be at most ${limit}`);
  return integer < min ? fail(name, `must be at least ${min}`) : undefined;
}

function checkReferences(value: JsonValue | undefined, name: string, max: number, format: EventFormat): Check {
  if (value === undefined) return fail(name, 'is required');
  if (!Array.isArray(value)) return fail(name, 'must be an array');
  if (value.length > max) return fail(name, `lists ${value.length} events, more than ${max}`);
  for (const [index, reference] of value.entries()) {
    const at = `${name}[${index}]`;
    if (!format.referencesWithHashes) {
      const error = checkEventId(reference, at, format);
      if (error !== undefined) return error;
      continue;
    }
    if (!Array.isArray(reference) || reference.length !== 2) return fail(at, 'must be an [event_id, hashes] pair');
    const error = checkEventId(reference[0], `${at}[0]`, format) ?? checkHashes(reference[1], `${at}[1]`);
    if (error !== undefined) return error;
  }
  return undefined;
}

function checkHashes(value: JsonValue | undefined, name: string): Check {
  if (value === undefined) return fail(name, 'is required');
  if (!isJsonObject(value)) return fail(name, 'must be an object');
  return typeof field(value, 'sha256') === 'string' ? undefined : fail(`${name}.sha256`, 'must be a string');
}

function checkSignatures(value: JsonValue | undefined): Check {
  if (value === undefined) return fail('signatures', 'is required');
  if (!isJsonObject(value)) return fail('signatures', 'must be an object');
  for (const [server, keys] of Object.entries(value)) {
    if (!isJsonObject(keys)) return fail(`signatures.${server}`, 'must be an object');
    for (const [keyId, signature] of Object.entries(keys)) {
      if (typeof signature !== 'string') return fail(`signatures.${server}.${keyId}`, 'must be a string');
    }
  }
  return undefined;
}

function checkSize(pdu: JsonObject, format: EventFormat): Check {
  let bytes: number;
  try {
    bytes = encodeCanonicalJsonBytes(pdu, { mode: format.strictCanonicalJson ? 'strict' : 'lenient' }).length;
  } catch (error) {
    // The encoder throws for values with no canonical form; that is a refusal, not a bug.
    return fail('(event)', `has no canonical JSON form: ${error instanceof Error ? error.message : String(error)}`);
  }
  return bytes > MAX_PDU_BYTES ? fail('(event)', `is ${bytes} bytes of canonical JSON, more than ${MAX_PDU_BYTES}`) : undefined;
}

function measureUtf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const codePoint = char.codePointAt(0) ?? 0;
    bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
  }
  return bytes;
}
