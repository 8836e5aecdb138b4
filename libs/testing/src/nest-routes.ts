import { RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';

type ModuleRef = Type<unknown> | DynamicModule | Promise<DynamicModule> | { forwardRef: () => Type<unknown> };

/** `"GET /a/:b"` for every route a controller declares. */
export interface DeclaredRoute {
  readonly method: string;
  readonly path: string;
}

function joinPath(...parts: string[]): string {
  const path = parts.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '').join('/');
  return `/${path}`;
}

/**
 * Every HTTP route the controllers of `modules` (and the modules they import) declare,
 * read from Nest's own route metadata: what the application registers when it is built
 * from these modules, without building it.
 */
export function declaredRoutes(modules: readonly ModuleRef[]): DeclaredRoute[] {
  const seenModules = new Set<unknown>();
  const seenControllers = new Set<Type<unknown>>();
  const routes: DeclaredRoute[] = [];
  const visit = (ref: ModuleRef): void => {
    if (ref instanceof Promise) throw new Error('declaredRoutes: asynchronous dynamic modules are not supported');
    const module = 'forwardRef' in ref ? ref.forwardRef() : ref;
    const type = 'module' in module ? module.module : module;
    const dynamic = 'module' in module ? module : undefined;
    if (seenModules.has(module)) return;
    seenModules.add(module);
    const imports = [...((Reflect.getMetadata(MODULE_METADATA.IMPORTS, type) as ModuleRef[] | undefined) ?? []), ...((dynamic?.imports as ModuleRef[] | undefined) ?? [])];
    const controllers = [...((Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, type) as Type<unknown>[] | undefined) ?? []), ...(dynamic?.controllers ?? [])];
    for (const controller of controllers) {
      if (seenControllers.has(controller)) continue;
      seenControllers.add(controller);
      const prefixes = [(Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined) ?? '/'].flat();
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown;
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (paths === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        for (const prefix of prefixes) for (const path of [paths].flat()) routes.push({ method, path: joinPath(prefix, path) });
      }
    }
    for (const child of imports) if (child !== undefined) visit(child);
  };
  for (const module of modules) visit(module);
  return routes;
}
