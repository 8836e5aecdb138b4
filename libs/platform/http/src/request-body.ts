import { MatrixError } from '@axon/matrix-errors';

/** A JSON object as a request body carries it (its values not yet checked). */
export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * The request body as a JSON object (an absent body counts as `{}`). Valid JSON that is
 * not an object, `null` included, is `M_BAD_JSON` ("valid JSON, but malformed"), as the
 * HTTP layer's parser already answers it; unparseable bodies are `M_NOT_JSON` there.
 */
export function objectBody(body: unknown): JsonObject {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MatrixError('M_BAD_JSON', 'Content must be a JSON object.', 400);
  return body as JsonObject;
}

/** `body[key]` when it is a string; absent or null is undefined; another type is `M_BAD_JSON`. */
export function optionalString(body: JsonObject, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new MatrixError('M_BAD_JSON', `"${key}" must be a string`, 400);
  return value;
}

/** `body[key]`, which must be a string (`M_MISSING_PARAM` when absent). */
export function requiredString(body: JsonObject, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw new MatrixError('M_MISSING_PARAM', `Missing "${key}"`, 400);
  return value;
}

/** `body[key]` when it is a boolean; absent or null is undefined; another type is `M_BAD_JSON`. */
export function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new MatrixError('M_BAD_JSON', `"${key}" must be a boolean`, 400);
  return value;
}
