/** Every tag a cached view can carry is invalidated by some write: otherwise its entries would live out their TTL. */
import { tagsForChange } from '@crm/database';
import { allViews, paramNames, view, CachePrefix, type CachedView } from '../src';
import { EVERY_CHANGE, tagKind } from './changes';

/** A query with every filter set (each view reads the ones it has). */
const QUERY = { category: 'advisor', activeOnly: true, sort: '-name', q: 'Capital', organisationId: 7, personId: 7 };

/** The tags a view carries, for a response with every path parameter and filter set. */
function viewTags(cached: CachedView): string[] {
  const params = Object.fromEntries(paramNames(cached.path).map((name) => [name, 7]));
  return cached.tags({ params, query: QUERY });
}

/** The kinds of tag the views carry that no write in cache-tags.ts invalidates, with the views that carry them. */
function tagsNoWriteInvalidates(views: { name: string; view: CachedView }[]): string[] {
  const written = new Set(EVERY_CHANGE.flatMap((change) => tagsForChange(change).map(tagKind)));
  return views.flatMap(({ name, view: cached }) =>
    viewTags(cached).map(tagKind).filter((kind) => !written.has(kind)).map((kind) => `${kind} (view ${name})`));
}

describe('the tags of the cached views', () => {
  it('are each invalidated by some write (cache-tags.ts)', () => {
    expect(tagsNoWriteInvalidates(allViews())).toEqual([]);
  });

  it('a view carrying a tag no write touches is reported (the check can fail)', () => {
    const orphan = view('/things/:id', { prefix: CachePrefix.Produits, operation: 'thing', tags: ({ params }) => [`thing:${params.id}`, `produit:${params.id}`] });
    expect(tagsNoWriteInvalidates([{ name: 'thing', view: orphan }])).toEqual(['thing:<id> (view thing)']);
  });

  it('are, for each view, its dependencies (regression)', () => {
    const tags = Object.fromEntries(allViews().map(({ service, name, view: cached }) => [`${service} ${name}`, viewTags(cached)]));
    expect(tags).toEqual({
      'organisations-api organisation': ['organisation:7', 'mandat#*', 'mandat?organisationId=7#n', 'mandat?organisationId=7#rows', 'person#*', 'person?organisationId=7#n', 'person?organisationId=7#rows'],
      'organisations-api organisations': ['organisation?category=advisor&isActive=true#n', 'organisation?category=advisor&isActive=true#by:name'],
      'organisations-api organisationSearch': ['organisation~cap'],
      'organisations-api organisationStats': ['organisation#stats'],
      'organisations-api organisationMandats': ['mandat#*', 'mandat?organisationId=7#n'],
      'organisations-api mandat': ['mandat:7', 'mandat#*'],
      'organisations-api produit': ['produit:7'],
      'organisations-api produits': ['produit?category=advisor&isActive=true#n', 'produit?category=advisor&isActive=true#by:name'],
      'people-api person': ['person:7'],
      'people-api people': ['person#*', 'person?organisationId=7#n', 'person?organisationId=7#by:lastName', 'person?organisationId=7#by:firstName'],
      'people-api peopleSearch': ['person#*', 'person~cap'],
      'people-api interactions': ['interaction#*', 'interaction?personId=7&organisationId=7#n'],
      'people-api personInteractions': ['interaction#*', 'interaction?personId=7#n'],
      'people-api interaction': ['interaction:7', 'interaction#*'],
    });
  });
});
