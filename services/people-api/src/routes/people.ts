import type { Router } from 'express';
import { countKeys, findPage, LockMode, Person, raw, ROWS, UniqueConstraintViolationException, type CountKey, type EntityManager } from '@crm/database';
import {
  defineRoute, HttpProblem, idParams, likeContains, likePrefix, MIN_SUBSTRING_SEARCH, notFound, orderBy, pageOf, pageRequest, pageSchema,
  type OpenApiRegistry, type PageInput,
} from '@crm/http';
import { checkReferences, organisationRef } from '../references';
import {
  createPersonBody, listPeopleQuery, personDetailResponse, personResponse, searchPeopleQuery, updatePersonBody,
} from '../schemas';
import { personDetail } from '../detail';
import { personJson } from '../serializers';
import { peopleApi } from '@crm/cache-policy';
import type { RouteDeps } from '@crm/service-kit';

const TAG = 'people';

const { views } = peopleApi;

/**
 * The contract's `name` sort is the family name, then the given name, then id (so pages never overlap), all in one
 * direction: an index on (last_name, first_name, id) serves both, and a cursor is one row comparison.
 */
export function personOrder(sort: string): Record<string, 'asc' | 'desc'> {
  const order = orderBy(sort);
  if (!('name' in order)) return order;
  const direction = order.name!;
  return { lastName: direction, firstName: direction, id: direction };
}

/** One page of people matching `where`, from an offset or a cursor. */
async function peoplePage(em: EntityManager, where: object, query: PageInput, counted: CountKey | undefined) {
  const order = personOrder(query.sort);
  const page = pageRequest(query, Object.keys(order));
  const { items, total, nextKey } = await findPage(em, Person, where, order, page, counted);
  return pageOf(items.map(personJson), total, page, nextKey);
}

/** Flushes, turning the unique index on lower(email) into a 409 that names the field (race-free: no check-then-write). */
async function flushPerson(em: EntityManager): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      throw new HttpProblem('conflict', 'Another person already uses this email address', [
        { path: 'email', message: 'is already used by another person (emails are compared case-insensitively)' },
      ]);
    }
    throw error;
  }
}

/** Person routes: list, search, detail and writes. */
export function peopleRoutes(router: Router, openapi: OpenApiRegistry, { orm, cached, write }: RouteDeps): void {
  defineRoute(router, openapi, {
    method: 'get', path: '/people', tag: TAG, role: 'reader',
    summary: 'List people, optionally those of one organisation; sort by name orders by last name then first name',
    query: listPeopleQuery, response: pageSchema(personResponse),
    middleware: [cached(views.people)],
    handler: async ({ query }) => {
      const where = query.organisationId === undefined ? {} : { organisation: query.organisationId };
      return peoplePage(orm.em, where, query, countKeys.byParent('person', where));
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/people/search', tag: TAG, role: 'reader',
    summary: 'Case-insensitive search on first name, last name or email (substring; a 1-2 character q matches the start); % and _ match themselves',
    query: searchPeopleQuery, response: pageSchema(personResponse),
    middleware: [cached(views.peopleSearch)],
    handler: async ({ query }) => {
      // 3+ characters anywhere: one trigram index on the three fields joined by a control character (migration 006),
      // which q cannot contain; shorter terms use the lower(column) text_pattern_ops indexes.
      const where = query.q.length >= MIN_SUBSTRING_SEARCH
        ? { [raw((a: string) => `person_search_text(${a}.first_name, ${a}.last_name, ${a}.email) ilike ?`, [likeContains(query.q)])]: [] }
        : { $or: ['first_name', 'last_name', 'email'].map((column) => ({ [raw((a: string) => `lower(${a}.${column}) like lower(?)`, [likePrefix(query.q)])]: [] })) };
      return peoplePage(orm.em, where, query, countKeys.search('person_search', query.q));
    },
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/people/:id', tag: TAG, role: 'reader',
    summary: 'One person, with their organisation (id, name, category) or null',
    params: idParams, response: personDetailResponse, errors: [404],
    middleware: [cached(views.person)],
    handler: async ({ params }) => {
      // One statement (a left join), whether or not the person has an organisation (detail.ts).
      const detail = await personDetail(orm.em, params.id);
      if (!detail) throw notFound('Person', params.id);
      return detail;
    },
  });

  defineRoute(router, openapi, {
    method: 'post', path: '/people', tag: TAG, role: 'editor', status: 201,
    summary: 'Create a person', body: createPersonBody, response: personResponse, errors: [409, 413],
    handler: async ({ body, res }) => {
      const { organisationId, ...fields } = body;
      await checkReferences(orm.em, { organisationId });
      const person = await write(async (em) => {
        const person = em.create(Person, { ...fields, organisation: organisationRef(em, organisationId) });
        await flushPerson(em);
        return [person, { entity: 'person', kind: 'created', id: person.id, before: null, after: ROWS.person(person) }];
      });
      res.location(`/api/v1/people/${person.id}`);
      return personJson(person);
    },
  });

  defineRoute(router, openapi, {
    method: 'patch', path: '/people/:id', tag: TAG, role: 'editor',
    summary: 'Change some fields of a person', params: idParams, body: updatePersonBody,
    response: personResponse, errors: [404, 409, 413],
    handler: async ({ params, body }) => {
      const { organisationId, ...fields } = body;
      const person = await write(async (em) => {
        // Locked: a concurrent change of its organisation cannot slip between the read and the write.
        const person = await em.findOne(Person, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!person) throw notFound('Person', params.id);
        await checkReferences(em, { organisationId });
        // Read before assigning: the invalidation matches the row as it was and as it is.
        const before = ROWS.person(person);
        em.assign(person, organisationId === undefined ? fields : { ...fields, organisation: organisationRef(em, organisationId) });
        await flushPerson(em);
        return [person, { entity: 'person', kind: 'updated', id: person.id, before, after: ROWS.person(person) }];
      });
      return personJson(person);
    },
  });

  defineRoute(router, openapi, {
    method: 'delete', path: '/people/:id', tag: TAG, role: 'editor', status: 204,
    summary: 'Delete a person and their interactions', params: idParams, errors: [404],
    handler: async ({ params }) => {
      await write(async (em) => {
        // The row as it was (its organisation's detail lists it), read under lock in the same transaction as the delete.
        const person = await em.findOne(Person, params.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!person) throw notFound('Person', params.id);
        // The database cascades to the person's interactions.
        await em.nativeDelete(Person, { id: params.id });
        return [undefined, { entity: 'person', kind: 'deleted', id: params.id, before: ROWS.person(person), after: null }];
      });
    },
  });
}
