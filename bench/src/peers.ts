/**
 * The caching libraries an Express user would pick instead of ours, wired into the same routes for
 * `npm run bench`, each the way its documentation shows:
 * - apicache: its Redis store (a node-redis 3 client, as its README does), `req.apicacheGroup` to group
 *   entries, `apicache.clear(group)` after a write;
 * - bentocache: a memory L1 in front of a Redis L2, a Redis bus to keep the L1s of all processes coherent,
 *   `getOrSet` with tags, `deleteByTag` after a write.
 * Both get what ours gets: the tags each route declares, and the tags of each committed change (from the
 * same outbox write path), so the comparison is about what each library does with them.
 */
import { AsyncResource } from 'node:async_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ttlOf, type CachedView } from '@crm/cache-policy';
import { tagsForChange, type Change } from '@crm/database';
import type { ChangeWriter } from '@crm/service-kit';

export const PEERS = ['apicache', 'bentocache'] as const;
export type Peer = (typeof PEERS)[number];

/** What a service's buildApp takes in place of our route cache and write path. */
export interface RouteOverrides {
  /** The peer's middleware for one cached view of the policy: its prefix, operation, TTL and tags. */
  cached: (view: CachedView) => RequestHandler;
  write: ChangeWriter['write'];
}

/** Our write path (transaction + outbox), then the peer's invalidation of the change's tags before the write answers. */
function writeThen(writer: ChangeWriter, invalidate: (tags: string[]) => Promise<void>): ChangeWriter['write'] {
  return async (work) => {
    let change: Change | undefined;
    const result = await writer.write(async (em) => {
      const done = await work(em);
      change = done[1];
      return done;
    });
    if (change) await invalidate(tagsForChange(change));
    return result;
  };
}

/** The view's tags for this request's validated input. */
const tagsOf = (view: CachedView, res: Response) => view.tags(res.locals.input as Parameters<CachedView['tags']>[0]);

// ---------------------------------------------------------------- apicache

function apicacheOverrides(redisUrl: string): (writer: ChangeWriter) => RouteOverrides {
  // Both are CommonJS without ESM entry points; required here so other phases never load them.
  const apicache = require('apicache') as typeof import('apicache');
  const redis = require('redis') as { createClient: (options: { url: string }) => { on: (e: string, f: (err: Error) => void) => void } };
  const client = redis.createClient({ url: redisUrl });
  client.on('error', (error) => process.stderr.write(`apicache redis: ${error.message}\n`));
  const cache = apicache.newInstance({
    redisClient: client as never,
    // Our X-Cache header says HIT or MISS per request: not stored with the response.
    headerBlacklist: ['x-cache'],
    statusCodes: { include: [200], exclude: [] },
  });
  return (writer) => ({
    cached: (view) => {
      const middleware = cache.middleware(`${ttlOf(view)} seconds`);
      return (req: Request, res: Response, next: NextFunction) => {
        // apicache files an entry under one group: the route's first tag (the entity's, or the list's).
        (req as Request & { apicacheGroup?: string }).apicacheGroup = tagsOf(view, res)[0];
        res.setHeader('X-Cache', 'HIT'); // apicache answers a hit itself and calls next() only on a miss
        // node-redis 3 calls back outside the request's async context: bound, so the handler finds its
        // per-request EntityManager (what any apicache + MikroORM user must do).
        middleware(req, res, AsyncResource.bind((error?: unknown) => {
          res.setHeader('X-Cache', 'MISS');
          next(error);
        }));
      };
    },
    write: writeThen(writer, async (tags) => {
      for (const tag of tags) cache.clear(tag);
    }),
  });
}

// ---------------------------------------------------------------- bentocache

/** The fill's answer went out already (an error response through the error handler): nothing to cache. */
class AnsweredElsewhere extends Error {}

async function bentocacheOverrides(redisUrl: string): Promise<(writer: ChangeWriter) => RouteOverrides> {
  // ESM-only: loaded with import() from this CommonJS build.
  const { BentoCache, bentostore } = await import('bentocache');
  const { memoryDriver } = await import('bentocache/drivers/memory');
  const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis');
  const url = new URL(redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0) };
  const bento = new BentoCache({
    default: 'multitier',
    stores: {
      multitier: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '200mb' }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  });
  return (writer) => ({
    cached: (view) => {
      const ttl = ttlOf(view) * 1_000;
      return (req: Request, res: Response, next: NextFunction) => {
        let filled = false;
        bento.getOrSet({
          key: `${view.prefix}:${view.operation}:${req.originalUrl}`,
          ttl,
          tags: tagsOf(view, res),
          // The route handler is the factory: its JSON body is the value (res.json is borrowed for the fill).
          factory: () => new Promise((resolve, reject) => {
            filled = true;
            const json = res.json.bind(res);
            res.json = (body: unknown) => {
              res.json = json;
              if (res.statusCode === 200) resolve(body);
              else { json(body); reject(new AnsweredElsewhere()); }
              return res;
            };
            res.once('finish', () => reject(new AnsweredElsewhere()));
            next();
          }),
        }).then(
          (value) => {
            if (res.headersSent) return;
            res.setHeader('X-Cache', filled ? 'MISS' : 'HIT');
            res.json(value);
          },
          (error: unknown) => {
            if (!(error instanceof AnsweredElsewhere) && !res.headersSent) next(error);
          },
        );
      };
    },
    write: writeThen(writer, async (tags) => {
      await bento.deleteByTag({ tags });
    }),
  });
}

/** The route overrides for a peer library, connected to its Redis. */
export async function peerOverrides(peer: Peer, redisUrl: string): Promise<(writer: ChangeWriter) => RouteOverrides> {
  return peer === 'apicache' ? apicacheOverrides(redisUrl) : bentocacheOverrides(redisUrl);
}
