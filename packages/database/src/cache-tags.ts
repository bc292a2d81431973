/**
 * The cache's tags, and which write touches which cached view: declared once, here, next to the entities.
 *
 * Each entity is a family of rows (@crm/cache/dependencies): the fields its lists filter on, the mutable fields they
 * sort on, the fields searched. A write is a `Change` carrying the row's values of those fields before and after it;
 * its tags are the ones `changeTags` derives (its row, the filter combinations it enters or leaves, the sort orders and
 * search terms it moves), plus what this file knows of embedding and cascades. Views declare the other side: a list
 * or search page depends on its combination or term and shows its rows' tags (cache-policy).
 */
import { changeTags, familyTag, rowTag, type Family, type Row } from '@crm/cache/dependencies';

/**
 * The families of rows the cached views show. `cascaded`: an organisation's deletion deletes its mandats and detaches
 * its people and interactions, a person's deletes their interactions (see tagsForChange). `whole`: an organisation's
 * detail shows all its mandats and contacts.
 */
export const FAMILIES = {
  organisation: { name: 'organisation', filters: ['category', 'isActive'], sorts: ['name'], searches: ['name'], rangeField: 'name' },
  person: { name: 'person', filters: ['organisationId'], sorts: ['lastName', 'firstName'], searches: ['firstName', 'lastName', 'email'], cascaded: true, whole: [['organisationId']], rangeField: 'lastName' },
  mandat: { name: 'mandat', filters: ['organisationId'], sorts: ['startDate'], searches: [], cascaded: true, whole: [['organisationId']] },
  interaction: { name: 'interaction', filters: ['personId', 'organisationId'], sorts: ['occurredAt'], searches: [], cascaded: true },
  produit: { name: 'produit', filters: ['category', 'isActive'], sorts: ['name'], searches: [], rangeField: 'name' },
} as const satisfies Record<string, Family>;

/** The entities a write can change. */
export type Entity = keyof typeof FAMILIES;

/** Tags views carry besides the families' own (see cache-policy). */
export const TAGS = {
  /** One organisation: its detail, and everything that shows it (lists, search, the people who embed it). */
  organisation: (id: number) => rowTag(FAMILIES.organisation, id),
  /** Organisation stats: only what they count or average changes them (not a rename). */
  organisationStats: 'organisation#stats',
  person: (id: number) => rowTag(FAMILIES.person, id),
  mandat: (id: number) => rowTag(FAMILIES.mandat, id),
  interaction: (id: number) => rowTag(FAMILIES.interaction, id),
  produit: (id: number) => rowTag(FAMILIES.produit, id),
  /** Every row of a family at once: for a cascade (deleting an organisation deletes its mandats, say). */
  family: (entity: 'person' | 'mandat' | 'interaction') => familyTag(FAMILIES[entity]),
} as const;

export type ChangeKind = 'created' | 'updated' | 'deleted';

/**
 * A committed change: the row's fields that views depend on (its family's filters, sorts and searches, and what
 * this file uses below), before (null: created) and after (null: deleted). See ROWS.
 */
export interface Change {
  entity: Entity;
  kind: ChangeKind;
  id: number;
  before: Row | null;
  after: Row | null;
}

/** Organisation fields the stats count or average: a change to any other field leaves them as they are. */
const STATS_FIELDS = ['category', 'isActive', 'annualRevenue'];

/** The id of a reference (a loaded entity or a bare id), or null. */
const idOf = (ref: { id: number } | number | null | undefined): number | null => (ref == null ? null : typeof ref === 'number' ? ref : ref.id);
const text = (value: Date | string | null | undefined): string | null =>
  (value == null ? null : value instanceof Date ? value.toISOString() : value);

/** A row's fields as a `Change` carries them, from the entity a route holds. */
export const ROWS = {
  organisation: (o: { category: string; isActive: boolean; name: string; annualRevenue?: number | null }): Row =>
    ({ category: o.category, isActive: o.isActive, name: o.name, annualRevenue: o.annualRevenue ?? null }),
  person: (p: { organisation?: { id: number } | number | null; firstName: string; lastName: string; email: string }): Row =>
    ({ organisationId: idOf(p.organisation), firstName: p.firstName, lastName: p.lastName, email: p.email }),
  mandat: (m: { organisation: { id: number } | number; startDate: Date | string }): Row =>
    ({ organisationId: idOf(m.organisation), startDate: text(m.startDate) }),
  interaction: (i: { person: { id: number } | number; organisation?: { id: number } | number | null; occurredAt: Date | string }): Row =>
    ({ personId: idOf(i.person), organisationId: idOf(i.organisation), occurredAt: text(i.occurredAt) }),
  produit: (p: { category?: string | null; isActive: boolean; name: string }): Row =>
    ({ category: p.category ?? null, isActive: p.isActive, name: p.name }),
} as const satisfies Record<Entity, (entity: never) => Row>;

const changed = (change: Change, fields: string[]) =>
  !change.before || !change.after || fields.some((f) => change.before![f] !== change.after![f]);

/** The tags a change invalidates. */
export function tagsForChange(change: Change): string[] {
  const tags = changeTags(FAMILIES[change.entity], change.id, change.before, change.after);
  switch (change.entity) {
    case 'organisation':
      if (changed(change, STATS_FIELDS)) tags.push(TAGS.organisationStats);
      // The database deletes its mandats and detaches its people and interactions.
      if (change.kind === 'deleted') tags.push(TAGS.family('mandat'), TAGS.family('person'), TAGS.family('interaction'));
      break;
    case 'person':
      // The database deletes their interactions.
      if (change.kind === 'deleted') tags.push(TAGS.family('interaction'));
      break;
    default:
      break;
  }
  return tags;
}
