/**
 * The organisations API's cached views (organisations, mandats, produits): prefix, operation, TTL, tags and
 * warm-up of each, by the name its route uses (`cached(organisationsApi.views.organisation)`).
 * Tags come from cache-tags.ts, where each write says what it invalidates.
 */
import { rowsTags } from '@crm/cache/dependencies';
import { FAMILIES, TAGS } from '@crm/database';
import { listItems, listPage, pageItems, searchPage } from './pages';
import { CachePrefix } from './prefixes';
import { anyWrite, mandatOrganisation, writtenUnlessDeleted } from './refills';
import { apiPolicy, view } from './view';

/** How many organisations the worker warms at start: the most recently updated. */
const STARTUP_ORGANISATIONS = 100;

/** The organisations API's views, in the order the worker refills them. */
export const organisationsApi = apiPolicy('organisations-api', {
  /**
   * One organisation with all its mandats and contacts: which ones, and any change to any of them (known from the id
   * before the data is read, so a hit checks its tokens in one round trip).
   */
  organisation: view('/organisations/:id', {
    prefix: CachePrefix.Organisations, operation: 'detail', ttl: 600,
    tags: ({ params }) => [
      TAGS.organisation(params.id),
      ...rowsTags(FAMILIES.mandat, { organisationId: params.id }),
      ...rowsTags(FAMILIES.person, { organisationId: params.id }),
    ],
    refillAfter: { organisation: writtenUnlessDeleted, mandat: mandatOrganisation },
    warmAtStartup: { ids: `select id from organisation order by updated_at desc, id desc limit ${STARTUP_ORGANISATIONS}` },
  }),
  organisations: view('/organisations', {
    prefix: CachePrefix.Organisations, operation: 'list', ttl: 300,
    tags: listPage(FAMILIES.organisation, ({ query }) => ({ category: query.category as string | undefined, isActive: query.activeOnly === false ? undefined : true })),
    shows: listItems(FAMILIES.organisation),
    refillAfter: { organisation: anyWrite },
    warmAtStartup: true,
  }),
  organisationSearch: view('/organisations/search', {
    prefix: CachePrefix.Organisations, operation: 'search', ttl: 600,
    tags: searchPage(FAMILIES.organisation),
    shows: pageItems(FAMILIES.organisation),
  }),
  organisationStats: view('/organisations/stats', {
    prefix: CachePrefix.Organisations, operation: 'stats', ttl: 300,
    tags: () => [TAGS.organisationStats],
  }),
  /** Answers 404 for an organisation that does not exist: deleting one deletes its mandats (the mandat family's tag). */
  organisationMandats: view('/organisations/:id/mandats', {
    prefix: CachePrefix.Organisations, operation: 'mandats', ttl: 600,
    tags: listPage(FAMILIES.mandat, ({ params }) => ({ organisationId: params.id })),
    shows: pageItems(FAMILIES.mandat),
    refillAfter: { mandat: mandatOrganisation },
  }),
  /** Its own tag, and its family's, which an organisation's deletion touches (it deletes them). TTL: the prefix's (300). */
  mandat: view('/mandats/:id', {
    prefix: CachePrefix.Organisations, operation: 'mandat',
    tags: ({ params }) => [TAGS.mandat(params.id), TAGS.family('mandat')],
  }),
  produit: view('/produits/:id', {
    prefix: CachePrefix.Produits, operation: 'detail',
    tags: ({ params }) => [TAGS.produit(params.id)],
    refillAfter: { produit: writtenUnlessDeleted },
    warmAtStartup: { ids: 'select id from produit order by id' },
  }),
  produits: view('/produits', {
    prefix: CachePrefix.Produits, operation: 'list',
    tags: listPage(FAMILIES.produit, ({ query }) => ({ category: query.category as string | undefined, isActive: query.activeOnly === true ? true : undefined })),
    shows: listItems(FAMILIES.produit),
    refillAfter: { produit: anyWrite },
    warmAtStartup: true,
  }),
});
