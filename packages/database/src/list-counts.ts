import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * A total kept by the list_count triggers (migration 004): the list and its filter key, or for a search the key's
 * prefix and the term, lower-cased by PostgreSQL as the triggers and ILIKE do. The formats here and the keys the
 * triggers write must agree; test/list-counts.test.ts compares each kind with count(*).
 */
export interface CountKey {
  list: 'organisation' | 'produit' | 'person' | 'interaction' | 'mandat' | 'organisation_search' | 'person_search';
  key: string;
  /** A search term, appended lower-cased to `key`; counted only if lower-casing keeps its length (else undefined). */
  term?: string;
}

/** The count keys of each list filter; undefined where no key covers the filter (findPage then counts the rows). */
export const countKeys = {
  /** Organisations or produits, optionally of one category, all or active only. */
  byCategory: (list: 'organisation' | 'produit', filter: { category?: string | undefined; activeOnly: boolean }): CountKey =>
    ({ list, key: `${filter.activeOnly ? 'active' : 'all'}|${filter.category === undefined ? '*' : `c=${filter.category}`}` }),
  /** People, interactions or mandats: all, or of one organisation or one person (not both). */
  byParent: (list: 'person' | 'interaction' | 'mandat', filter: { organisation?: number | undefined; person?: number | undefined }): CountKey | undefined => {
    if (filter.organisation !== undefined && filter.person !== undefined) return undefined;
    if (filter.organisation !== undefined) return { list, key: `organisation=${filter.organisation}` };
    if (filter.person !== undefined) return { list, key: `person=${filter.person}` };
    return { list, key: '*' };
  },
  /**
   * A search term's matches: its 1-2 character prefix, or its 3 characters anywhere. Longer terms have no key (the
   * trigram index finds and counts them; they match far fewer rows than a common 3-letter term).
   */
  search: (list: 'organisation_search' | 'person_search', q: string): CountKey | undefined => {
    // The routes choose prefix or substring by q.length (UTF-16 units); the keys hold 1-2 and 3 characters.
    if (q.length <= 2) return { list, key: 'p:', term: q };
    return q.length === 3 && [...q].length === 3 ? { list, key: 's:', term: q } : undefined;
  },
};

/** The total under `key`: the sum of its shards, one primary-key range read; undefined when the key cannot say. */
export async function readCount(em: EntityManager, { list, key, term }: CountKey): Promise<number | undefined> {
  const [row] = await em.getConnection('read').execute<{ n: string | null; exact: boolean }[]>(
    `select length(lower(?)) = length(?) as exact,
            (select sum(n) from list_count where list = ? and key = ? || lower(?)) as n`,
    [term ?? '', term ?? '', list, key, term ?? ''],
  );
  if (!row?.exact) return undefined;
  return Number(row.n ?? 0);
}
