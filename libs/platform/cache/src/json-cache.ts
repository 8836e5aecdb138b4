import type { TtlCache } from './ports';

/**
 * JSON on top of a string cache. `parse` turns the decoded value into `T` and should
 * validate it (a zod schema's `parse` fits): another version of the code may have written
 * the entry, so what comes back is untrusted input, not a `T`.
 */
export type JsonParse<T> = (value: unknown) => T;

export async function getJson<T>(cache: TtlCache, key: string, parse: JsonParse<T>): Promise<T | undefined> {
  const raw = await cache.get(key);
  return raw === undefined ? undefined : parse(JSON.parse(raw));
}

export async function setJson(cache: TtlCache, key: string, value: unknown, ttlMs: number): Promise<void> {
  await cache.set(key, JSON.stringify(value), ttlMs);
}

/** `getOrLoad` for JSON values; `undefined` from the loader is returned and not stored. */
export async function getOrLoadJson<T>(
  cache: TtlCache,
  key: string,
  ttlMs: number,
  parse: JsonParse<T>,
  loader: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const raw = await cache.getOrLoad(key, ttlMs, async () => {
    const value = await loader();
    return value === undefined ? undefined : JSON.stringify(value);
  });
  return raw === undefined ? undefined : parse(JSON.parse(raw));
}
