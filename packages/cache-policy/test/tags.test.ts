/** Every tag a cached view can carry is invalidated by some write: otherwise its entries would live out their TTL. */
import { tagsForChange } from '@crm/database';
import { allViews, paramNames, view, CachePrefix, type CachedView } from '../src';
import { EVERY_CHANGE, tagKind } from './changes';

/** The tags a view carries, for a response with every path parameter set. */
function viewTags(cached: CachedView): string[] {
  const params = Object.fromEntries(paramNames(cached.path).map((name) => [name, 7]));
  return cached.tags({ params, query: {} });
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
    const orphan = view('/things/:id', { prefix: CachePrefix.Produits, operation: 'thing', tags: ({ params }) => [`thing:${params.id}`, 'produits'] });
    expect(tagsNoWriteInvalidates([{ name: 'thing', view: orphan }])).toEqual(['thing:<id> (view thing)']);
  });

  it('are the ones the routes carried before the policy (regression)', () => {
    const tags = Object.fromEntries(allViews().map(({ service, name, view: cached }) => [`${service} ${name}`, viewTags(cached)]));
    expect(tags).toEqual({
      'organisations-api organisation': ['organisation:7'],
      'organisations-api organisations': ['organisations'],
      'organisations-api organisationSearch': ['organisations'],
      'organisations-api organisationStats': ['organisations:stats'],
      'organisations-api organisationMandats': ['organisation:7'],
      'organisations-api mandat': ['mandat:7', 'mandats:details'],
      'organisations-api produit': ['produit:7'],
      'organisations-api produits': ['produits'],
      'people-api person': ['person:7'],
      'people-api people': ['people'],
      'people-api peopleSearch': ['people'],
      'people-api interactions': ['interactions'],
      'people-api personInteractions': ['interactions:person:7', 'interactions:people'],
      'people-api interaction': ['interaction:7', 'interactions:details'],
    });
  });
});
