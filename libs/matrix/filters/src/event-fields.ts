/**
 * Splits a dot-separated property path into property names: `\.` is a literal dot, `\\`
 * a literal backslash, any other backslash is kept as it is (`\x` is `\` then `x`).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#dot-separated-property-paths
 */
export function splitPropertyPath(path: string): string[] {
  const names: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!;
    const next = path[i + 1];
    if (char === '\\' && (next === '.' || next === '\\')) {
      current += next;
      i++;
    } else if (char === '.') {
      names.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  names.push(current);
  return names;
}

/**
 * The `event_fields` projection of a filter: a new event holding only the listed
 * dot-separated paths (`content.body` keeps `body` inside `content`). A path through a
 * missing key or a non-object is skipped. Values are deep copies, never references into
 * `event`. With `fields` absent every field is included and `event` itself is returned;
 * an empty list includes nothing.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3useruseridfilter
 */
export function applyEventFields(event: object, fields: readonly string[] | undefined): object {
  if (fields === undefined) return event;
  const projected: Record<string, unknown> = {};
  for (const field of fields) {
    const names = splitPropertyPath(field);
    const value = lookup(event, names);
    if (value === undefined) continue;
    let target = projected;
    for (const name of names.slice(0, -1)) {
      const existing = Object.hasOwn(target, name) ? target[name] : undefined;
      if (!isPlainObject(existing)) define(target, name, {});
      target = target[name] as Record<string, unknown>;
    }
    define(target, names[names.length - 1]!, structuredClone(value));
  }
  return projected;
}

function lookup(event: object, names: readonly string[]): unknown {
  let value: unknown = event;
  for (const name of names) {
    if (!isPlainObject(value) || !Object.hasOwn(value, name)) return undefined;
    value = value[name];
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property even for names like `__proto__`, which plain assignment would not. */
function define(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}
