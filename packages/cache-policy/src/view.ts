/**
 * What a cached view is, and `view()` to declare one: the route it caches (its Express path), where its entries
 * live (prefix and operation), how long they stay fresh (TTL), what they show (tags, from the route's parsed
 * parameters) and when the cache worker refills them (after which writes, and at start). Each API lists its
 * views in a file of its own (organisations-api.ts, people-api.ts).
 */
import type { Change } from '@crm/database';
import type { ApiService, InvalidationJob } from '@crm/jobs';
import { PREFIX_TTLS, type CachePrefix } from './prefixes';

type ParamNames<P extends string> =
  P extends `${string}:${infer Name}/${infer Rest}` ? Name | ParamNames<`/${Rest}`>
    : P extends `${string}:${infer Name}` ? Name
      : never;

/** A route path's parameters as validation leaves them: every path parameter of these APIs is a numeric id. */
export type PathParams<P extends string> = { [K in ParamNames<P>]: number };

/** The route's validated input, as the cache middleware hands it to a view's `tags`. */
export interface ViewInput<P extends string> {
  params: PathParams<P>;
  query: Record<string, unknown>;
}

/** What the worker knows of a committed write (an invalidation job) when it picks the views to refill. */
export type Write = Pick<InvalidationJob, 'event' | 'entity' | 'id' | 'payload'>;

/** The entities a write can change (the `entity` of a `Change` in cache-tags.ts). */
export type WrittenEntity = Change['entity'];

/** Per written entity, which of a view's responses to refill after the write: its path parameters, or null for none. */
export type RefillAfter<P extends string> = Partial<Record<WrittenEntity, (write: Write) => PathParams<P> | null>>;

/** At the worker's start: a view without parameters once (`true`); a view with an id once per id the SQL selects. */
export type StartupWarmup = true | { ids: string };

/** What `view()` takes; the path comes first, so the tags and refills are checked against its parameters. */
export interface ViewSpec<P extends string> {
  prefix: CachePrefix;
  /** The second part of the key (`detail`, `list`, `search` ...); unique within the prefix. */
  operation: string;
  /** Seconds an entry stays fresh; default: the prefix's (PREFIX_TTLS). */
  ttl?: number;
  /** The tags of everything the response shows: each must be invalidated by some write in cache-tags.ts (tested). */
  tags(input: ViewInput<P>): string[];
  /**
   * The tags of what the response shows that only its data tells (the rows on a page), from the input and the
   * response's JSON: read when the response is stored, so a write between the read and the store is caught.
   */
  shows?(input: ViewInput<P>, result: any): string[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Refilled by the worker after these writes (GETs through the API, so the bytes and key are a reader's). */
  refillAfter?: RefillAfter<P>;
  /** Refilled by the worker when it starts: `true` for a view without parameters, `{ ids }` for one with an id. */
  warmAtStartup?: [ParamNames<P>] extends [never] ? true : { ids: string };
}

/**
 * One cached view, as the routes (through the service kit), the TTL table and the worker's warm-up see it.
 * `CachedView` with no argument is any view.
 */
export interface CachedView<P extends string = string> {
  /** The Express path of the route that serves it, below `/api/v1`. */
  readonly path: P;
  readonly prefix: CachePrefix;
  readonly operation: string;
  /** Seconds, before `CACHE_TTL_<PREFIX>` (see `ttlOf`). */
  readonly ttl: number;
  tags(input: ViewInput<P>): string[];
  shows(input: ViewInput<P>, result: any): string[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly refillAfter: RefillAfter<P>;
  readonly warmAtStartup: StartupWarmup | null;
}

/** Declares a cached view of the route at `path` (e.g. `/organisations/:id`). */
export function view<const P extends string>(path: P, spec: ViewSpec<P>): CachedView<P> {
  return {
    path,
    prefix: spec.prefix,
    operation: spec.operation,
    ttl: spec.ttl ?? PREFIX_TTLS[spec.prefix],
    tags: spec.tags,
    shows: spec.shows ?? (() => []),
    refillAfter: spec.refillAfter ?? {},
    warmAtStartup: spec.warmAtStartup ?? null,
  };
}

/** One API's cached views, by the names its routes use. */
export interface ApiPolicy<V extends Record<string, CachedView> = Record<string, CachedView>> {
  /** The API that serves them (where the worker sends their warm-up GETs). */
  readonly service: ApiService;
  readonly views: V;
}

/** Declares an API's policy: its service and its views (in the order the worker refills them). */
export function apiPolicy<const V extends Record<string, CachedView>>(service: ApiService, views: V): ApiPolicy<V> {
  return { service, views };
}

/** The names of a path's parameters (`/organisations/:id/mandats`: `['id']`). */
export function paramNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

/** The URL path of one of a view's responses (`/organisations/7`), below `/api/v1`. */
export function pathOf(cached: CachedView, params: Record<string, number>): string {
  return cached.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${cached.path}: no value for :${name}`);
    return String(value);
  });
}

/** A view's TTL in seconds: `CACHE_TTL_<PREFIX>` (env.cacheTtlOverrides, keyed by lower-case prefix) wins over the view's. */
export function ttlOf(cached: CachedView, overrides: Record<string, number> = {}): number {
  return overrides[cached.prefix] ?? cached.ttl;
}
