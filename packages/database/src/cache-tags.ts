/**
 * The cache's tags, and which write touches which cached view: declared once, here, next to the entities.
 *
 * A cached response carries the tags of everything it shows; a write invalidates the tags of everything it
 * changes. Views that embed another entity are covered by the embedded entity's tag on the writer's side:
 * an organisation detail embeds its mandats and contacts, so mandat and person writes touch
 * `organisation:<id>`; a person detail embeds its organisation, so an organisation write touches the
 * `person:<id>` of each of its people (found in the same transaction as the write).
 */
export const TAGS = {
  /** One organisation's detail, its mandats list. */
  organisation: (id: number) => `organisation:${id}`,
  /** One mandat's detail. */
  mandat: (id: number) => `mandat:${id}`,
  /** Every mandat's detail at once: only an organisation's deletion (it deletes its mandats) needs it. */
  mandatDetails: 'mandats:details',
  /** Organisation lists and search. */
  organisations: 'organisations',
  /** Organisation stats: only what they count and average changes them (not a rename). */
  organisationStats: 'organisations:stats',
  /** One person's detail (with its embedded organisation). */
  person: (id: number) => `person:${id}`,
  /** People lists and search. */
  people: 'people',
  /** The interactions list (`/interactions`, any filter). */
  interactions: 'interactions',
  /** One person's interactions list. */
  personInteractions: (personId: number) => `interactions:person:${personId}`,
  /** Every person's interactions list at once: only an organisation's deletion (it detaches interactions) needs it. */
  allPersonInteractions: 'interactions:people',
  /** One interaction's detail. */
  interaction: (id: number) => `interaction:${id}`,
  /** Every interaction's detail at once: only deletions of a person (deletes them) or an organisation (detaches them) need it. */
  interactionDetails: 'interactions:details',
  /** One produit. */
  produit: (id: number) => `produit:${id}`,
  /** Produit lists. */
  produits: 'produits',
} as const;

export type ChangeKind = 'created' | 'updated' | 'deleted';

/** A committed change, described by what the invalidation needs to know. */
/** Organisation fields the stats count or average: a change to any other field leaves them as they are. */
const STATS_FIELDS = new Set(['category', 'isActive', 'annualRevenue']);

export type Change =
  | {
      entity: 'organisation'; kind: ChangeKind; id: number;
      /** People attached when the change committed. */
      peopleIds: number[];
      /** For an update, the fields it set (when given, a change outside the stats' fields keeps them). */
      fields?: string[];
    }
  | { entity: 'person'; kind: ChangeKind; id: number; organisationIds: (number | null)[] }
  | { entity: 'mandat'; kind: ChangeKind; id: number; organisationId: number }
  | { entity: 'interaction'; kind: ChangeKind; id: number; /** its person before and after the change */ personIds: number[] }
  | { entity: 'produit'; kind: ChangeKind; id: number };

/** The tags a change invalidates. */
export function tagsForChange(change: Change): string[] {
  switch (change.entity) {
    case 'organisation':
      return [
        TAGS.organisation(change.id),
        TAGS.organisations,
        ...(change.kind !== 'updated' || !change.fields || change.fields.some((f) => STATS_FIELDS.has(f)) ? [TAGS.organisationStats] : []),
        ...change.peopleIds.map(TAGS.person),
        // Deleting detaches its people and interactions: their lists change too.
        // It deletes its mandats too.
        ...(change.kind === 'deleted' ? [TAGS.people, TAGS.interactions, TAGS.allPersonInteractions, TAGS.interactionDetails, TAGS.mandatDetails] : []),
      ];
    case 'person':
      return [
        TAGS.person(change.id),
        TAGS.people,
        // Old and new organisation: their details list contacts.
        ...change.organisationIds.filter((id): id is number => id !== null).map(TAGS.organisation),
        // Deleting a person deletes their interactions.
        ...(change.kind === 'deleted' ? [TAGS.interactions, TAGS.personInteractions(change.id), TAGS.interactionDetails] : []),
      ];
    case 'mandat':
      return [TAGS.mandat(change.id), TAGS.organisation(change.organisationId)];
    case 'interaction':
      return [TAGS.interaction(change.id), TAGS.interactions, ...change.personIds.map(TAGS.personInteractions)];
    case 'produit':
      return [TAGS.produit(change.id), TAGS.produits];
  }
}
