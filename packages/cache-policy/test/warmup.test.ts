/**
 * The worker's warm-up, derived from the policies: what it refills after each write and at start, and that every
 * target is the path of a view of the API it goes to (the service kit checks, when it builds an API, that each view
 * is mounted at its path: assertViewsMounted).
 */
import { eventForChange } from '@crm/database';
import type { WarmupTarget } from '@crm/jobs';
import { API_POLICIES, paramNames, startupWarmupTargets, warmupTargetsFor, type CachedView } from '../src';
import { EVERY_CHANGE } from './changes';

const pattern = (cached: CachedView) => new RegExp(`^${cached.path.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '[1-9][0-9]*')}$`);

/** The views of the target's API whose path the target is. */
const viewsAt = (target: WarmupTarget) => Object.values(API_POLICIES[target.service].views).filter((cached) => pattern(cached).test(target.path));

const SQL = {
  organisations: 'select id from organisation order by updated_at desc, id desc limit 100',
  produits: 'select id from produit order by id',
};

describe('warm-up after a write', () => {
  it('an organisation write refills its detail and the organisations list; a delete only the list', () => {
    expect(warmupTargetsFor({ event: 'organisation.updated', entity: 'organisation', id: 7, payload: {} })).toEqual([
      { service: 'organisations-api', path: '/organisations/7' },
      { service: 'organisations-api', path: '/organisations' },
    ]);
    expect(warmupTargetsFor({ event: 'organisation.deleted', entity: 'organisation', id: 7, payload: {} })).toEqual([
      { service: 'organisations-api', path: '/organisations' },
    ]);
  });

  it('people and interactions are warmed through the people API; a mandat through its organisation', () => {
    expect(warmupTargetsFor({ event: 'person.created', entity: 'person', id: 3, payload: {} })).toEqual([
      { service: 'people-api', path: '/people/3' },
      { service: 'people-api', path: '/people' },
    ]);
    expect(warmupTargetsFor({ event: 'interaction.created', entity: 'interaction', id: 9, payload: {} })).toEqual([{ service: 'people-api', path: '/interactions' }]);
    expect(warmupTargetsFor({ event: 'mandat.updated', entity: 'mandat', id: 2, payload: { organisationId: 5 } })).toEqual([
      { service: 'organisations-api', path: '/organisations/5' },
      { service: 'organisations-api', path: '/organisations/5/mandats' },
    ]);
    expect(warmupTargetsFor({ event: 'mandat.deleted', entity: 'mandat', id: 2, payload: {} })).toEqual([]);
    expect(warmupTargetsFor({ event: 'produit.deleted', entity: 'produit', id: 4, payload: {} })).toEqual([{ service: 'organisations-api', path: '/produits' }]);
  });

  it("an admin's invalidation, or an entity no view refills after, refills nothing", () => {
    expect(warmupTargetsFor({ event: 'cache.invalidated', entity: 'cache', id: 0, payload: { prefix: 'produits' } })).toEqual([]);
    expect(warmupTargetsFor({ event: 'x.updated', entity: 'constructor', id: 1, payload: {} })).toEqual([]);
  });

  it('every target of every write is the path of a view of its API that refills after that entity', () => {
    for (const change of EVERY_CHANGE) {
      const event = eventForChange(change);
      for (const target of warmupTargetsFor({ ...event, payload: event.payload ?? {} })) {
        const views = viewsAt(target).filter((cached) => Object.hasOwn(cached.refillAfter, change.entity));
        expect([change.entity, change.kind, target.path, views.length]).toEqual([change.entity, change.kind, target.path, 1]);
      }
    }
  });
});

describe('warm-up at start', () => {
  it('the lists first, then the 100 most recently updated organisations and every produit', async () => {
    const asked: string[] = [];
    const targets = await startupWarmupTargets(async (sql) => {
      asked.push(sql);
      return sql === SQL.organisations ? [8, 3] : [5];
    });
    expect(asked.sort()).toEqual([SQL.organisations, SQL.produits].sort());
    expect(targets).toEqual([
      { service: 'organisations-api', path: '/organisations' },
      { service: 'organisations-api', path: '/produits' },
      { service: 'organisations-api', path: '/organisations/8' },
      { service: 'organisations-api', path: '/organisations/3' },
      { service: 'organisations-api', path: '/produits/5' },
    ]);
  });

  it('each target is the path of a view of its API that warms at start', async () => {
    for (const target of await startupWarmupTargets(async () => [1, 2])) {
      expect([target.path, viewsAt(target).filter((cached) => cached.warmAtStartup !== null).length]).toEqual([target.path, 1]);
    }
  });

  it('a view warmed per id has exactly one path parameter; one warmed once has none', () => {
    for (const policy of Object.values(API_POLICIES)) {
      for (const [name, cached] of Object.entries(policy.views)) {
        if (cached.warmAtStartup === null) continue;
        expect([name, paramNames(cached.path).length]).toEqual([name, cached.warmAtStartup === true ? 0 : 1]);
      }
    }
  });
});
