/**
 * Property-based fuzzing of an API over every route its OpenAPI document lists (tests only; never shipped).
 * Each request is mostly well formed with a few hostile parts, so it reaches the handlers and the database, not
 * only the validation. The properties: no 5xx; every 4xx is problem+json; a 4xx writes nothing.
 * Longer than most files (about 340 lines) on purpose: the hostile-value generators and the one property that uses
 * them read best side by side; split, each half would need the other to be understood.
 */
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { answerClientErrors } from '../src/server';

/** The base seed; each route runs with `seed + its index`, so one failing route reproduces on its own. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_261_204);
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 20);

type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Role = 'reader' | 'editor' | 'admin';

interface Parameter {
  name: string;
  in: 'path' | 'query';
  schema: Schema;
}

/** One documented operation. */
export interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete' | 'put';
  path: string;
  parameters: Parameter[];
  body?: Schema;
}

/** One generated request, printed as the counterexample when a property fails. */
export interface FuzzRequest {
  method: Operation['method'];
  url: string;
  auth: Role | 'none' | 'garbage';
  headers: Record<string, string>;
  contentType?: string;
  body?: string;
}

export interface FuzzTarget {
  app: Express;
  tokens: Record<Role, string>;
  /** Puts the database back to known rows (ids 1, 2, 3 ...) before each route, so ids in paths hit real rows. */
  reset: () => Promise<void>;
  /** A digest of every table's rows, the outbox included: equal before and after means nothing was written. */
  snapshot: () => Promise<string>;
}

export interface FuzzReport {
  operations: string[];
  statuses: Record<number, number>;
}

const METHODS = ['get', 'post', 'patch', 'delete', 'put'] as const;

/** The operations of the app's own `/openapi.json`, so a new route is fuzzed without anyone listing it. */
export async function operationsOf(app: Express): Promise<Operation[]> {
  const res = await request(app).get('/openapi.json');
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(res.body.paths as Record<string, Schema>)) {
    for (const method of METHODS) {
      const op = item[method] as Schema | undefined;
      if (!op) continue;
      operations.push({ method, path, parameters: (op.parameters ?? []) as Parameter[], body: op.requestBody?.content?.['application/json']?.schema });
    }
  }
  return operations;
}

/** Percent-encodes every UTF-16 unit, lone surrogates included (as WTF-8 bytes, which are not valid UTF-8). */
export function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const bytes = cp >= 0xd800 && cp <= 0xdfff ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)] : [...Buffer.from(ch, 'utf8')];
    out += /^[A-Za-z0-9\-_.~]$/.test(ch) ? ch : bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\uD800', 'x\uDFFF', '\uDBFF\uDBFF', '\uFEFF', '\u202Eevil', 'e\u0301\u0301\u0301', '🚀'.repeat(80),
  'ＡＢＣ', 'null', 'true', 'NaN', '-1', '1e400', '0x10', '__proto__', "'; drop table organisation; --", "' or 1=1 --", '%', '%00', '%ff', '\\',
  '\\u0000', '_%_', '${7*7}', '<script>alert(1)</script>', '../../etc/passwd', '\r\nX-Injected: 1', 'é'.repeat(256), 'x'.repeat(101),
];
const RAW_PATH_GARBAGE = ['%ff', '%', '%zz', '%C0%AF', '%ED%A0%80', '%E0%A4%A', '%00', '..%2F..', '1%2F2', '-1', '0', '1e3', '0x1', '1.5', '%201', '99999999999999999999', '2147483648'];
const UNKNOWN_KEYS = ['__proto__', 'constructor', 'surprise', 'id', 'createdAt', 'q[]', 'page[x]', 'a.b', ''];

/** `arbitrary` one time in `1 + odds`, else `otherwise`: hostile parts stay rare enough for requests to reach the database. */
function rarely<T, U>(arbitrary: fc.Arbitrary<T>, odds: number, otherwise: U): fc.Arbitrary<T | U> {
  return fc.oneof({ weight: odds, arbitrary: fc.constant(otherwise) }, { weight: 1, arbitrary });
}

/** Hostile strings: a fixed list of known troublemakers, arbitrary UTF-16 units (lone surrogates included), huge ones. */
const hostileString = (): fc.Arbitrary<string> => fc.oneof(
  // What PostgreSQL refuses, often: a NUL that reaches a statement breaks it (it answered 503 before validation caught it).
  { weight: 3, arbitrary: fc.constantFrom('\u0000', 'a\u0000b', 'Org\u0000', '\uD800', 'x\uDFFF') },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(10_000, 70_000).map((n) => 'y'.repeat(n)) },
);

