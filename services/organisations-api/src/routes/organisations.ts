import type { Router } from 'express';
import { countKeys, findPage, LockMode, Organisation, raw, ROWS } from '@crm/database';
import {
  defineRoute, idParams, likeContains, likePrefix, MIN_SUBSTRING_SEARCH, notFound, orderBy, pageOf, pageRequest, pageSchema,
  type OpenApiRegistry,
} from '@crm/http';
import {
  createOrganisationBody, listOrganisationsQuery, organisationDetailResponse, organisationResponse,
  searchOrganisationsQuery, statsResponse, updateOrganisationBody,
} from '../schemas';
import { organisationJson } from '../serializers';
import { organisationDetail } from '../detail';
import { maintainedOrganisationStats, organisationStats } from '../stats';
import { organisationsApi } from '@crm/cache-policy';
import type { RouteDeps } from '@crm/service-kit';

const TAG = 'organisations';

const { views } = organisationsApi;

/** Organisation routes: lists, search, stats, detail and writes. */
export function organisationRoutes(router: Router, openapi: OpenApiRegistry, { orm, cached, write }: RouteDeps): void {
  defineRoute(router, openapi, {
    method: 'get', path: '/organisations', tag: TAG, role: 'reader',
    summary: 'List organisations, optionally by category; active ones only unless activeOnly=false',
    query: listOrganisationsQuery, response: pageSchema(organisationResponse),
    middleware: [cached(views.organisations)],
    handler: async ({ query }) => {
      const where = { ...(query.category ? { category: query.category } : {}), ...(query.activeOnly ? { isActive: true } : {}) };
      const order = orderBy(query.sort);
      const page = pageRequest(query, Object.keys(order));
      const counted = countKeys.byCategory('organisation', query);
      const { items, total, nextKey } = await findPage(orm.em, Organisation, where, order, page, counted);
      return pageOf(items.map(organisationJson), total, page, nextKey);
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/organisations/search', tag: TAG, role: 'reader',
    summary: 'Case-insensitive search on the name (substring; a 1-2 character q matches the start); % and _ match themselves',
    query: searchOrganisationsQuery, response: pageSchema(organisationResponse),
    middleware: [cached(views.organisationSearch)],
    handler: async ({ query }) => {
      // A trigram index serves 3+ characters anywhere in the name; shorter terms use lower(name) text_pattern_ops.
      const where = query.q.length >= MIN_SUBSTRING_SEARCH
        ? { name: { $ilike: likeContains(query.q) } }
        : { [raw((a: string) => `lower(${a}.name) like lower(?)`, [likePrefix(query.q)])]: [] };
      const order = orderBy(query.sort);
      const page = pageRequest(query, Object.keys(order));
      const { items, total, nextKey } = await findPage(orm.em, Organisation, where, order, page, countKeys.search('organisation_search', query.q));
      return pageOf(items.map(organisationJson), total, page, nextKey);
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/organisations/stats', tag: TAG, role: 'reader',
    summary: 'Count and average annual revenue per category, over active organisations',
    response: statsResponse,
    middleware: [cached(views.organisationStats)],
    handler: () => maintainedOrganisationStats(orm.em),
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/organisations/stats/live', tag: TAG, role: 'reader', expensive: true,
    summary: 'The same statistics, computed on every call (never cached)',
    response: statsResponse,
    handler: () => organisationStats(orm.em),
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/organisations/:id', tag: TAG, role: 'reader',
    summary: 'One organisation with its mandats and contacts',
    params: idParams, response: organisationDetailResponse, errors: [404],
    middleware: [cached(views.organisation)],
    handler: async ({ params }) => {
      // One statement whatever the number of mandats and contacts (detail.ts).
      const detail = await organisationDetail(orm.em, params.id);
      if (!detail) throw notFound('Organisation', params.id);
      return detail;
    },
  });

  defineRoute(router, openapi, {
    method: 'post', path: '/organisations', tag: TAG, role: 'editor', status: 201,
    summary: 'Create an organisation', body: createOrganisationBody, response: organisationResponse, errors: [409, 413],
    handler: async ({ body, res }) => {
      const organisation = await write(async (em) => {
        const organisation = em.create(Organisation, body);
        await em.flush();
        return [organisation, { entity: 'organisation', kind: 'created', id: organisation.id, before: null, after: ROWS.organisation(organisation) }];
      });
      res.location(`/api/v1/organisations/${organisation.id}`);
      return organisationJson(organisation);
    },
  });

  defineRoute(router, openapi, {
    method: 'patch', path: '/organisations/:id', tag: TAG, role: 'editor',
    summary: 'Change some fields of an organisation', params: idParams, body: updateOrganisationBody,
    response: organisationResponse, errors: [404, 409, 413],
    handler: async ({ params, body }) => {
      const organisation = await write(async (em) => {
        // Locked: the row's values before the change are the ones the invalidation matches.
        const organisation = await em.findOne(Organisation, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!organisation) throw notFound('Organisation', params.id);
        const before = ROWS.organisation(organisation);
        em.assign(organisation, body);
        return [organisation, { entity: 'organisation', kind: 'updated', id: params.id, before, after: ROWS.organisation(organisation) }];
      });
      return organisationJson(organisation);
    },
  });

  defineRoute(router, openapi, {
    method: 'delete', path: '/organisations/:id', tag: TAG, role: 'editor', status: 204,
    summary: 'Delete an organisation, its mandats, and detach its people and interactions', params: idParams, errors: [404],
    handler: async ({ params }) => {
      await write(async (em) => {
        const organisation = await em.findOne(Organisation, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!organisation) throw notFound('Organisation', params.id);
        // The database cascades to mandats and sets organisation_id to null on people and interactions.
        await em.nativeDelete(Organisation, { id: params.id });
        return [undefined, { entity: 'organisation', kind: 'deleted', id: params.id, before: ROWS.organisation(organisation), after: null }];
      });
    },
  });
}

