/**
 * A sample of every write the CRM makes: each entity of `Change` (the compiler refuses a missing one) in each kind,
 * with the variants that change which tags a write touches (an organisation update inside or outside the stats'
 * fields, people attached or not, a person leaving an organisation).
 */
import type { Change, ChangeKind } from '@crm/database';

const KINDS: ChangeKind[] = ['created', 'updated', 'deleted'];

const SAMPLES = {
  organisation: (kind) => [
    { entity: 'organisation', kind, id: 11, peopleIds: [12, 13] },
    { entity: 'organisation', kind, id: 11, peopleIds: [], fields: ['name'] },
  ],
  person: (kind) => [{ entity: 'person', kind, id: 21, organisationIds: [22, null] }],
  mandat: (kind) => [{ entity: 'mandat', kind, id: 31, organisationId: 32 }],
  interaction: (kind) => [{ entity: 'interaction', kind, id: 41, personIds: [42, 43] }],
  produit: (kind) => [{ entity: 'produit', kind, id: 51 }],
} satisfies Record<Change['entity'], (kind: ChangeKind) => Change[]>;

/** Every sample change, for every entity and kind. */
export const EVERY_CHANGE: Change[] = Object.values(SAMPLES).flatMap((sample: (kind: ChangeKind) => Change[]) => KINDS.flatMap((kind) => sample(kind)));

/** A tag's kind: its ids replaced (`organisation:7` and `organisation:8` are both `organisation:<id>`). */
export const tagKind = (tag: string) => tag.replace(/\d+/g, '<id>');
