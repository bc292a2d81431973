/** The app builder's check that an API's routes mount every view of its cache policy, each once, at its own path. */
import express, { type RequestHandler } from 'express';
import { apiPolicy, CachePrefix, view, type CachedView } from '@crm/cache-policy';
import { assertViewsMounted } from '../src';

const policy = apiPolicy('organisations-api', {
  produit: view('/produits/:id', { prefix: CachePrefix.Produits, operation: 'detail', tags: ({ params }) => [`produit:${params.id}`] }),
  produits: view('/produits', { prefix: CachePrefix.Produits, operation: 'list', tags: () => ['produits'] }),
});
const other = view('/people', { prefix: CachePrefix.People, operation: 'list', tags: () => ['people'] });

/** A router, and a `cached` that marks each middleware with its view as the app builder does. */
function routes() {
  const router = express.Router();
  const marks = new Map<RequestHandler, CachedView>();
  const cached = (cachedView: CachedView): RequestHandler => {
    const middleware: RequestHandler = (_req, _res, next) => next();
    marks.set(middleware, cachedView);
    return middleware;
  };
  const answer: RequestHandler = (_req, res) => { res.end(); };
  return { router, marks, cached, answer };
}

describe('the routes and the cache policy', () => {
  it('agree when each view is mounted once, on GET at its path', () => {
    const { router, marks, cached, answer } = routes();
    router.get('/produits', cached(policy.views.produits), answer);
    router.get('/produits/:id', cached(policy.views.produit), answer);
    router.patch('/produits/:id', answer);
    expect(() => assertViewsMounted(policy, router, marks)).not.toThrow();
  });

  it('disagree when a view is not mounted: its warm-up would GET a route that does not cache it', () => {
    const { router, marks, cached, answer } = routes();
    router.get('/produits', cached(policy.views.produits), answer);
    expect(() => assertViewsMounted(policy, router, marks)).toThrow('organisations-api: the routes and the cache policy disagree: the view produit (GET /produits/:id) is mounted 0 times, not once');
  });

  it('disagree when a route caches with a view of another path or another policy', () => {
    const { router, marks, cached, answer } = routes();
    router.get('/produits', cached(policy.views.produits), answer);
    router.get('/products/:id', cached(policy.views.produit), answer);
    router.get('/people', cached(other), answer);
    expect(() => assertViewsMounted(policy, router, marks)).toThrow(/GET \/products\/:id caches with the view of GET \/produits\/:id; GET \/people caches with people:list, a view of another policy$/);
  });
});
