import type { RequestHandler } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import { reservedProbe } from './orm';
import { withReadRouting } from './replicas';
import { inRequestScope } from './request-scope';

/**
 * A fresh MikroORM identity map per request, so requests never share entities. With replicas, the request's
 * reads go to one only if it has replayed every write acknowledged before its first read (checked lazily there,
 * so requests answered from the cache pay nothing).
 */
export function requestContext(orm: MikroORM): RequestHandler {
  return (_req, _res, next) => withReadRouting(orm, () => inRequestScope(orm.em, next));
}

/**
 * The health probe for PostgreSQL: rejects when a trivial query cannot run. It uses the ORM's reserved
 * connection (see ReservedProbe), so it never queues behind requests that hold the whole pool.
 */
export function databaseProbe(orm: MikroORM): () => Promise<void> {
  const probe = reservedProbe(orm);
  return async () => {
    if (probe) await probe.check();
    else await orm.em.getConnection().execute('select 1');
  };
}
