import { Organisation, type OrganisationCategory } from '@crm/database';
import { startApiHarness, type ApiHarness, type ApiHarnessOptions } from '@crm/service-kit/testing';
import { buildApp, SERVICE } from '../src/app';

/** A real API on the real test database, with the SQL it sends recorded (see @crm/service-kit/testing startApiHarness). */
export type Harness = ApiHarness;

export const startHarness = (options?: ApiHarnessOptions): Promise<Harness> => startApiHarness(SERVICE, buildApp, options);

/** Organisations have no route here: tests create them through the ORM, as organisations-api would. */
export async function seedOrganisation(
  h: Harness,
  data: { name: string; category?: OrganisationCategory; annualRevenue?: number | null },
): Promise<number> {
  const em = h.orm.em.fork();
  const organisation = em.create(Organisation, { category: 'corporate', ...data });
  await em.flush();
  return organisation.id;
}

/** Rows in a table, counted directly (to show a failed write changed nothing). */
export async function countRows(h: Harness, table: 'person' | 'interaction' | 'organisation'): Promise<number> {
  const [row] = await h.orm.em.getConnection().execute<{ n: number }[]>(`select count(*)::int as n from ${table}`);
  return row!.n;
}

/** A person row as stored, read directly (not through the API). */
export async function personRow(h: Harness, id: number): Promise<Record<string, unknown> | undefined> {
  const rows = await h.orm.em.getConnection().execute<Record<string, unknown>[]>('select * from person where id = ?', [id]);
  return rows[0];
}

/** Asserts an RFC 9457 problem response and returns its field errors' paths. */
export function expectProblem(res: { status: number; headers: Record<string, string>; body: any }, status: number): string[] {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  return ((res.body.errors ?? []) as { path: string }[]).map((e) => e.path);
}
