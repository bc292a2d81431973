/**
 * The refill rules the API policies use in `refillAfter`: given a committed write, which response of a view the
 * worker warms (the path parameters), or none (null).
 */
import type { Write } from './view';

/** The written entity's own response (its id), unless the write deleted it. */
export const writtenUnlessDeleted = (write: Write): { id: number } | null => (write.event.endsWith('.deleted') ? null : { id: write.id });

/** A view without parameters (a list's first page): refilled after any write of the entity. */
export const anyWrite = (): Record<never, number> => ({});

/** A mandat's organisation (its id from the event's payload), deleted mandat or not; none when the payload lacks it. */
export function mandatOrganisation(write: Write): { id: number } | null {
  const organisationId = Number(write.payload.organisationId);
  return Number.isInteger(organisationId) && organisationId > 0 ? { id: organisationId } : null;
}
