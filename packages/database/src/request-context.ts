import type { RequestHandler } from 'express';
import { RequestContext, type MikroORM } from '@mikro-orm/postgresql';

/** A fresh MikroORM identity map per request, so requests never share entities. */
export function requestContext(orm: MikroORM): RequestHandler {
  return (_req, _res, next) => RequestContext.create(orm.em, next);
}

/** The health probe for PostgreSQL: rejects when a trivial query cannot run. */
export function databaseProbe(orm: MikroORM): () => Promise<void> {
  return async () => {
    await orm.em.getConnection().execute('select 1');
  };
}
