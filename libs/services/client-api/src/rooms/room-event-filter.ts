import type { RoomEvent } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';

/**
 * A `RoomEventFilter` as `/messages` and `/context` apply it.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#filtering
 */
export interface RoomEventFilter {
  readonly limit: number | undefined;
  readonly types: readonly string[] | undefined;
  readonly notTypes: readonly string[];
  readonly senders: readonly string[] | undefined;
  readonly notSenders: readonly string[];
  readonly containsUrl: boolean | undefined;
  readonly lazyLoadMembers: boolean;
}

export const NO_FILTER: RoomEventFilter = {
  limit: undefined,
  types: undefined,
  notTypes: [],
  senders: undefined,
  notSenders: [],
  containsUrl: undefined,
  lazyLoadMembers: false,
};

function bad(message: string): never {
  throw new MatrixError('M_BAD_JSON', message, 400);
}

function stringList(o: Record<string, unknown>, key: string): string[] | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) bad(`filter.${key} must be a list of strings`);
  return value as string[];
}

function boolean(o: Record<string, unknown>, key: string): boolean | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') bad(`filter.${key} must be a boolean`);
  return value;
}

/** Reads a `RoomEventFilter` object (a stored filter's `room.timeline`, or an inline one). */
export function parseRoomEventFilter(value: unknown): RoomEventFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('filter must be an object');
  const o = value as Record<string, unknown>;
  const limit = o['limit'];
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) {
    throw new MatrixError('M_INVALID_PARAM', 'filter.limit must be a positive integer', 400);
  }
  return {
    limit: limit as number | undefined,
    types: stringList(o, 'types'),
    notTypes: stringList(o, 'not_types') ?? [],
    senders: stringList(o, 'senders'),
    notSenders: stringList(o, 'not_senders') ?? [],
    containsUrl: boolean(o, 'contains_url'),
    lazyLoadMembers: boolean(o, 'lazy_load_members') ?? false,
  };
}

/** The spec's type patterns: `*` matches any run of characters. */
function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(type);
}

/** Whether a filter lets an event through (`not_*` win over the allow lists). */
export function filterAllows(filter: RoomEventFilter, event: RoomEvent): boolean {
  const pdu = JSON.parse(event.pduJson) as { type?: string; sender?: string; content?: Record<string, unknown> };
  const type = pdu.type ?? '';
  const sender = pdu.sender ?? '';
  if (filter.notTypes.some((pattern) => typeMatches(pattern, type))) return false;
  if (filter.types !== undefined && !filter.types.some((pattern) => typeMatches(pattern, type))) return false;
  if (filter.notSenders.includes(sender)) return false;
  if (filter.senders !== undefined && !filter.senders.includes(sender)) return false;
  if (filter.containsUrl !== undefined) {
    const hasUrl = typeof pdu.content?.['url'] === 'string';
    if (hasUrl !== filter.containsUrl) return false;
  }
  return true;
}
