/**
 * The organisations API's cached views (organisations, mandats, produits): prefix, operation, TTL, tags and
 * warm-up of each, by the name its route uses (`cached(organisationsApi.views.organisation)`).
 * Tags come from cache-tags.ts, where each write says what it invalidates.
 */
import { TAGS } from '@crm/database';
import { CachePrefix } from './prefixes';
import { anyWrite, mandatOrganisation, writtenUnlessDeleted } from './refills';
import { apiPolicy, view } from './view';

/** How many organisations the worker warms at start: the most recently updated. */
const STARTUP_ORGANISATIONS = 100;

/** The organisations API's views, in the order the worker refills them. */
export const organisationsApi = apiPolicy('organisations-api', {
  /** One organisation with its mandats and contacts (their writes touch its tag too). */
  organisation: view('/organisations/:id', {
    prefix: CachePrefix.Organisations, operation: 'detail', ttl: 600,
    tags: ({ params }) => [TAGS.organisation(params.id)],
    refillAfter: { organisation: writtenUnlessDeleted, mandat: mandatOrganisation },
    warmAtStartup: { ids: `select id from organisation order by updated_at desc, id desc limit ${STARTUP_ORGANISATIONS}` },
  }),
  organisations: view('/organisations', {
    prefix: CachePrefix.Organisations, operation: 'list', ttl: 300,
    tags: () => [TAGS.organisations],
    refillAfter: { organisation: anyWrite },
    warmAtStartup: true,
  }),
  organisationSearch: view('/organisations/search', {
    prefix: CachePrefix.Organisations, operation: 'search', ttl: 600,
    tags: () => [TAGS.organisations],
  }),
  organisationStats: view('/organisations/stats', {
    prefix: CachePrefix.Organisations, operation: 'stats', ttl: 300,
    tags: () => [TAGS.organisationStats],
  }),
  organisationMandats: view('/organisations/:id/mandats', {
    prefix: CachePrefix.Organisations, operation: 'mandats', ttl: 600,
    tags: ({ params }) => [TAGS.organisation(params.id)],
    refillAfter: { mandat: mandatOrganisation },
  }),
  /** Its organisation is not known before the read: its own tag, and the one an organisation's deletion touches. TTL: the prefix's (300). */
  mandat: view('/mandats/:id', {
    prefix: CachePrefix.Organisations, operation: 'mandat',
    tags: ({ params }) => [TAGS.mandat(params.id), TAGS.mandatDetails],
  }),
  produit: view('/produits/:id', {
    prefix: CachePrefix.Produits, operation: 'detail',
    tags: ({ params }) => [TAGS.produit(params.id)],
    refillAfter: { produit: writtenUnlessDeleted },
    warmAtStartup: { ids: 'select id from produit order by id' },
  }),
  produits: view('/produits', {
    prefix: CachePrefix.Produits, operation: 'list',
    tags: () => [TAGS.produits],
    refillAfter: { produit: anyWrite },
    warmAtStartup: true,
  }),
});
