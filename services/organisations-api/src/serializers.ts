import type { Mandat, Organisation, Person, Produit } from '@crm/database';

/** Entities to the contract's JSON: camelCase, ISO timestamps, foreign keys as `<entity>Id`. */
export const organisationJson = (o: Organisation) => ({
  id: o.id,
  name: o.name,
  category: o.category,
  isActive: o.isActive,
  email: o.email ?? null,
  website: o.website ?? null,
  country: o.country ?? null,
  annualRevenue: o.annualRevenue ?? null,
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
});

export const mandatJson = (m: Mandat) => ({
  id: m.id,
  organisationId: m.organisation.id,
  type: m.type,
  status: m.status,
  startDate: m.startDate,
  endDate: m.endDate ?? null,
  createdAt: m.createdAt.toISOString(),
  updatedAt: m.updatedAt.toISOString(),
});

/** A contact as the organisation detail shows it: the shape src/detail.ts builds in SQL, and its test's reference. */
export const contactJson = (p: Pick<Person, 'id' | 'firstName' | 'lastName' | 'email' | 'title'>) => ({
  id: p.id,
  firstName: p.firstName,
  lastName: p.lastName,
  email: p.email,
  title: p.title ?? null,
});

export const produitJson = (p: Produit) => ({
  id: p.id,
  name: p.name,
  isin: p.isin ?? null,
  category: p.category,
  isActive: p.isActive,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});
