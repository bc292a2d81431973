/**
 * GET /people/:id in one statement that PostgreSQL answers as JSON (the person, and its organisation's id, name and
 * category or null), in the shape serializers.ts gives the entities: no ORM hydration for a read-only response.
 * test/detail.test.ts checks it renders exactly what the serializers render.
 */
import { isoTimestamp as iso, readJson, type EntityManager } from '@crm/database';

const DETAIL = `select json_build_object(
  'id', p.id, 'firstName', p.first_name, 'lastName', p.last_name, 'email', p.email, 'phone', p.phone, 'title', p.title,
  'organisationId', p.organisation_id, 'createdAt', ${iso('p.created_at')}, 'updatedAt', ${iso('p.updated_at')},
  'organisation', case when o.id is null then null else json_build_object('id', o.id, 'name', o.name, 'category', o.category) end
) as json from person p left join organisation o on o.id = p.organisation_id where p.id = ?`;

/** The person's detail as the API answers it, or null when there is none. */
export function personDetail(em: EntityManager, id: number): Promise<Record<string, unknown> | null> {
  return readJson(em, DETAIL, [id]);
}