const hostileNumber = (): fc.Arbitrary<number> => fc.oneof(
  fc.constantFrom(-1, 0, -0, 0.5, 1.5, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 2, 1e15, 1e16, 1e308, 5e-324, -1e308, Number.MAX_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Anything a field should not be: hostile strings and numbers, and the wrong JSON types. */
const hostileValue = (): fc.Arbitrary<unknown> => fc.oneof(
  { weight: 3, arbitrary: hostileString() },
  { weight: 2, arbitrary: hostileNumber() },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [1, 'a'], { a: { b: ['\u0000'] } }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Values of the shape a JSON schema describes, biased toward what exists (small ids, assigned codes). */
function validOf(s: Schema): fc.Arbitrary<unknown> {
  const alternatives = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map(validOf));
  if (Array.isArray(s.type)) return fc.oneof(...(s.type as string[]).map((type) => validOf({ ...s, type })));
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  switch (s.type) {
    case 'null': return fc.constant(null);
    case 'boolean': return fc.boolean();
    case 'integer': {
      const min = Math.max(s.minimum ?? -1e6, -1e12);
      const max = Math.min(s.maximum ?? 1e6, 1e12);
      return fc.oneof(fc.integer({ min: Math.max(min, 1), max: Math.max(Math.min(max, 4), Math.max(min, 1)) }), fc.integer({ min, max }));
    }
    case 'number': return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'array': return fc.array(validOf((s.items ?? {}) as Schema), { maxLength: 3 });
    case 'object': return objectOf(s);
    case 'string': return stringOf(s);
    default: return hostileValue();
  }
}

const SAMPLES = ['1', '2', '3', '10', 'FR', 'GB', 'US', 'DE', 'FR0010315770', 'equity', 'organisations', 'organisations:detail'];
const FIRST_DAY = new Date('0001-01-01T00:00:00.000Z');
const LAST_INSTANT = new Date('9999-12-31T23:59:59.999Z');

function stringOf(s: Schema): fc.Arbitrary<string> {
  const instant = fc.date({ min: FIRST_DAY, max: LAST_INSTANT, noInvalidDate: true });
  switch (s.format) {
    case 'date': return instant.map((d) => d.toISOString().slice(0, 10));
    case 'date-time': return instant.map((d) => d.toISOString());
    case 'email': return fc.oneof(fc.nat().map((n) => `user${n}@example.com`), fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 255)));
    case 'uri': return fc.webUrl().filter((u) => u.length <= (s.maxLength ?? 255));
    default: break;
  }
  if (typeof s.pattern === 'string') {
    const re = new RegExp(s.pattern);
    const samples = SAMPLES.filter((x) => re.test(x));
    return samples.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...samples) }, { weight: 1, arbitrary: fc.stringMatching(re) }) : fc.stringMatching(re);
  }
  return fc.string({ unit: 'grapheme', minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
}

function objectOf(s: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties = (s.properties ?? {}) as Record<string, Schema>;
  const model = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, validOf(v)]));
  return fc.record(model, { requiredKeys: ((s.required ?? []) as string[]).filter((k) => k in model) }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Sets a key as an own property, `__proto__` included, so JSON.stringify sends it. */
function withField(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  return Object.defineProperty({ ...object }, key, { value, enumerable: true, writable: true, configurable: true });
}

const RAW_BODIES = [
  '', '{', '}', 'null', '[]', '"x"', '1e400', '{"a":1e400}', '{"annualRevenue":-1e400}', '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"x":1}}}', `${'['.repeat(20_000)}${']'.repeat(20_000)}`, `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
  '{"name":"\\u0000"}', '{"name":"\\ud800"}', '\uFEFF{}', '{"a":1,"a":2}', '{"name":"x"} trailing', 'x'.repeat(120_000),
];
const CONTENT_TYPES = [
  'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'text/plain',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/merge-patch+json', 'application/json;;;', 'APPLICATION/JSON',
];

/** A body: mostly the documented shape with up to two hostile or unknown fields, else raw garbage or the wrong type. */
function bodyOf(schema: Schema | undefined): fc.Arbitrary<{ body?: string; contentType?: string }> {
  const json = fc.constantFrom('application/json', 'application/json; charset=utf-8');
  const keys = Object.keys((schema?.properties ?? {}) as object);
  const shaped = schema
    ? fc.tuple(validOf(schema), rarely(fc.array(fc.tuple(fc.constantFrom(...keys, ...UNKNOWN_KEYS), hostileValue()), { minLength: 1, maxLength: 2 }), 1, []))
      .map(([value, changes]) => changes.reduce<unknown>((o, [k, v]) => (o && typeof o === 'object' ? withField(o as Record<string, unknown>, k, v) : o), value))
    : hostileValue();
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ body: shaped.map((v) => JSON.stringify(v) ?? 'null'), contentType: json }) },
    { weight: 1, arbitrary: fc.record({ body: hostileValue().map((v) => JSON.stringify(v) ?? 'null'), contentType: json }) },
    { weight: 1, arbitrary: fc.record({ body: fc.constantFrom(...RAW_BODIES), contentType: json }) },
    { weight: 1, arbitrary: fc.record({ body: shaped.map((v) => JSON.stringify(v) ?? 'null'), contentType: fc.constantFrom(...CONTENT_TYPES) }) },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

/** A query string: documented parameters (valid or hostile), unknown or repeated ones, and raw bad encoding. */
function queryOf(parameters: Parameter[]): fc.Arbitrary<string> {
  const documented = parameters.map((p) => rarely(
    fc.oneof({ weight: 5, arbitrary: validOf(p.schema).map(String) }, { weight: 1, arbitrary: hostileString() })
      .map((v) => `${p.name}=${percentEncode(v)}`),
    1,
    undefined,
  ));
  const extra = fc.oneof(
    fc.constantFrom(...UNKNOWN_KEYS).chain((k) => hostileString().map((v) => `${percentEncode(k)}=${percentEncode(v)}`)),
    fc.constantFrom(...parameters.map((p) => p.name), 'q').map((k) => `${k}=a&${k}=b`),
    fc.constantFrom(...RAW_PATH_GARBAGE).map((g) => `${parameters[0]?.name ?? 'x'}=${g}`),
  );
  return fc.tuple(fc.tuple(...documented), rarely(extra, 4, undefined))
    .map(([parts, more]) => [...parts, more].filter((p): p is string => typeof p === 'string').join('&'));
}

const HEADERS = fc.record({
  'If-None-Match': fc.constantFrom('*', '"x"', 'W/"\u00ff"', '""""', 'garbage'),
  Accept: fc.constantFrom('application/xml', '*/*', ';;;', 'application/problem+json'),
  'Content-Encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus'),
  Cookie: fc.constantFrom('crm_page_token=%E0%A4%A', 'a=%ff; b', '=;=;'),
  'X-Forwarded-For': fc.constantFrom('not-an-ip', '::ffff:999.1.1.1', '1.1.1.1, 2.2.2.2'),
  'X-Long': fc.constant('h'.repeat(8_000)),
}, { requiredKeys: [] });

/** Every request the fuzzer may send to one operation. */
export function requestsFor(op: Operation): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const paramValues = fc.tuple(...pathParams.map(() => fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }).map(String) },
    { weight: 1, arbitrary: hostileString().map(percentEncode) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_PATH_GARBAGE) },
  )));
  const hasBody = op.body !== undefined || op.method === 'post' || op.method === 'patch';
  return fc.record({
    params: paramValues,
    query: queryOf(op.parameters.filter((p) => p.in === 'query')),
    body: hasBody ? bodyOf(op.body) : rarely(bodyOf(undefined), 7, {}),
    auth: fc.oneof({ weight: 8, arbitrary: fc.constantFrom<Role>('reader', 'editor', 'admin') }, { weight: 1, arbitrary: fc.constantFrom('none' as const, 'garbage' as const) }),
    headers: rarely(HEADERS, 4, {}),
  }).map(({ params, query, body, auth, headers }) => {
    let i = 0;
    const path = op.path.replace(/\{\w+\}/g, () => params[i++] ?? '1');
    const r: FuzzRequest = { method: op.method, url: query ? `${path}?${query}` : path, auth, headers: headers as Record<string, string>, ...body };
    // A counterexample with a 70 kB string would bury the failure: print long strings shortened.
    return Object.defineProperty(r, fc.toStringMethod, { value: () => JSON.stringify(r, (_k, v: unknown) => shorten(v)) });
  });
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' && value.length > 200 ? `${value.slice(0, 100)}…(${value.length} characters)` : value;
}

/** Sends a generated request; a garbage token is well formed enough to reach the verifier. */
export function send(server: Server, r: FuzzRequest, tokens: Record<Role, string>): Promise<request.Response> {
  let req = request(server)[r.method](r.url).set(r.headers);
  if (r.auth === 'garbage') req = req.set('Authorization', 'Bearer a.b.c');
  else if (r.auth !== 'none') req = req.set('Authorization', `Bearer ${tokens[r.auth]}`);
  if (r.contentType !== undefined) req = req.set('Content-Type', r.contentType);
  return r.body !== undefined ? req.send(r.body) : req;
}

/** What a client must see: never a 5xx, and every 4xx an RFC 9457 problem. Returns why not, or undefined. */
export function contractViolation(res: request.Response): string | undefined {
  if (res.status >= 500) return `answered ${res.status}: ${JSON.stringify(res.body)}`;
  if (res.status < 400) return undefined;
  if (!/^application\/problem\+json/.test(res.headers['content-type'] ?? '')) return `${res.status} with content type ${res.headers['content-type']}`;
  const { type, title, status, detail } = res.body as Record<string, unknown>;
  if (typeof type !== 'string' || typeof title !== 'string' || typeof detail !== 'string' || status !== res.status) {
    return `${res.status} with a problem body lacking type, title, status or detail: ${JSON.stringify(res.body)}`;
  }
  return undefined;
}

/**
 * Runs `runs` seeded requests against every documented operation, resetting the data before each. Throws on the
 * first request that breaks a property, with the route, the seed to reproduce it, and the request.
 */
export async function fuzzEveryRoute(target: FuzzTarget, options: { seed?: number; runs?: number } = {}): Promise<FuzzReport> {
  const seed = options.seed ?? FUZZ_SEED;
  const operations = await operationsOf(target.app);
  const statuses: Record<number, number> = {};
  // A server set up as `serve` sets it up, so what Node itself refuses (headers over 16 kB) is covered too.
  const server = createServer(target.app);
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    for (const [index, op] of operations.entries()) {
      try {
        await fuzzOperation(target, server, op, { seed: seed + index, runs: options.runs ?? FUZZ_RUNS }, statuses);
      } catch (error) {
        const cause = (error as Error).cause instanceof Error ? `\nCause: ${((error as Error).cause as Error).message}` : '';
        throw new Error(`${op.method.toUpperCase()} ${op.path} failed; reproduce with FUZZ_SEED=${seed}.\n${(error as Error).message}${cause}`);
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return { operations: operations.map((op) => `${op.method.toUpperCase()} ${op.path}`), statuses };
}

/** One operation's seeded runs, from freshly reset data. */
async function fuzzOperation(target: FuzzTarget, server: Server, op: Operation, run: { seed: number; runs: number }, statuses: Record<number, number>): Promise<void> {
  await target.reset();
  // Nothing else writes meanwhile, so the state after one request is the state before the next: one digest each.
  let before = await target.snapshot();
  const property = fc.asyncProperty(requestsFor(op), async (r) => {
    const res = await send(server, r, target.tokens);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    const violation = contractViolation(res);
    if (violation) throw new Error(violation);
    const after = await target.snapshot();
    // Only a 2xx may write; a refused request leaves every row and the outbox as they were (no partial write).
    if (res.status >= 400 && after !== before) throw new Error(`answered ${res.status} but changed the data`);
    before = after;
  });
  await fc.assert(property, { seed: run.seed, numRuns: run.runs, endOnFailure: true });
}

/**
 * A digest of every table in the schema (migration bookkeeping aside), for `FuzzTarget.snapshot`: the tables are
 * listed once, so a table added later is covered without anyone naming it.
 */
export function tableDigest(execute: (sql: string) => Promise<Record<string, unknown>[]>): () => Promise<string> {
  let query: Promise<string> | undefined;
  const build = async () => {
    const rows = await execute("select tablename from pg_tables where schemaname = 'public' and tablename not like 'mikro_orm%' order by tablename");
    const parts = rows.map(({ tablename }) => `(select '${String(tablename)}:' || count(*) || ':' || coalesce(md5(string_agg(r::text, ',' order by r::text)), '') from "${String(tablename)}" r)`);
    return `select concat_ws('|', ${parts.join(', ')}) as digest`;
  };
  return async () => {
    const [row] = await execute(await (query ??= build()));
    return String(row?.digest);
  };
}
