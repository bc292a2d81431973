import { Organisation } from '../src';
import { truncateAll, TEST_DATABASE_URL } from '../test-support';
import { useTestDatabase } from './fixture';
import { seedDatabase, seedDemo, DEMO_SIZES, InvalidSeedOptionsError, createRng, type SeedOptions } from '../src/seed';
import { isinCheckDigit } from '../src/seed/generators';
import { parseSeedArgs, SeedUsageError } from '../src/seed/args';

const TABLES = ['organisation', 'produit', 'person', 'mandat', 'interaction'] as const;
const SIZES = { organisations: 60, people: 300, mandats: 120, interactions: 600, produits: 12 };
// A fixed reference date makes every column (timestamps included) a function of the seed alone.
const REFERENCE = new Date('2025-06-01T00:00:00Z');
const options = (extra: Partial<SeedOptions> = {}): SeedOptions =>
  ({ databaseUrl: TEST_DATABASE_URL, ...SIZES, seed: 42, referenceDate: REFERENCE, ...extra });

describe('seeder', () => {
  // Plain pg for checks (`sql`): $n parameters and raw rows, no ORM placeholder rewriting.
  const db = useTestDatabase(2);
  const sql = db.sql;

  const counts = async () => {
    const [row] = await sql<Record<string, string>>(
      `select ${TABLES.map((t) => `(select count(*) from ${t}) as ${t}`).join(', ')}`);
    return Object.fromEntries(TABLES.map((t) => [t, Number(row?.[t])]));
  };
  // Every column of every row, in id order: equal hashes mean identical content.
  const hashes = async (maxId = 2_147_483_647) => {
    const [row] = await sql<Record<string, string>>(`select ${TABLES.map((t) =>
      `(select md5(coalesce(string_agg(t::text, '|' order by id), '')) from ${t} t where id <= ${maxId}) as ${t}`).join(', ')}`);
    return row;
  };
  const schemaObjects = async () => sql<{ def: string }>(
    `select pg_get_indexdef(indexrelid) as def from pg_index where indrelid::regclass::text = any($1)
     union all
     select conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
     from pg_constraint where conrelid::regclass::text = any($1)
     order by 1`, [[...TABLES]]);


  it('loads exactly the requested rows and moves the id sequences past them', async () => {
    await expect(seedDatabase(options())).resolves.toEqual(SIZES);
    expect(await counts()).toEqual({ organisation: 60, produit: 12, person: 300, mandat: 120, interaction: 600 });

    const em = db.orm.em.fork();
    const org = em.create(Organisation, { name: 'After seeding', category: 'other' });
    await em.flush();
    expect(org.id).toBe(61);
  });

  it('produits default to 50', async () => {
    const { produits: _omit, ...withoutProduits } = options();
    await expect(seedDatabase(withoutProduits)).resolves.toMatchObject({ produits: 50 });
    expect((await counts()).produit).toBe(50);
  });

  it('is deterministic: same seed, same rows; another seed, other rows', async () => {
    await seedDatabase(options());
    const first = await hashes();
    await truncateAll(db.orm);
    await seedDatabase(options());
    expect(await hashes()).toEqual(first);

    await truncateAll(db.orm);
    await seedDatabase(options({ seed: 43 }));
    const other = await hashes();
    for (const table of TABLES) expect(other?.[table]).not.toBe(first?.[table]);
  });

  it('the index-rebuild path loads the same rows and restores every index and foreign key', async () => {
    const before = await schemaObjects();
    await seedDatabase(options());
    const plain = await hashes();
    await truncateAll(db.orm);

    await seedDatabase(options({ rebuildIndexes: true }));
    expect(await hashes()).toEqual(plain);
    expect(await schemaObjects()).toEqual(before);
  });

  it('keeps referential integrity and realistic value domains', async () => {
    await seedDatabase(options({ organisations: 300, people: 1_000, mandats: 500, interactions: 3_000, produits: 50 }));
    const [check] = await sql<Record<string, string>>(`select
      (select count(*) from person p left join organisation o on o.id = p.organisation_id
        where p.organisation_id is not null and o.id is null) as dangling_person_org,
      (select count(*) from mandat m left join organisation o on o.id = m.organisation_id where o.id is null) as dangling_mandat_org,
      (select count(*) from interaction i left join person p on p.id = i.person_id where p.id is null) as dangling_interaction_person,
      (select count(*) from interaction i join person p on p.id = i.person_id
        where i.organisation_id is not null and i.organisation_id is distinct from p.organisation_id) as interaction_wrong_org,
      (select count(*) - count(distinct lower(email)) from person) as duplicate_person_emails,
      (select count(email) - count(distinct lower(email)) from organisation) as duplicate_org_emails,
      (select count(*) from mandat where end_date < start_date) as mandats_ending_before_start,
      (select count(*) from mandat where status = 'terminated' and (end_date is null or end_date > $1::date)) as terminated_not_ended,
      (select count(*) from interaction where occurred_at > $1 or occurred_at < $1::timestamptz - interval '3 years 1 day') as interactions_out_of_range,
      (select count(*) from organisation where country !~ '^[A-Z]{2}$') as bad_countries,
      (select count(*) from produit where isin !~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$') as bad_isins,
      (select count(*) - count(distinct isin) from produit) as duplicate_isins`, [REFERENCE.toISOString()]);
    expect(Object.fromEntries(Object.entries(check ?? {}).map(([k, v]) => [k, Number(v)]))).toEqual({
      dangling_person_org: 0, dangling_mandat_org: 0, dangling_interaction_person: 0, interaction_wrong_org: 0,
      duplicate_person_emails: 0, duplicate_org_emails: 0, mandats_ending_before_start: 0, terminated_not_ended: 0,
      interactions_out_of_range: 0, bad_countries: 0, bad_isins: 0, duplicate_isins: 0,
    });

    const categories = await sql<{ category: string }>('select distinct category from organisation order by 1');
    expect(categories.map((r) => r.category)).toEqual(['advisor', 'corporate', 'institution', 'other', 'wholesale']);
    const [shares] = await sql<Record<string, string>>(`select
      (select avg(is_active::int) from organisation) as active,
      (select avg((organisation_id is not null)::int) from person) as attached,
      (select avg((annual_revenue is null)::int) from organisation) as no_revenue,
      (select avg((end_date is null)::int) from mandat) as open_ended`);
    expect(Number(shares?.active)).toBeGreaterThan(0.78);
    expect(Number(shares?.active)).toBeLessThan(0.92);
    expect(Number(shares?.attached)).toBeGreaterThan(0.85);
    expect(Number(shares?.attached)).toBeLessThan(0.95);
    expect(Number(shares?.no_revenue)).toBeGreaterThan(0);
    expect(Number(shares?.open_ended)).toBeGreaterThan(0);

    const isins = await sql<{ isin: string }>('select isin from produit');
    for (const { isin } of isins) expect(Number(isin.slice(11))).toBe(isinCheckDigit(isin.slice(0, 11)));
  });

  it('appends a second batch after existing rows without touching them', async () => {
    await seedDatabase(options());
    const firstBatch = await hashes();
    // The same seed again: ids, hence e-mails and ISINs, still differ.
    await expect(seedDatabase(options({ rebuildIndexes: true }))).resolves.toEqual(SIZES);
    expect(await counts()).toEqual({ organisation: 120, produit: 24, person: 600, mandat: 240, interaction: 1_200 });
    expect((await hashes(60))?.organisation).toBe(firstBatch?.organisation);
    expect((await hashes(12))?.produit).toBe(firstBatch?.produit);
    expect((await hashes(120))?.mandat).toBe(firstBatch?.mandat);
    expect((await hashes(300))?.person).toBe(firstBatch?.person);
    expect((await hashes(600))?.interaction).toBe(firstBatch?.interaction);

    // A batch without parents hangs its rows on the existing ones.
    await seedDatabase(options({ organisations: 0, people: 0, mandats: 10, interactions: 50, produits: 0 }));
    expect(await counts()).toEqual({ organisation: 120, produit: 24, person: 600, mandat: 250, interaction: 1_250 });
    const [check] = await sql<Record<string, string>>(`select
      (select count(*) - count(distinct lower(email)) from person) as duplicate_emails,
      (select count(*) from interaction i join person p on p.id = i.person_id
        where i.id > 1200 and i.organisation_id is distinct from p.organisation_id and i.organisation_id is not null) as wrong_org,
      (select count(*) from interaction i left join person p on p.id = i.person_id where p.id is null) as dangling`);
    expect(check).toEqual({ duplicate_emails: '0', wrong_org: '0', dangling: '0' });

    const em = db.orm.em.fork();
    const org = em.create(Organisation, { name: 'Next', category: 'other' });
    await em.flush();
    expect(org.id).toBe(121);
  });

  it('rejects impossible requests before writing anything', async () => {
    await expect(seedDatabase(options({ organisations: 0 }))).rejects.toThrow(InvalidSeedOptionsError);
    await expect(seedDatabase(options({ people: 0 }))).rejects.toThrow(/interactions need people/);
    await expect(seedDatabase(options({ people: -1 }))).rejects.toThrow(/people must be an integer/);
    await expect(seedDatabase(options({ mandats: 1.5 }))).rejects.toThrow(/mandats must be an integer/);
    await expect(seedDatabase(options({ seed: 2 ** 32 }))).rejects.toThrow(/seed must be an integer/);
    expect(await counts()).toEqual({ organisation: 0, produit: 0, person: 0, mandat: 0, interaction: 0 });
  });

  it('a failure mid-way rolls everything back, dropped indexes included', async () => {
    await seedDatabase(options());
    const before = { counts: await counts(), hashes: await hashes(), schema: await schemaObjects() };
    const [sequence] = await sql<{ last_value: string }>('select last_value from organisation_id_seq');

    // Interactions are copied last: organisations, produits, people and mandats are already in when it fails.
    await sql(`create function seed_test_fail() returns trigger language plpgsql as $$
      begin raise exception 'seed test failure'; end $$`);
    await sql('create trigger seed_test_fail before insert on interaction for each statement execute function seed_test_fail()');
    try {
      await expect(seedDatabase(options({ seed: 7, rebuildIndexes: true }))).rejects.toThrow(/seed test failure/);
    } finally {
      await sql('drop trigger seed_test_fail on interaction');
      await sql('drop function seed_test_fail()');
    }

    expect(await counts()).toEqual(before.counts);
    expect(await hashes()).toEqual(before.hashes);
    expect(await schemaObjects()).toEqual(before.schema);
    expect(await sql('select last_value from organisation_id_seq')).toEqual([sequence]);
  });

  it('seedDemo seeds only an empty database, once even when called concurrently', async () => {
    const results = await Promise.all([seedDemo(TEST_DATABASE_URL), seedDemo(TEST_DATABASE_URL)]);
    expect(results.sort()).toEqual([false, true]);
    const expected = {
      organisation: DEMO_SIZES.organisations, produit: DEMO_SIZES.produits, person: DEMO_SIZES.people,
      mandat: DEMO_SIZES.mandats, interaction: DEMO_SIZES.interactions,
    };
    expect(await counts()).toEqual(expected);
    await expect(seedDemo(TEST_DATABASE_URL)).resolves.toBe(false);
    expect(await counts()).toEqual(expected);
  });
});

