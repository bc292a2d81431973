/**
 * The people API's cached views (people, interactions): prefix, operation, TTL, tags and warm-up of each, by the
 * name its route uses (`cached(peopleApi.views.person)`). Tags come from cache-tags.ts, where each write says
 * what it invalidates. TTLs are the prefixes' (people 300 s, interactions 60 s).
 */
import { TAGS } from '@crm/database';
import { CachePrefix } from './prefixes';
import { anyWrite, writtenUnlessDeleted } from './refills';
import { apiPolicy, view } from './view';

/** The people API's views, in the order the worker refills them. */
export const peopleApi = apiPolicy('people-api', {
  /** One person with their organisation: organisation writes invalidate `person:<id>` of each of its people. */
  person: view('/people/:id', {
    prefix: CachePrefix.People, operation: 'detail',
    tags: ({ params }) => [TAGS.person(params.id)],
    refillAfter: { person: writtenUnlessDeleted },
  }),
  people: view('/people', {
    prefix: CachePrefix.People, operation: 'list',
    tags: () => [TAGS.people],
    refillAfter: { person: anyWrite },
  }),
  peopleSearch: view('/people/search', {
    prefix: CachePrefix.People, operation: 'search',
    tags: () => [TAGS.people],
  }),
  interactions: view('/interactions', {
    prefix: CachePrefix.Interactions, operation: 'list',
    tags: () => [TAGS.interactions],
    refillAfter: { interaction: anyWrite },
  }),
  personInteractions: view('/people/:id/interactions', {
    prefix: CachePrefix.Interactions, operation: 'by-person',
    tags: ({ params }) => [TAGS.personInteractions(params.id), TAGS.allPersonInteractions],
  }),
  /** Its person is not known before the read: its own tag, and the one a person's or organisation's deletion touches. */
  interaction: view('/interactions/:id', {
    prefix: CachePrefix.Interactions, operation: 'detail',
    tags: ({ params }) => [TAGS.interaction(params.id), TAGS.interactionDetails],
  }),
});
