import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { toProblem } from '@crm/http';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h.close());

/** Every table's rows, so a refused request can be shown to have written nothing at all. */
async function snapshot(): Promise<string> {
  const rows = await h.orm.em.getConnection().execute<{ t: string }[]>(`select concat_ws('|',
    (select string_agg(o::text, ',' order by id) from organisation o), (select string_agg(m::text, ',' order by id) from mandat m),
    (select string_agg(p::text, ',' order by id) from produit p), (select count(*) from cache_outbox)) as t`);
  return rows[0]!.t;
}

/** Asserts an RFC 9457 problem with this status and returns its field errors' paths. */
function problemPaths(res: request.Response, status: number): string[] {
  expect({ status: res.status, type: res.headers['content-type'] }).toEqual({ status, type: expect.stringMatching(/^application\/problem\+json/) });
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  return ((res.body.errors ?? []) as { path: string }[]).map((e) => e.path);
}

const post = (path: string, body: unknown) => request(h.app).post(`/api/v1${path}`).set(h.auth('editor')).send(body as object);

describe('country codes', () => {
  it.each(['FRA', 'F\u0000', 'EU', 'XK', 'UK', 'fr', 'ZZ'])('refuses %j as a country with a 400 naming the field', async (country) => {
    const before = await snapshot();
    expect(problemPaths(await post('/organisations', { name: 'Country', category: 'other', country }), 400)).toEqual(['country']);
    expect(await snapshot()).toBe(before);
  });

  it.each(['FR', 'GB', 'AQ', 'BQ', 'SS'])('accepts the assigned code %s', async (country) => {
    const res = await post('/organisations', { name: `Country ${country}`, category: 'other', country });
    expect(res.status).toBe(201);
    expect(res.body.country).toBe(country);
  });
});

describe('malformed percent-encoding in the path', () => {
  it.each(['/produits/%ff', '/organisations/%C0%AF/mandats', '/mandats/%ED%A0%80', '/organisations/%zz', '/produits/%'])(
    'GET %s answers 400 problem+json', async (path) => {
      expect(problemPaths(await request(h.app).get(`/api/v1${path}`).set(h.auth('reader')), 400)).toEqual(['params']);
    },
  );

  it('a write to such a path answers 400 and writes nothing', async () => {
    const before = await snapshot();
    problemPaths(await request(h.app).patch('/api/v1/organisations/%ff').set(h.auth('editor')).send({ name: 'x' }), 400);
    problemPaths(await request(h.app).delete('/api/v1/produits/%E0%A4%A').set(h.auth('editor')), 400);
    expect(await snapshot()).toBe(before);
  });
});

describe('NUL characters and lone surrogates', () => {
  it('are refused in a search term, with the field named', async () => {
    expect(problemPaths(await request(h.app).get('/api/v1/organisations/search?q=a%00b').set(h.auth('reader')), 400)).toEqual(['query.q']);
    expect(problemPaths(await request(h.app).get('/api/v1/produits?category=x%00').set(h.auth('reader')), 400)).toEqual(['query.category']);
  });

  it('are refused in body fields and field names, and nothing is written', async () => {
    const before = await snapshot();
    expect(problemPaths(await post('/organisations', { name: 'a\u0000b', category: 'other' }), 400)).toEqual(['name']);
    expect(problemPaths(await post('/organisations', { name: 'lone \uD800 surrogate', category: 'other' }), 400)).toEqual(['name']);
    expect(problemPaths(await post('/produits', { name: 'p', category: 'x\u0000' }), 400)).toEqual(['category']);
    expect(problemPaths(await post('/organisations', { name: 'k', category: 'other', 'a\u0000': 1 }), 400)).toEqual(['(root)']);
    // The raw JSON escape, as a client would send it.
    const raw = await request(h.app).post('/api/v1/organisations').set(h.auth('editor')).type('application/json')
      .send('{"name":"x\\u0000y","category":"other","website":"https://a.b/\\udc00"}');
    expect(problemPaths(raw, 400).sort()).toEqual(['name', 'website']);
    expect(await snapshot()).toBe(before);
  });
});