describe('seeder building blocks', () => {
  it('the PRNG repeats for a seed and differs across seeds', () => {
    const draw = (seed: number) => { const rng = createRng(seed); return Array.from({ length: 5 }, () => rng.next()); };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const rng = createRng(1);
    const ints = Array.from({ length: 10_000 }, () => rng.int(1, 6));
    expect(Math.min(...ints)).toBe(1);
    expect(Math.max(...ints)).toBe(6);
  });

  it('computes ISIN check digits like real ones', () => {
    expect(isinCheckDigit('US037833100')).toBe(5); // Apple
    expect(isinCheckDigit('FR000012062')).toBe(8); // AXA
    expect(isinCheckDigit('GB000263494')).toBe(6); // BAE Systems
  });

  describe('command line', () => {
    it('parses sizes, seed and reference date; tolerates forwarded "--" separators', () => {
      expect(parseSeedArgs(['--', '--', '--organisations', '10', '--people', '20', '--mandats', '5', '--interactions', '40', '--seed', '9',
        '--reference-date', '2025-01-31'])).toEqual({
        kind: 'seed', organisations: 10, people: 20, mandats: 5, interactions: 40, produits: 50, seed: 9,
        referenceDate: new Date('2025-01-31T00:00:00Z'),
      });
      expect(parseSeedArgs(['--people=3'])).toMatchObject({ kind: 'seed', organisations: 0, people: 3, seed: 1 });
      expect(parseSeedArgs(['--demo'])).toEqual({ kind: 'demo' });
      expect(parseSeedArgs(['--help'])).toEqual({ kind: 'help' });
    });

    it.each([
      [['--bogus', '1'], /Unknown option '--bogus'/],
      [['--people', '1.5'], /--people must be an integer/],
      [['--people', '1e5'], /--people must be an integer/],
      [['--people', 'many'], /--people must be an integer/],
      [['--people', '3000000000'], /--people must be an integer/],
      [['--seed', '4294967296', '--people', '1'], /--seed must be an integer/],
      [['--reference-date', '2025-02-30', '--people', '1'], /--reference-date must be a date/],
      [['--demo', '--people', '1'], /--demo has fixed sizes/],
      [[], /Nothing to seed/],
      [['extra'], /Unexpected argument 'extra'/],
    ])('rejects %j', (argv, message) => {
      expect(() => parseSeedArgs(argv)).toThrow(SeedUsageError);
      expect(() => parseSeedArgs(argv)).toThrow(message);
    });
  });
});
