/**
 * The people API's cached views (people, interactions): prefix, operation, TTL, tags and warm-up of each, by the
 * name its route uses (`cached(peopleApi.views.person)`). Tags come from cache-tags.ts, where each write says
 * what it invalidates. TTLs are the prefixes' (people 300 s, interactions 60 s).
 */
import { rowTag } from '@crm/cache/dependencies';
import { FAMILIES, TAGS } from '@crm/database';
import { listItems, listPage, pageItems, searchPage } from './pages';
import { CachePrefix } from './prefixes';
import { anyWrite, writtenUnlessDeleted } from './refills';
import { apiPolicy, view } from './view';

/** People sorted by `name` are ordered by last name, then first name. */
const PEOPLE_SORTS = { name: ['lastName', 'firstName'] };

/** The people API's views, in the order the worker refills them. */
export const peopleApi = apiPolicy('people-api', {
  /** One person with their organisation (known once read: shown). */
  person: view('/people/:id', {
    prefix: CachePrefix.People, operation: 'detail',
    tags: ({ params }) => [TAGS.person(params.id)],
    shows: (_input, result: { organisation: { id: number } | null }) => (result.organisation ? [rowTag(FAMILIES.organisation, result.organisation.id)] : []),
    refillAfter: { person: writtenUnlessDeleted },
  }),
  people: view('/people', {
    prefix: CachePrefix.People, operation: 'list',
    tags: listPage(FAMILIES.person, ({ query }) => ({ organisationId: query.organisationId as number | undefined }), PEOPLE_SORTS),
    shows: listItems(FAMILIES.person, PEOPLE_SORTS),
    refillAfter: { person: anyWrite },
  }),
  peopleSearch: view('/people/search', {
    prefix: CachePrefix.People, operation: 'search',
    tags: searchPage(FAMILIES.person),
    shows: pageItems(FAMILIES.person),
  }),
  interactions: view('/interactions', {
    prefix: CachePrefix.Interactions, operation: 'list',
    tags: listPage(FAMILIES.interaction, ({ query }) => ({
      personId: query.personId as number | undefined, organisationId: query.organisationId as number | undefined,
    })),
    shows: pageItems(FAMILIES.interaction),
    refillAfter: { interaction: anyWrite },
  }),
  /** Answers 404 for a person that does not exist: deleting one deletes their interactions (the family's tag). */
  personInteractions: view('/people/:id/interactions', {
    prefix: CachePrefix.Interactions, operation: 'by-person',
    tags: listPage(FAMILIES.interaction, ({ params }) => ({ personId: params.id })),
    shows: pageItems(FAMILIES.interaction),
  }),
  /** Its own tag, and its family's, which a person's deletion (it deletes them) or an organisation's (it detaches them) touches. */
  interaction: view('/interactions/:id', {
    prefix: CachePrefix.Interactions, operation: 'detail',
    tags: ({ params }) => [TAGS.interaction(params.id), TAGS.family('interaction')],
  }),
});
