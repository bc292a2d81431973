import { Organisation, Person, type EntityManager } from '@crm/database';
import { HttpProblem, type FieldError } from '@crm/http';

/**
 * Checks the foreign keys a body names before anything is written, so a dangling id answers a
 * 400 that says which field is wrong. The foreign keys themselves remain the race-free backstop
 * (a row deleted in between still fails the write, as a 400, through @crm/http's toProblem).
 */
export async function checkReferences(
  em: EntityManager,
  refs: { personId?: number | undefined; organisationId?: number | null | undefined },
): Promise<{ person: Person | null }> {
  const [person, organisationExists] = await Promise.all([
    refs.personId === undefined ? null : em.findOne(Person, refs.personId),
    refs.organisationId === undefined || refs.organisationId === null
      ? true
      : em.count(Organisation, { id: refs.organisationId }).then((n) => n > 0),
  ]);
  const errors: FieldError[] = [];
  if (refs.personId !== undefined && !person) errors.push({ path: 'personId', message: `person ${refs.personId} does not exist` });
  if (!organisationExists) errors.push({ path: 'organisationId', message: `organisation ${refs.organisationId} does not exist` });
  if (errors.length > 0) throw new HttpProblem('validation', 'The request body is not valid', errors);
  return { person };
}

/** `organisationId` from a body to the relation value MikroORM assigns. */
export function organisationRef(em: EntityManager, id: number | null): Organisation | null {
  return id === null ? null : em.getReference(Organisation, id);
}
