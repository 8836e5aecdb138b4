/**
 * The routes a listener serves, kept to tell "no such endpoint" (404) from "endpoint
 * exists, wrong method" (405), as the spec's `M_UNRECOGNIZED` asks.
 */
export class RouteTable {
  private readonly routes: { method: string; pattern: RegExp }[] = [];

  add(method: string | string[], url: string): void {
    const pattern = new RegExp(
      `^${url
        .split('/')
        .map((segment) => {
          if (segment === '*') return '.*';
          if (segment.startsWith(':')) return '[^/]+';
          return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/')}/?$`,
    );
    for (const m of Array.isArray(method) ? method : [method]) this.routes.push({ method: m, pattern });
  }

  hasOtherMethod(path: string, method: string): boolean {
    return this.routes.some((r) => r.method !== method && r.method !== 'HEAD' && r.pattern.test(path));
  }
}
