import { listTags, setByteOrdered } from '@crm/cache/dependencies';
import { byteOrderedFamilies, comparesBytes, configureSortOrder, createOrm, FAMILIES, type MikroORM } from '../src';
import { prepareTestDatabase, TEST_DATABASE_URL } from '../test-support';

// Which collations let a page depend on its range of sort keys: only those that compare code points.
describe('sort order', () => {
  it('counts C-like collations as byte order, and linguistic ones (libc or ICU) not', () => {
    expect(comparesBytes('default', 'c', 'C.UTF-8')).toBe(true);
    expect(comparesBytes('default', 'c', 'POSIX')).toBe(true);
    expect(comparesBytes('default', 'b', 'C')).toBe(true);
    expect(comparesBytes('C', 'c', 'C')).toBe(true);
    expect(comparesBytes('ucs_basic', 'c', 'C')).toBe(true);
    expect(comparesBytes('default', 'c', 'en_US.utf8')).toBe(false);
    expect(comparesBytes('default', 'i', 'en-US')).toBe(false);
    expect(comparesBytes('und-x-icu', 'i', null)).toBe(false);
  });

  describe('on the test database', () => {
    let orm: MikroORM;
    beforeAll(async () => {
      await prepareTestDatabase(TEST_DATABASE_URL);
      orm = await createOrm({ databaseUrl: TEST_DATABASE_URL });
    });
    afterAll(() => orm.close(true));

    it('names the families with a range field whose column compares bytes, as the database says it orders', async () => {
      const families = await byteOrderedFamilies(orm);
      const ranged = Object.values(FAMILIES).filter((f) => 'rangeField' in f).map((f) => f.name);
      const [{ bytes }] = await orm.em.fork().execute<[{ bytes: boolean }]>("select 'B' < 'a' and 'z' < 'é' as bytes");
      expect(families).toEqual(bytes ? ranged : []);
    });
  });

  it('leaves every page on the coarse dependency when the catalogue cannot be read (a database down at start)', async () => {
    setByteOrdered(['organisation']); // as an earlier start on a C-collated database would have left it
    expect(listTags(FAMILIES.organisation, {}, ['name'])).not.toContain('organisation?#by:name');
    // Nothing listens on port 1: every statement of this ORM fails.
    const down = await createOrm({ databaseUrl: 'postgres://postgres@127.0.0.1:1/crm', acquireTimeoutMs: 1_000 });
    try {
      expect(await configureSortOrder(down)).toEqual([]);
      expect(listTags(FAMILIES.organisation, {}, ['name'])).toContain('organisation?#by:name');
    } finally {
      await down.close(true).catch(() => undefined);
    }
  });
});