describe('dates PostgreSQL cannot store', () => {
  let base: string;
  beforeAll(async () => { base = `/organisations/${(await post('/organisations', { name: 'Dated', category: 'other' })).body.id}/mandats`; });

  it('refuses year 0 on create and update, naming the field, and writes nothing', async () => {
    const before = await snapshot();
    expect(problemPaths(await post(base, { type: 'advisory', startDate: '0000-01-01' }), 400)).toEqual(['startDate']);
    expect(problemPaths(await post(base, { type: 'advisory', startDate: '2024-01-01', endDate: '0000-12-31' }), 400)).toContain('endDate');
    expect(problemPaths(await post(base, { type: 'advisory', startDate: '10000-01-01' }), 400)).toEqual(['startDate']);
    expect(problemPaths(await post(base, { type: 'advisory', startDate: '+002024-01-01' }), 400)).toEqual(['startDate']);
    expect(await snapshot()).toBe(before);
  });

  it('stores and returns the first and last dates it accepts', async () => {
    const res = await post(base, { type: 'advisory', startDate: '0001-01-01', endDate: '9999-12-31' });
    expect(res.status).toBe(201);
    const read = await request(h.app).get(`/api/v1${base}`).set(h.auth('reader'));
    expect(read.body.items).toEqual([expect.objectContaining({ id: res.body.id, startDate: '0001-01-01', endDate: '9999-12-31' })]);
  });
});

describe('PostgreSQL data errors', () => {
  it.each([
    ["select 'x'::int", '22P02'], ["select '0000-01-01'::date", '22008'], ['select 2147483647::int + 1', '22003'], ["select 'abc'::varchar(2)::char(1)::int", '22P02'],
  ])('%s is a 400, not a 500 or 503', async (sql) => {
    const error = await h.orm.em.fork().getConnection().execute(sql).then(() => undefined, (e: unknown) => e);
    expect(error).toBeDefined();
    expect(toProblem(error).status).toBe(400);
  });
});

describe('odd query strings, bodies, types and encodings', () => {
  const search = (qs: string) => request(h.app).get(`/api/v1/organisations/search?${qs}`).set(h.auth('reader'));

  it.each([['q[]=a', 'query.q[]'], ['q=a&q=b', 'query.q'], ['q=a&page[x]=1', 'query.page[x]'], ['q=a&page=1e3', 'query.page'], ['q=a&limit=-1', 'query.limit']])(
    '?%s answers 400 naming %s', async (qs, path) => {
      expect(problemPaths(await search(qs), 400)).toContain(path);
    },
  );

  it('bodies: __proto__, deep nesting, 1e400, empty, wrong charset, garbage gzip, wrong content type', async () => {
    const before = await snapshot();
    const send = (body: string | Buffer, type = 'application/json', headers: Record<string, string> = {}) =>
      request(h.app).post('/api/v1/organisations').set(h.auth('editor')).set(headers).set('Content-Type', type).send(body);
    expect(problemPaths(await send('{"name":"p","category":"other","__proto__":{"isAdmin":true}}'), 400)).toEqual(['__proto__']);
    const deep = await send(`${'['.repeat(40_000)}${']'.repeat(40_000)}`);
    problemPaths(deep, 400);
    expect(deep.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/nested more than/) })]);
    expect(problemPaths(await send('{"name":"n","category":"other","annualRevenue":1e400}'), 400)).toEqual(['annualRevenue']);
    problemPaths(await send(''), 400);
    problemPaths(await send('{}', 'application/json; charset=latin1'), 415);
    problemPaths(await send(Buffer.from('not gzip'), 'application/json', { 'Content-Encoding': 'gzip' }), 400);
    problemPaths(await send(gzipSync('{"name":'), 'application/json', { 'Content-Encoding': 'gzip' }), 400);
    problemPaths(await send('{}', 'application/json', { 'Content-Encoding': 'br;q=x' }), 415);
    problemPaths(await send('<a/>', 'text/xml'), 415);
    problemPaths(await send('{"name":"n","category":"other"}', 'application/problem+json'), 415);
    expect(await snapshot()).toBe(before);
  });
});
