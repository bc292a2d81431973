/**
 * The cache's prefixes: the first part of every key after the namespace (`crm:<prefix>:<operation>:<hash>`), the
 * unit of the hit/miss stats and of `CACHE_TTL_<PREFIX>`. A closed enum, so a misspelt prefix does not compile,
 * and each prefix's TTL is in a table the compiler checks against it.
 */

/** Every prefix a cached view may use. */
export enum CachePrefix {
  Organisations = 'organisations',
  People = 'people',
  Interactions = 'interactions',
  Produits = 'produits',
}

/**
 * Seconds an entry stays fresh when its view names no TTL of its own (the contract's "any other operation"). A
 * prefix missing here does not compile; `CACHE_TTL_<PREFIX>` overrides every view of a prefix (see `ttlOf`).
 */
export const PREFIX_TTLS = {
  [CachePrefix.Organisations]: 300,
  [CachePrefix.People]: 300,
  [CachePrefix.Interactions]: 60,
  [CachePrefix.Produits]: 3600,
} as const satisfies Record<CachePrefix, number>;
