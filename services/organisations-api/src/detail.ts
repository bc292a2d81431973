/**
 * GET /organisations/:id in one statement: PostgreSQL builds the response (the organisation, its mandats, its
 * contacts) as JSON, in the shape serializers.ts gives the entities. A detail miss used to be three statements (three
 * round trips, three transactions to PostgreSQL) and three hydrations through the ORM, about three quarters of its CPU;
 * a detail is read-only, so it needs no entities. One statement also reads one snapshot, where three in parallel
 * could each see a different one. test/detail.test.ts checks it renders exactly what the serializers render.
 */
import { isoTimestamp as iso, readJson, type EntityManager } from '@crm/database';

const DETAIL = `select json_build_object(
  'id', o.id, 'name', o.name, 'category', o.category, 'isActive', o.is_active, 'email', o.email, 'website', o.website,
  'country', o.country, 'annualRevenue', o.annual_revenue, 'createdAt', ${iso('o.created_at')}, 'updatedAt', ${iso('o.updated_at')},
  'mandats', coalesce((select json_agg(json_build_object(
      'id', m.id, 'organisationId', m.organisation_id, 'type', m.type, 'status', m.status, 'startDate', m.start_date,
      'endDate', m.end_date, 'createdAt', ${iso('m.created_at')}, 'updatedAt', ${iso('m.updated_at')}) order by m.id)
    from mandat m where m.organisation_id = o.id), '[]'),
  'contacts', coalesce((select json_agg(json_build_object(
      'id', p.id, 'firstName', p.first_name, 'lastName', p.last_name, 'email', p.email, 'title', p.title) order by p.id)
    from person p where p.organisation_id = o.id), '[]')
) as json from organisation o where o.id = ?`;

/** The organisation's detail as the API answers it, or null when there is none. */
export function organisationDetail(em: EntityManager, id: number): Promise<Record<string, unknown> | null> {
  return readJson(em, DETAIL, [id]);
}
