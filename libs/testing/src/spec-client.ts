import { specErrors } from './spec-schemas';

type Json = Record<string, unknown>;

export interface SpecCallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string>>;
  /** The status the call must answer with; 200 unless given. */
  readonly status?: number;
  /**
   * The spec's `METHOD path` whose schema the body must match, when the route called is
   * not one of the spec's own (a shortened or legacy form Axon serves as well, such as
   * `PUT …/state/{eventType}` for the empty state key).
   */
  readonly spec?: string;
  /**
   * Properties this endpoint sends as `null` when the value is unknown, where the spec's
   * schema has them absent (a string when present): Synapse sends them so and clients
   * (matrix-nio) require them. Validated as absent; every other property as the spec says.
   */
  readonly nullMeansAbsent?: readonly string[];
}

/**
 * `value` without the properties named in `names` whose value is null, at any depth: a
 * body whose unknown fields are sent as null (as Synapse sends them), as the spec's
 * schema, which has them absent, sees it.
 */
export function withoutNulls(value: unknown, names: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutNulls(item, names));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key, item]) => !(item === null && names.includes(key))).map(([key, item]) => [key, withoutNulls(item, names)]));
}

/**
 * A plain HTTP client for the Client-Server API that checks every answer against the
 * spec's OpenAPI: `call('GET', '/_matrix/client/v3/rooms/{roomId}/state', { roomId })`
 * fills the path from the spec's template, requires the expected status, and validates
 * the body against the schema of `METHOD template status`. Each key it validated is kept
 * in {@link validated}.
 */
export class SpecClient {
  readonly validated = new Set<string>();

  constructor(private readonly baseUrl: string) {}

  async call<T = Json>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', template: string, params: Readonly<Record<string, string>> = {}, options: SpecCallOptions = {}): Promise<T> {
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new Error(`${template}: no value for {${name}}`);
      return encodeURIComponent(value);
    });
    const query = options.query === undefined ? '' : `?${new URLSearchParams(options.query).toString()}`;
    const res = await fetch(`${this.baseUrl}${path}${query}`, {
      method,
      headers: {
        ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    const want = options.status ?? 200;
    if (res.status !== want) throw new Error(`${method} ${path}${query}: status ${res.status}, expected ${want}: ${text}`);
    if (!/^application\/json\b/.test(res.headers.get('content-type') ?? '')) throw new Error(`${method} ${path}: content-type ${res.headers.get('content-type')}`);
    const body = JSON.parse(text) as unknown;
    const key = `${options.spec ?? `${method} ${template}`} ${res.status}`;
    const errors = specErrors('client-server', key, options.nullMeansAbsent ? withoutNulls(body, options.nullMeansAbsent) : body);
    if (errors.length > 0) throw new Error(`${key} (${path}${query}): the body does not match the spec:\n  ${errors.join('\n  ')}\n${text}`);
    this.validated.add(key);
    return body as T;
  }
}
