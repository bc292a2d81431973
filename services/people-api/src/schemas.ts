import { z } from 'zod';
import { INTERACTION_TYPES, ORGANISATION_CATEGORIES } from '@crm/database';
import { intString, isoDateTime, MAX_ID, pageQuery, searchTerm } from '@crm/http';

const atLeastOneField = (value: object) => Object.keys(value).length > 0;
const NOTHING_TO_UPDATE = { message: 'give at least one field to change' };

/** A foreign key in a JSON body: a serial id, as a number. */
const entityId = z.number().int().min(1).max(MAX_ID);
/** A foreign key in a query string. */
const entityIdString = intString(1, MAX_ID);

/** Interactions can carry long free-text notes, but not unbounded ones (the column is `text`). */
export const MAX_NOTES = 10_000;

const personFields = {
  firstName: z.string().trim().min(1).max(100),
  lastName: z.string().trim().min(1).max(100),
  email: z.email().max(255),
  // Empty strings are refused: `null` means "none".
  phone: z.string().trim().min(1).max(50).nullable(),
  title: z.string().trim().min(1).max(255).nullable(),
  organisationId: entityId.nullable(),
};

export const createPersonBody = z.strictObject({
  firstName: personFields.firstName,
  lastName: personFields.lastName,
  email: personFields.email,
  phone: personFields.phone.default(null),
  title: personFields.title.default(null),
  organisationId: personFields.organisationId.default(null),
});

export const updatePersonBody = z.strictObject(personFields).partial().refine(atLeastOneField, NOTHING_TO_UPDATE);

export const listPeopleQuery = z.strictObject({
  ...pageQuery(),
  organisationId: entityIdString.optional(),
});

export const searchPeopleQuery = z.strictObject({
  ...pageQuery(),
  q: searchTerm(),
});

const interactionFields = {
  personId: entityId,
  organisationId: entityId.nullable(),
  type: z.enum(INTERACTION_TYPES),
  subject: z.string().trim().min(1).max(255),
  notes: z.string().max(MAX_NOTES).nullable(),
  // An offset (or Z) is required (a local time would be ambiguous); bounded to what PostgreSQL stores.
  occurredAt: isoDateTime(),
};

export const createInteractionBody = z.strictObject({
  personId: interactionFields.personId,
  // Omitted: the person's current organisation (see routes/interactions.ts); null: none.
  organisationId: interactionFields.organisationId.optional(),
  type: interactionFields.type,
  subject: interactionFields.subject,
  notes: interactionFields.notes.default(null),
  occurredAt: interactionFields.occurredAt,
});

export const updateInteractionBody = z.strictObject(interactionFields).partial().refine(atLeastOneField, NOTHING_TO_UPDATE);

const INTERACTION_SORTS = ['occurredAt', 'id', 'createdAt'] as const;
const interactionPage = pageQuery(INTERACTION_SORTS);
/** Interactions read most recent first by default, as the (person_id, occurred_at desc) index serves them. */
const interactionPageQuery = { ...interactionPage, sort: interactionPage.sort.unwrap().default('-occurredAt') };

export const listPersonInteractionsQuery = z.strictObject({ ...interactionPageQuery });

export const listInteractionsQuery = z.strictObject({
  ...interactionPageQuery,
  personId: entityIdString.optional(),
  organisationId: entityIdString.optional(),
});

// Response shapes, for the OpenAPI document.
const timestamp = z.string().describe('ISO 8601 timestamp');

export const personResponse = z.object({
  id: z.number().int(),
  firstName: z.string(),
  lastName: z.string(),
  email: z.string(),
  phone: z.string().nullable(),
  title: z.string().nullable(),
  organisationId: z.number().int().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const personDetailResponse = personResponse.extend({
  organisation: z.object({
    id: z.number().int(),
    name: z.string(),
    category: z.enum(ORGANISATION_CATEGORIES),
  }).nullable(),
});

export const interactionResponse = z.object({
  id: z.number().int(),
  personId: z.number().int(),
  organisationId: z.number().int().nullable(),
  type: z.enum(INTERACTION_TYPES),
  subject: z.string(),
  notes: z.string().nullable(),
  occurredAt: timestamp,
  createdAt: timestamp,
});
