/** The value sets the contract fixes, shared by the entities, the migrations' checks and the APIs' validation. */
export const ORGANISATION_CATEGORIES = ['institution', 'wholesale', 'advisor', 'corporate', 'other'] as const;
export type OrganisationCategory = (typeof ORGANISATION_CATEGORIES)[number];

export const MANDAT_TYPES = ['distribution', 'advisory', 'management'] as const;
export type MandatType = (typeof MANDAT_TYPES)[number];

export const MANDAT_STATUSES = ['pending', 'active', 'terminated'] as const;
export type MandatStatus = (typeof MANDAT_STATUSES)[number];

export const INTERACTION_TYPES = ['call', 'email', 'meeting', 'note'] as const;
export type InteractionType = (typeof INTERACTION_TYPES)[number];
