import type { Router } from 'express';
import { countKeys, findPage, Interaction, LockMode, Person, ROWS, type EntityManager } from '@crm/database';
import { defineRoute, idParams, notFound, orderBy, pageOf, pageRequest, pageSchema, type OpenApiRegistry, type PageInput } from '@crm/http';
import { checkReferences, organisationRef } from '../references';
import {
  createInteractionBody, interactionResponse, listInteractionsQuery, listPersonInteractionsQuery, updateInteractionBody,
} from '../schemas';
import { interactionJson } from '../serializers';
import { peopleApi } from '@crm/cache-policy';
import type { RouteDeps } from '@crm/service-kit';

const TAG = 'interactions';

/** One page of interactions matching `where`, from an offset or a cursor. */
async function interactionsPage(em: EntityManager, where: { person?: number; organisation?: number }, query: PageInput) {
  const order = orderBy(query.sort);
  const page = pageRequest(query, Object.keys(order));
  const { items, total, nextKey } = await findPage(em, Interaction, where, order, page, countKeys.byParent('interaction', where));
  return pageOf(items.map(interactionJson), total, page, nextKey);
}

const { views } = peopleApi;

/** Interaction routes: a person's interactions, the filtered list, one interaction, and writes. */
export function interactionRoutes(router: Router, openapi: OpenApiRegistry, { orm, cached, write }: RouteDeps): void {
  defineRoute(router, openapi, {
    method: 'get', path: '/people/:id/interactions', tag: TAG, role: 'reader',
    summary: "A person's interactions, most recent first by default",
    params: idParams, query: listPersonInteractionsQuery, response: pageSchema(interactionResponse), errors: [404],
    middleware: [cached(views.personInteractions)],
    handler: async ({ params, query }) => {
      const page = await interactionsPage(orm.em, { person: params.id }, query);
      // An interaction on the page proves the person exists (a foreign key): only an empty page asks (one statement less).
      if (page.items.length === 0 && (await orm.em.count(Person, { id: params.id })) === 0) throw notFound('Person', params.id);
      return page;
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/interactions', tag: TAG, role: 'reader',
    summary: 'List interactions, optionally of one person and/or one organisation; most recent first by default',
    query: listInteractionsQuery, response: pageSchema(interactionResponse),
    middleware: [cached(views.interactions)],
    handler: async ({ query }) => {
      const where = {
        ...(query.personId === undefined ? {} : { person: query.personId }),
        ...(query.organisationId === undefined ? {} : { organisation: query.organisationId }),
      };
      return interactionsPage(orm.em, where, query);
    },
  });

  defineRoute(router, openapi, {
    method: 'post', path: '/interactions', tag: TAG, role: 'editor', status: 201,
    summary: "Record an interaction; organisationId defaults to the person's current organisation",
    body: createInteractionBody, response: interactionResponse, errors: [413],
    handler: async ({ body, res }) => {
      const { personId, organisationId, ...fields } = body;
      const { person } = await checkReferences(orm.em, { personId, organisationId });
      // Omitted organisationId: the interaction is filed under the organisation the person belongs
      // to now (what a user recording a call expects); an explicit null records it without one.
      const interaction = await write(async (em) => {
        const organisation = organisationId === undefined ? (person!.organisation?.id ?? null) : organisationId;
        const interaction = em.create(Interaction, { ...fields, person: em.getReference(Person, personId), organisation: organisationRef(em, organisation) });
        await em.flush();
        return [interaction, { entity: 'interaction', kind: 'created', id: interaction.id, before: null, after: ROWS.interaction(interaction) }];
      });
      res.location(`/api/v1/interactions/${interaction.id}`);
      return interactionJson(interaction);
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/interactions/:id', tag: TAG, role: 'reader',
    summary: 'One interaction', params: idParams, response: interactionResponse, errors: [404],
    middleware: [cached(views.interaction)],
    handler: async ({ params }) => {
      const interaction = await orm.em.findOne(Interaction, params.id);
      if (!interaction) throw notFound('Interaction', params.id);
      return interactionJson(interaction);
    },
  });

  defineRoute(router, openapi, {
    method: 'patch', path: '/interactions/:id', tag: TAG, role: 'editor',
    summary: 'Change some fields of an interaction', params: idParams, body: updateInteractionBody,
    response: interactionResponse, errors: [404, 413],
    handler: async ({ params, body }) => {
      const { personId, organisationId, ...fields } = body;
      const interaction = await write(async (em) => {
        // Locked: its person (whose list shows it) cannot change between this read and the write.
        const interaction = await em.findOne(Interaction, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!interaction) throw notFound('Interaction', params.id);
        const before = ROWS.interaction(interaction);
        const { person } = await checkReferences(em, { personId, organisationId });
        // Moving an interaction to another person keeps its organisation unless the body changes it too.
        em.assign(interaction, {
          ...fields,
          ...(person ? { person } : {}),
          ...(organisationId === undefined ? {} : { organisation: organisationRef(em, organisationId) }),
        });
        return [interaction, { entity: 'interaction', kind: 'updated', id: interaction.id, before, after: ROWS.interaction(interaction) }];
      });
      return interactionJson(interaction);
    },
  });

  defineRoute(router, openapi, {
    method: 'delete', path: '/interactions/:id', tag: TAG, role: 'editor', status: 204,
    summary: 'Delete an interaction', params: idParams, errors: [404],
    handler: async ({ params }) => {
      await write(async (em) => {
        const interaction = await em.findOne(Interaction, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!interaction) throw notFound('Interaction', params.id);
        await em.nativeDelete(Interaction, { id: params.id });
        return [undefined, { entity: 'interaction', kind: 'deleted', id: params.id, before: ROWS.interaction(interaction), after: null }];
      });
    },
  });
}
