import type { Interaction, Organisation, Person } from '@crm/database';

/** A person as loaded, fully or with the detail's partial organisation (only its id is read here). */
type PersonRow = Omit<Person, 'organisation'> & { organisation?: { id: number } | null };

/** Entities to the contract's JSON: camelCase, ISO timestamps, foreign keys as `<entity>Id`. */
export const personJson = (p: PersonRow) => ({
  id: p.id,
  firstName: p.firstName,
  lastName: p.lastName,
  email: p.email,
  phone: p.phone ?? null,
  title: p.title ?? null,
  organisationId: p.organisation?.id ?? null,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});

/** The organisation a person's detail embeds. */
export const organisationSummaryJson = (o: Pick<Organisation, 'id' | 'name' | 'category'>) => ({
  id: o.id,
  name: o.name,
  category: o.category,
});

export const interactionJson = (i: Interaction) => ({
  id: i.id,
  personId: i.person.id,
  organisationId: i.organisation?.id ?? null,
  type: i.type,
  subject: i.subject,
  notes: i.notes ?? null,
  occurredAt: i.occurredAt.toISOString(),
  createdAt: i.createdAt.toISOString(),
});
