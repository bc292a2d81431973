/**
 * A sample of every write the CRM makes: each entity of `Change` (the compiler refuses a missing one) in each kind,
 * with rows in more than one filter combination, so every kind of tag a write can touch appears.
 */
import { ROWS, type Change, type ChangeKind, type Entity } from '@crm/database';
import type { Row } from '@crm/cache/dependencies';

const KINDS: ChangeKind[] = ['created', 'updated', 'deleted'];

/** Two versions of a row of each entity: an update goes from the first to the second (every field changed). */
const ROW_PAIRS = {
  organisation: [
    ROWS.organisation({ category: 'advisor', isActive: true, name: 'Acme Capital', annualRevenue: 10 }),
    ROWS.organisation({ category: 'corporate', isActive: false, name: 'Zeta Partners', annualRevenue: null }),
  ],
  person: [
    ROWS.person({ organisation: 22, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' }),
    ROWS.person({ organisation: null, firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' }),
  ],
  mandat: [ROWS.mandat({ organisation: 32, startDate: '2024-01-01' }), ROWS.mandat({ organisation: 33, startDate: '2025-01-01' })],
  interaction: [
    ROWS.interaction({ person: 42, organisation: 22, occurredAt: '2024-01-01T00:00:00.000Z' }),
    ROWS.interaction({ person: 43, organisation: null, occurredAt: '2025-01-01T00:00:00.000Z' }),
  ],
  produit: [ROWS.produit({ category: 'fund', isActive: true, name: 'Alpha' }), ROWS.produit({ category: null, isActive: false, name: 'Beta' })],
} satisfies Record<Entity, [Row, Row]>;

const IDS: Record<Entity, number> = { organisation: 11, person: 21, mandat: 31, interaction: 41, produit: 51 };

function change(entity: Entity, kind: ChangeKind): Change {
  const [before, after] = ROW_PAIRS[entity];
  return { entity, kind, id: IDS[entity], before: kind === 'created' ? null : before, after: kind === 'deleted' ? null : after };
}

/** Every sample change, for every entity and kind. */
export const EVERY_CHANGE: Change[] = (Object.keys(ROW_PAIRS) as Entity[]).flatMap((entity) => KINDS.map((kind) => change(entity, kind)));

/** A tag's kind: its numbers and filter values replaced (`organisation:7` and `organisation:8` are both `organisation:<id>`). */
export const tagKind = (tag: string) => tag.replace(/\d+/g, '<id>').replace(/=[^&#]*/g, '=<v>').replace(/([~^]).*$/, '$1<term>');
