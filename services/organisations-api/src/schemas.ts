import { z } from 'zod';
import { MANDAT_STATUSES, MANDAT_TYPES, ORGANISATION_CATEGORIES } from '@crm/database';
import { whereAlpha2 } from 'iso-3166-1';
import { boolString, isoDate, pageQuery, searchTerm } from '@crm/http';

/**
 * ISO 3166-1 alpha-2, only the officially assigned codes (iso-3166-1's list: no EU, XK or other reserved or
 * user-assigned codes). The shape is checked first, so the lookup only ever sees two capitals.
 */
const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in capitals, e.g. FR')
  .refine((code) => !/^[A-Z]{2}$/.test(code) || whereAlpha2(code) !== undefined, 'is not an assigned ISO 3166-1 alpha-2 country code');

const atLeastOneField = (value: object) => Object.keys(value).length > 0;
const NOTHING_TO_UPDATE = { message: 'give at least one field to change' };

const organisationFields = {
  name: z.string().trim().min(1).max(255),
  category: z.enum(ORGANISATION_CATEGORIES),
  isActive: z.boolean(),
  email: z.email().max(255).nullable(),
  website: z.url({ protocol: /^https?$/ }).max(255).nullable(),
  country: countryCode.nullable(),
  annualRevenue: z.number().min(0).max(1e15).nullable(),
};

export const createOrganisationBody = z.strictObject({
  name: organisationFields.name,
  category: organisationFields.category,
  isActive: organisationFields.isActive.default(true),
  email: organisationFields.email.default(null),
  website: organisationFields.website.default(null),
  country: organisationFields.country.default(null),
  annualRevenue: organisationFields.annualRevenue.default(null),
});

export const updateOrganisationBody = z.strictObject(organisationFields).partial().refine(atLeastOneField, NOTHING_TO_UPDATE);

export const listOrganisationsQuery = z.strictObject({
  ...pageQuery(),
  category: z.enum(ORGANISATION_CATEGORIES).optional(),
  activeOnly: boolString.default(true),
});

export const searchOrganisationsQuery = z.strictObject({
  ...pageQuery(),
  q: searchTerm(),
});

const mandatFields = {
  type: z.enum(MANDAT_TYPES),
  status: z.enum(MANDAT_STATUSES),
  startDate: isoDate(),
  endDate: isoDate().nullable(),
};

const endNotBeforeStart = (m: { startDate?: string; endDate?: string | null }) =>
  !m.startDate || !m.endDate || m.endDate >= m.startDate;
const END_BEFORE_START = { message: 'must not be before startDate', path: ['endDate'] };

export const createMandatBody = z
  .strictObject({ ...mandatFields, status: mandatFields.status.default('pending'), endDate: mandatFields.endDate.default(null) })
  .refine(endNotBeforeStart, END_BEFORE_START);

export const updateMandatBody = z
  .strictObject(mandatFields)
  .partial()
  .refine(atLeastOneField, NOTHING_TO_UPDATE)
  .refine(endNotBeforeStart, END_BEFORE_START);

export const listMandatsQuery = z.strictObject({ ...pageQuery(['id', 'createdAt', 'startDate'] as const) });

const isin = z
  .string()
  .regex(/^[A-Z]{2}[A-Z0-9]{9}[0-9]$/, 'must be a 12-character ISIN (2 letters, 9 alphanumerics, 1 check digit)');

const produitFields = {
  name: z.string().trim().min(1).max(255),
  isin: isin.nullable(),
  category: z.string().trim().min(1).max(50),
  isActive: z.boolean(),
};

export const createProduitBody = z.strictObject({
  ...produitFields,
  isin: produitFields.isin.default(null),
  isActive: produitFields.isActive.default(true),
});

export const updateProduitBody = z.strictObject(produitFields).partial().refine(atLeastOneField, NOTHING_TO_UPDATE);

export const listProduitsQuery = z.strictObject({
  ...pageQuery(),
  category: z.string().min(1).max(50).optional(),
  activeOnly: boolString.default(false),
});

// Response shapes, for the OpenAPI document.
const timestamp = z.string().describe('ISO 8601 timestamp');

export const organisationResponse = z.object({
  id: z.number().int(),
  name: z.string(),
  category: z.enum(ORGANISATION_CATEGORIES),
  isActive: z.boolean(),
  email: z.string().nullable(),
  website: z.string().nullable(),
  country: z.string().nullable(),
  annualRevenue: z.number().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const mandatResponse = z.object({
  id: z.number().int(),
  organisationId: z.number().int(),
  type: z.enum(MANDAT_TYPES),
  status: z.enum(MANDAT_STATUSES),
  startDate: z.string(),
  endDate: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const contactResponse = z.object({
  id: z.number().int(),
  firstName: z.string(),
  lastName: z.string(),
  email: z.string(),
  title: z.string().nullable(),
});

export const organisationDetailResponse = organisationResponse.extend({
  mandats: z.array(mandatResponse),
  contacts: z.array(contactResponse),
});

export const statsResponse = z.array(z.object({
  category: z.enum(ORGANISATION_CATEGORIES),
  count: z.number().int(),
  avgAnnualRevenue: z.number().nullable(),
}));

export const produitResponse = z.object({
  id: z.number().int(),
  name: z.string(),
  isin: z.string().nullable(),
  category: z.string(),
  isActive: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
