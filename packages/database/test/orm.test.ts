import { createOrm, migrate, Organisation, Person, Mandat, MikroORM } from '../src';
import { prepareTestDatabase, truncateAll, TEST_DATABASE_URL } from '../test-support';

describe('database', () => {
  let orm: MikroORM;
  const statements: string[] = [];

  beforeAll(async () => {
    await prepareTestDatabase();
    orm = await createOrm({ databaseUrl: TEST_DATABASE_URL, onQuery: (sql) => statements.push(sql) });
    await truncateAll(orm);
  });
  afterAll(() => orm.close(true));

  it('migrations are idempotent: a second run applies nothing', async () => {
    await expect(migrate(TEST_DATABASE_URL)).resolves.toEqual([]);
  });

  it('creates the indexes the API queries need', async () => {
    const rows: { indexname: string }[] = await orm.em.getConnection().execute(
      "select indexname from pg_indexes where schemaname = 'public'",
    );
    const names = rows.map((r) => r.indexname);
    expect(names).toEqual(expect.arrayContaining([
      'organisation_name_id_idx', 'organisation_category_id_idx', 'organisation_is_active_idx',
      'organisation_category_is_active_idx', 'organisation_email_lower_uniq', 'organisation_name_trgm_idx',
      'organisation_name_prefix_idx', 'person_email_lower_uniq', 'person_organisation_id_id_idx', 'person_search_text_trgm_idx',
      'person_first_name_prefix_idx', 'person_last_name_prefix_idx', 'person_email_prefix_idx', 'mandat_organisation_id_id_idx',
      'interaction_occurred_at_id_idx', 'interaction_person_id_occurred_at_id_idx', 'interaction_organisation_id_occurred_at_id_idx', 'list_count_pkey', 'organisation_stat_pkey',
    ]));
  });

  it('round-trips entities and enforces case-insensitive unique emails', async () => {
    const em = orm.em.fork();
    const org = em.create(Organisation, { name: 'Acme', category: 'corporate', email: 'Info@Acme.test', annualRevenue: 1234.5 });
    em.create(Mandat, { organisation: org, type: 'advisory', status: 'active', startDate: '2024-01-01' });
    em.create(Person, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.test', organisation: org });
    await em.flush();
    const loaded = await orm.em.fork().findOneOrFail(Organisation, org.id, { populate: ['mandats', 'contacts'] });
    expect(loaded.annualRevenue).toBe(1234.5);
    expect(loaded.mandats.getItems().map((m) => m.startDate)).toEqual(['2024-01-01']);
    expect(loaded.contacts.getItems().map((c) => c.email)).toEqual(['ada@acme.test']);

    const dup = orm.em.fork();
    dup.create(Organisation, { name: 'Other', category: 'other', email: 'INFO@acme.TEST' });
    await expect(dup.flush()).rejects.toThrow(/unique|duplicate/i);
  });

  it('deleting an organisation deletes its mandats and detaches its people', async () => {
    const em = orm.em.fork();
    const org = em.create(Organisation, { name: 'Doomed', category: 'other' });
    const mandat = em.create(Mandat, { organisation: org, type: 'management', status: 'pending', startDate: '2024-02-01' });
    const person = em.create(Person, { firstName: 'Bo', lastName: 'B', email: 'bo@doomed.test', organisation: org });
    await em.flush();
    await orm.em.fork().nativeDelete(Organisation, { id: org.id });
    const check = orm.em.fork();
    expect(await check.findOne(Mandat, mandat.id)).toBeNull();
    const detached = await check.findOneOrFail(Person, person.id);
    expect(detached.organisation).toBeNull();
  });

  it('reports each statement to onQuery', () => {
    expect(statements.some((s) => /select .* from "organisation"/i.test(s))).toBe(true);
  });
});
