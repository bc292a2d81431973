import type { Router } from 'express';
import { countKeys, findPage, LockMode, Mandat, Organisation, ROWS } from '@crm/database';
import { defineRoute, HttpProblem, idParams, notFound, orderBy, pageOf, pageRequest, pageSchema, type OpenApiRegistry } from '@crm/http';
import { createMandatBody, listMandatsQuery, mandatResponse, updateMandatBody } from '../schemas';
import { mandatJson } from '../serializers';
import { organisationsApi } from '@crm/cache-policy';
import type { RouteDeps } from '@crm/service-kit';

const TAG = 'mandats';

const { views } = organisationsApi;

/** Mandat routes: an organisation's mandats, one mandat, and writes. */
export function mandatRoutes(router: Router, openapi: OpenApiRegistry, { orm, cached, write }: RouteDeps): void {
  const organisationExists = async (id: number) => (await orm.em.count(Organisation, { id })) > 0;

  defineRoute(router, openapi, {
    method: 'get', path: '/organisations/:id/mandats', tag: TAG, role: 'reader',
    summary: "An organisation's mandats", params: idParams, query: listMandatsQuery,
    response: pageSchema(mandatResponse), errors: [404],
    middleware: [cached(views.organisationMandats)],
    handler: async ({ params, query }) => {
      const order = orderBy(query.sort);
      const page = pageRequest(query, Object.keys(order));
      const { items, total, nextKey } = await findPage(orm.em, Mandat, { organisation: params.id }, order, page, countKeys.byParent('mandat', { organisation: params.id }));
      // A mandat on the page proves the organisation exists (a foreign key): only an empty page asks (one statement less).
      if (items.length === 0 && !(await organisationExists(params.id))) throw notFound('Organisation', params.id);
      return pageOf(items.map(mandatJson), total, page, nextKey);
    },
  });

  defineRoute(router, openapi, {
    method: 'post', path: '/organisations/:id/mandats', tag: TAG, role: 'editor', status: 201,
    summary: 'Add a mandat to an organisation', params: idParams, body: createMandatBody,
    response: mandatResponse, errors: [404, 413],
    handler: async ({ params, body, res }) => {
      if (!(await organisationExists(params.id))) throw notFound('Organisation', params.id);
      const mandat = await write(async (em) => {
        const mandat = em.create(Mandat, { ...body, organisation: em.getReference(Organisation, params.id) });
        await em.flush();
        return [mandat, { entity: 'mandat', kind: 'created', id: mandat.id, before: null, after: ROWS.mandat(mandat) }];
      });
      res.location(`/api/v1/mandats/${mandat.id}`);
      return mandatJson(mandat);
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/mandats/:id', tag: TAG, role: 'reader',
    summary: 'One mandat', params: idParams, response: mandatResponse, errors: [404],
    middleware: [cached(views.mandat)],
    handler: async ({ params }) => {
      const mandat = await orm.em.findOne(Mandat, params.id);
      if (!mandat) throw notFound('Mandat', params.id);
      return mandatJson(mandat);
    },
  });

  defineRoute(router, openapi, {
    method: 'patch', path: '/mandats/:id', tag: TAG, role: 'editor',
    summary: 'Change some fields of a mandat', params: idParams, body: updateMandatBody,
    response: mandatResponse, errors: [404, 413],
    handler: async ({ params, body }) => {
      const mandat = await write(async (em) => {
        const mandat = await em.findOne(Mandat, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!mandat) throw notFound('Mandat', params.id);
        const endDate = body.endDate === undefined ? mandat.endDate : body.endDate;
        const startDate = body.startDate ?? mandat.startDate;
        if (endDate && endDate < startDate) {
          throw new HttpProblem('validation', 'The request body is not valid', [{ path: 'endDate', message: 'must not be before startDate' }]);
        }
        const before = ROWS.mandat(mandat);
        em.assign(mandat, body);
        return [mandat, { entity: 'mandat', kind: 'updated', id: mandat.id, before, after: ROWS.mandat(mandat) }];
      });
      return mandatJson(mandat);
    },
  });

  defineRoute(router, openapi, {
    method: 'delete', path: '/mandats/:id', tag: TAG, role: 'editor', status: 204,
    summary: 'Delete a mandat', params: idParams, errors: [404],
    handler: async ({ params }) => {
      await write(async (em) => {
        const mandat = await em.findOne(Mandat, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!mandat) throw notFound('Mandat', params.id);
        await em.nativeDelete(Mandat, { id: params.id });
        return [undefined, { entity: 'mandat', kind: 'deleted', id: params.id, before: ROWS.mandat(mandat), after: null }];
      });
    },
  });
}
