import type { Request, Response, Router } from 'express';
import { match } from 'path-to-regexp';

/** The label of every request no route of the service matches: fixed, so unknown URLs cannot add series. */
export const UNMATCHED = 'unmatched';

interface Pattern {
  label: string;
  methods: Set<string>;
  matches: (path: string) => boolean;
}

/**
 * The route label of a response: the matched pattern with its mount path (`/api/v1/organisations/:id`), the same
 * for a success and for an error, wherever the error was raised. Auth and rate limiting answer before Express
 * matches a route, so such a request is matched here against the router's own patterns, in the router's order,
 * by method and path; a request no pattern matches is `unmatched`.
 */
export function routeLabeller(mountPath: string, router: Router): (req: Request, res: Response) => string {
  let patterns: Pattern[] | null = null;
  // Built on first use: the routes are all registered by then.
  const compile = (): Pattern[] => router.stack.flatMap((layer) => {
    const route = layer.route as { path: unknown; methods: Record<string, boolean> } | undefined;
    if (!route || typeof route.path !== 'string') return [];
    const matcher = match(`${mountPath}${route.path}`, { decode: false });
    const methods = new Set(Object.keys(route.methods).filter((m) => route.methods[m]).map((m) => m.toUpperCase()));
    if (methods.has('GET')) methods.add('HEAD');
    return [{ label: `${mountPath}${route.path}`, methods, matches: (path: string) => matcher(path) !== false }];
  });
  return (req, res) => {
    const known = res.locals.route as string | undefined;
    if (known) return known;
    const path = req.originalUrl.split('?')[0]!;
    if (path.startsWith(`${mountPath}/`)) {
      patterns ??= compile();
      return patterns.find((p) => p.methods.has(req.method) && p.matches(path))?.label ?? UNMATCHED;
    }
    // Pages outside the API (health, metrics, the dashboard): the route Express matched, if any; a route of
    // several paths (as Bull Board declares them) is labelled by where it is mounted.
    const pattern: unknown = req.route?.path;
    if (typeof pattern === 'string') return `${req.baseUrl}${pattern}`;
    return pattern !== undefined && req.baseUrl ? req.baseUrl : UNMATCHED;
  };
}
