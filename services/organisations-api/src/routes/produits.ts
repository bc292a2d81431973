import type { Router } from 'express';
import { countKeys, findPage, LockMode, Produit, ROWS } from '@crm/database';
import { defineRoute, idParams, notFound, orderBy, pageOf, pageRequest, pageSchema, type OpenApiRegistry } from '@crm/http';
import { createProduitBody, listProduitsQuery, produitResponse, updateProduitBody } from '../schemas';
import { produitJson } from '../serializers';
import { organisationsApi } from '@crm/cache-policy';
import type { RouteDeps } from '@crm/service-kit';

const TAG = 'produits';

const { views } = organisationsApi;

/** Produit (product) routes. */
export function produitRoutes(router: Router, openapi: OpenApiRegistry, { orm, cached, write }: RouteDeps): void {
  defineRoute(router, openapi, {
    method: 'get', path: '/produits', tag: TAG, role: 'reader',
    summary: 'List produits', query: listProduitsQuery, response: pageSchema(produitResponse),
    middleware: [cached(views.produits)],
    handler: async ({ query }) => {
      const where = { ...(query.category ? { category: query.category } : {}), ...(query.activeOnly ? { isActive: true } : {}) };
      const order = orderBy(query.sort);
      const page = pageRequest(query, Object.keys(order));
      const { items, total, nextKey } = await findPage(orm.em, Produit, where, order, page, countKeys.byCategory('produit', query));
      return pageOf(items.map(produitJson), total, page, nextKey);
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/produits/:id', tag: TAG, role: 'reader',
    summary: 'One produit', params: idParams, response: produitResponse, errors: [404],
    middleware: [cached(views.produit)],
    handler: async ({ params }) => {
      const produit = await orm.em.findOne(Produit, params.id);
      if (!produit) throw notFound('Produit', params.id);
      return produitJson(produit);
    },
  });

  defineRoute(router, openapi, {
    method: 'post', path: '/produits', tag: TAG, role: 'editor', status: 201,
    summary: 'Create a produit', body: createProduitBody, response: produitResponse, errors: [409, 413],
    handler: async ({ body, res }) => {
      const produit = await write(async (em) => {
        const produit = em.create(Produit, body);
        await em.flush();
        return [produit, { entity: 'produit', kind: 'created', id: produit.id, before: null, after: ROWS.produit(produit) }];
      });
      res.location(`/api/v1/produits/${produit.id}`);
      return produitJson(produit);
    },
  });

  defineRoute(router, openapi, {
    method: 'patch', path: '/produits/:id', tag: TAG, role: 'editor',
    summary: 'Change some fields of a produit', params: idParams, body: updateProduitBody,
    response: produitResponse, errors: [404, 409, 413],
    handler: async ({ params, body }) => {
      const produit = await write(async (em) => {
        // Locked: the row's values before the change are the ones the invalidation matches.
        const produit = await em.findOne(Produit, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!produit) throw notFound('Produit', params.id);
        const before = ROWS.produit(produit);
        em.assign(produit, body);
        return [produit, { entity: 'produit', kind: 'updated', id: produit.id, before, after: ROWS.produit(produit) }];
      });
      return produitJson(produit);
    },
  });

  defineRoute(router, openapi, {
    method: 'delete', path: '/produits/:id', tag: TAG, role: 'editor', status: 204,
    summary: 'Delete a produit', params: idParams, errors: [404],
    handler: async ({ params }) => {
      await write(async (em) => {
        const produit = await em.findOne(Produit, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!produit) throw notFound('Produit', params.id);
        await em.nativeDelete(Produit, { id: params.id });
        return [undefined, { entity: 'produit', kind: 'deleted', id: params.id, before: ROWS.produit(produit), after: null }];
      });
    },
  });
}
