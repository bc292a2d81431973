/**
 * The check that an API's routes and its cache policy agree, run when the app is built: each view of the policy is
 * served by exactly one GET route at the view's own path, and no route caches with a view of another policy. So a
 * view's warm-up paths are always routes that exist and serve that view.
 */
import type { RequestHandler, Router } from 'express';
import type { ApiPolicy, CachedView } from '@crm/cache-policy';

interface RouteLayer {
  path: unknown;
  methods: Record<string, boolean>;
  stack: { handle: unknown }[];
}

/** Which view each cache middleware was built from (the app builder fills it as the routes ask for middleware). */
export type ViewMarks = ReadonlyMap<RequestHandler, CachedView>;

/** Throws, naming every disagreement, unless the router mounts each view of the policy once, on GET at its path. */
export function assertViewsMounted(policy: ApiPolicy, router: Router, marks: ViewMarks): void {
  const problems: string[] = [];
  const mounted = new Map<CachedView, string[]>();
  for (const layer of router.stack) {
    const route = layer.route as RouteLayer | undefined;
    if (!route) continue;
    const where = `${Object.keys(route.methods).map((m) => m.toUpperCase()).join(',')} ${String(route.path)}`;
    for (const { handle } of route.stack) {
      const view = marks.get(handle as RequestHandler);
      if (!view) continue;
      mounted.set(view, [...(mounted.get(view) ?? []), where]);
      if (route.path !== view.path || !route.methods.get) problems.push(`${where} caches with the view of GET ${view.path}`);
    }
  }
  const names = new Map(Object.entries(policy.views).map(([name, view]) => [view, name]));
  for (const [view, where] of mounted) {
    if (!names.has(view)) problems.push(`${where.join(', ')} caches with ${view.prefix}:${view.operation}, a view of another policy`);
  }
  for (const [view, name] of names) {
    const count = mounted.get(view)?.length ?? 0;
    if (count !== 1) problems.push(`the view ${name} (GET ${view.path}) is mounted ${count} times, not once`);
  }
  if (problems.length > 0) throw new Error(`${policy.service}: the routes and the cache policy disagree: ${problems.join('; ')}`);
}
