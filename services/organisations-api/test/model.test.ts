import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import type { Role } from '@crm/http';
import { truncateAll } from '@crm/database/testing';
import { keysOnEveryNode, waitFor } from '@crm/testing';
import { startHarness, type Harness } from './harness';

// A model test of the cache against PostgreSQL: fast-check generates batches of reads racing one write (create,
// update, delete of organisations and mandats), with some reads held at a point fast-check picks (before their
// database query, after it, or at their store) until the write has committed or answered, so fills do race
// writes. After each batch, every URL read so far is read again: whatever the cache serves (HIT) must equal a
// fresh read of the same URL (an admin bypasses the cache). Injected bugs it caught, each one alone: store-tags.lua
// accepting a shown tag written since the lookup; tagsForChange without the stats tag; the organisations list
// without `shows`; the organisation family without its searched field, or without its sort field (cache-tags.ts).

const CATEGORIES = ['institution', 'wholesale', 'advisor'] as const;
const WORDS = ['Alpha', 'Beta', 'Gamma', 'Delta'];
const KINDS = ['Capital', 'Partners', 'Advisors'];
/** Words and pieces of the names: 3+ letters match anywhere, 1-2 letters match the start. */
const TERMS = ['alp', 'alpha', 'bet', 'eta', 'gam', 'del', 'cap', 'partners', 'ers', 'adv', 'a', 'ga', 'zzz'];
const SORTS = ['id', '-id', 'name', '-name', 'createdAt', '-createdAt'] as const;

/** The data every run starts from: organisations over three categories (two inactive), mandats and contacts. */
const ORGANISATIONS: [string, string, boolean, number | null][] = [
  ['Alpha Capital', 'institution', true, 1000],
  ['Beta Partners', 'institution', true, null],
  ['Gamma Advisors', 'wholesale', true, 2500],
  ['Delta Capital', 'wholesale', false, 40000],
  ['Alpha Partners', 'advisor', true, 1000],
  ['Beta Advisors', 'advisor', true, 2500],
  ['Gamma Capital', 'institution', false, null],
  ['Delta Partners', 'wholesale', true, 1000],
];

// What fast-check generates.
type Read =
  | { kind: 'detail'; target: number }
  | { kind: 'list'; category: string | undefined; activeOnly: boolean; sort: string; limit: number; page: 1 | 2 | 'cursor' }
  | { kind: 'search'; q: string; sort: string; limit: number; page: number }
  | { kind: 'stats' }
  | { kind: 'mandats'; target: number; sort: string };
/** `near`: the target is one of the rows the held reads show (when they show any), so the write races them. */
interface Target { target: number; near: boolean }
type Write =
  | { kind: 'create'; name: string; category: string; isActive: boolean; annualRevenue: number | null }
  | { kind: 'update'; changes: Record<string, unknown> } & Target
  | { kind: 'delete' } & Target
  | { kind: 'createMandat'; startDate: string } & Target
  | { kind: 'updateMandat'; startDate: string } & Target
  | { kind: 'deleteMandat' } & Target;
/** Where a held read waits for the write: before its first query, after its queries so far, or before it stores. */
type HoldPoint = 'before-query' | 'after-query' | 'store';
interface Batch {
  reads: { read: Read; hold: HoldPoint | null }[];
  write: Write;
  /** When the held reads go on: once the write has committed (before it invalidates), or once it has answered. */
  release: 'commit' | 'answer';
}

const name = fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...KINDS)).map(([w, k]) => `${w} ${k}`);
const category = fc.constantFrom(...CATEGORIES);
const revenue = fc.option(fc.constantFrom(1000, 2500, 40000), { nil: null });
const website = fc.constantFrom('https://a.example', 'https://b.example');
const startDate = fc.constantFrom('2023-01-01', '2024-06-01', '2025-03-15');
/** Names move rows within a page sorted by name: those sorts come up more often. */
const sort = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('name', '-name') }, { weight: 1, arbitrary: fc.constantFrom(...SORTS) });
const limit = fc.constantFrom(2, 3);
/** Half the time a row the held reads show (a write elsewhere races none of them), else any row. */
const near = fc.boolean();

const readArb: fc.Arbitrary<Read> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('detail' as const), target: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('list' as const), category: fc.option(category, { nil: undefined }), activeOnly: fc.boolean(), sort, limit,
      page: fc.constantFrom(1 as const, 2 as const, 'cursor' as const),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('search' as const), q: fc.constantFrom(...TERMS), sort, limit, page: fc.constantFrom(1, 2) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'stats' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mandats' as const), target: fc.nat(), sort: fc.constantFrom('id', 'startDate', '-startDate') }) },
);

const writeArb: fc.Arbitrary<Write> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('create' as const), name, category, isActive: fc.boolean(), annualRevenue: revenue }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('update' as const), target: fc.nat(), near,
      // Mostly one field (a rename most often), sometimes several.
      changes: fc.oneof(
        { weight: 3, arbitrary: fc.record({ name }) },
        { weight: 4, arbitrary: fc.oneof(fc.record({ category }), fc.record({ isActive: fc.boolean() }), fc.record({ annualRevenue: revenue }), fc.record({ website })) },
        { weight: 2, arbitrary: fc.record({ name, category, isActive: fc.boolean(), annualRevenue: revenue, website }, { requiredKeys: [] }).filter((c) => Object.keys(c).length > 0) },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), target: fc.nat(), near }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('createMandat' as const), target: fc.nat(), near, startDate }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('updateMandat' as const), target: fc.nat(), near, startDate }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteMandat' as const), target: fc.nat(), near }) },
);

const holdArb: fc.Arbitrary<HoldPoint | null> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom<HoldPoint>('before-query', 'after-query', 'store') },
);

const batchArb: fc.Arbitrary<Batch> = fc.record({
  reads: fc.array(fc.record({ read: readArb, hold: holdArb }), { minLength: 1, maxLength: 4 }),
  write: writeArb,
  release: fc.constantFrom('commit' as const, 'answer' as const),
});

/** Held reads that waited, their stores refused (born invalid), cached entries checked: evidence the races happen. */
const seen = { parked: 0, refused: 0, hitsChecked: 0 };

/** A read held until `release()`; `parked` resolves once it waits at its point (a read served from the cache never does). */
class Hold {
  readonly parked: Promise<void>;
  readonly released: Promise<void>;
  park!: () => void;
  release!: () => void;
  /** Queries started and not yet answered (after-query parks once none is left). */
  inFlight = 0;
  private didPark = false;
  constructor(readonly point: HoldPoint) {
    this.parked = new Promise((resolve) => {
      this.park = () => {
        if (!this.didPark) seen.parked++;
        this.didPark = true;
        resolve();
      };
    });
    this.released = new Promise((resolve) => { this.release = resolve; });
  }
}

// Every request runs in the context of its operation id (header X-Model-Op), so the spies below know whose query
// or store they see, whatever runs concurrently.
const OP_HEADER = 'x-model-op';
const context = new AsyncLocalStorage<string>();
const holds = new Map<string, Hold>();
/** Called when the write of this operation id commits (its invalidation is about to be applied). */
let onCommit: { op: string; committed: () => void } | null = null;

let h: Harness;
let server: http.Server;
let ops = 0;

beforeAll(async () => {
  h = await startHarness({ cache: true });
  server = http.createServer((req, res) => context.run(String(req.headers[OP_HEADER] ?? ''), () => h.app(req, res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const connection = h.orm.em.getConnection();
  const execute = connection.execute.bind(connection) as (...args: unknown[]) => Promise<unknown>;
  jest.spyOn(connection, 'execute').mockImplementation((async (...args: unknown[]) => {
    const hold = holds.get(context.getStore() ?? '');
    if (hold?.point === 'before-query') {
      hold.park();
      await hold.released;
    } else if (hold?.point === 'after-query') {
      hold.inFlight++;
      try {
        return await execute(...args);
      } finally {
        if (--hold.inFlight === 0) hold.park();
        await hold.released;
      }
    }
    return execute(...args);
  }) as never); // cast: execute is generic over its result

  const cache = h.cache!;
  const store = cache.store.bind(cache);
  jest.spyOn(cache, 'store').mockImplementation(async (...args: Parameters<typeof cache.store>) => {
    const hold = holds.get(context.getStore() ?? '');
    if (hold?.point === 'store') {
      hold.park();
      await hold.released;
    }
    const result = await store(...args);
    if (hold && result.state === 'refused') seen.refused++;
    return result;
  });
  const applyEvent = cache.applyEvent.bind(cache);
  jest.spyOn(cache, 'applyEvent').mockImplementation((event) => {
    if (onCommit && onCommit.op === context.getStore()) onCommit.committed();
    return applyEvent(event);
  });
});

afterAll(async () => {
  jest.restoreAllMocks();
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
});

const send = (method: 'get' | 'post' | 'patch' | 'delete', url: string, role: Role, op = `op${++ops}`) =>
  request(server)[method](url).set(h.auth(role)).set(OP_HEADER, op);
const get = (url: string, role: Role = 'reader', op?: string) => send('get', url, role, op).then((res) => res);

/** What one run knows: every id seen (deleted ones too: their reads answer 404), the URLs read, the cursors issued. */
interface RunState {
  organisations: number[];
  mandats: number[];
  urls: Set<string>;
  cursors: Map<string, string>;
  log: string[];
}

async function reset(): Promise<RunState> {
  await truncateAll(h.orm);
  const execute = (sql: string, params: unknown[] = []) => h.orm.em.getConnection().execute<{ id: number }[]>(sql, params);
  const organisations: number[] = [];
  for (const [i, [orgName, orgCategory, isActive, annualRevenue]] of ORGANISATIONS.entries()) {
    // Creation times apart, so sorting by createdAt differs from sorting by id once organisations are created.
    const [row] = await execute(
      `insert into organisation (name, category, is_active, annual_revenue, created_at) values (?, ?, ?, ?, now() - ? * interval '1 minute') returning id`,
      [orgName, orgCategory, isActive, annualRevenue, (i % 3) + 1],
    );
    organisations.push(row!.id);
  }
  const mandats: number[] = [];
  for (const [org, date] of [[0, '2024-01-01'], [0, '2023-05-01'], [2, '2024-02-01'], [4, '2025-01-01']] as const) {
    const [row] = await execute(`insert into mandat (organisation_id, type, status, start_date) values (?, 'advisory', 'active', ?) returning id`, [organisations[org], date]);
    mandats.push(row!.id);
  }
  for (const [org, first] of [[0, 'Ann'], [0, 'Bob'], [2, 'Cid']] as const) {
    await execute(`insert into person (first_name, last_name, email, organisation_id) values (?, 'Model', ?, ?)`, [first, `${first.toLowerCase()}@model.example`, organisations[org]]);
  }
  await h.cache!.deletePrefix('');
  return { organisations, mandats, urls: new Set(), cursors: new Map(), log: [] };
}

const pick = (ids: number[], target: number) => (ids.length > 0 ? ids[target % ids.length]! : 2_000_000_000);

/** The URL of a read, given what the run knows (a cursor page needs a cursor issued for the same list). */
function urlOf(state: RunState, read: Read): { url: string; list?: string } {
  switch (read.kind) {
    case 'detail':
      return { url: `/api/v1/organisations/${pick(state.organisations, read.target)}` };
    case 'list': {
      // Every parameter explicit: two URLs never share a cache key.
      const list = `/api/v1/organisations?${read.category ? `category=${read.category}&` : ''}activeOnly=${read.activeOnly}&sort=${read.sort}&limit=${read.limit}`;
      const cursor = read.page === 'cursor' ? state.cursors.get(list) : undefined;
      return { url: cursor ? `${list}&cursor=${cursor}` : `${list}&page=${read.page === 'cursor' ? 1 : read.page}`, list };
    }
    case 'search':
      return { url: `/api/v1/organisations/search?q=${read.q}&sort=${read.sort}&limit=${read.limit}&page=${read.page}` };
    case 'stats':
      return { url: '/api/v1/organisations/stats' };
    case 'mandats':
      return { url: `/api/v1/organisations/${pick(state.organisations, read.target)}/mandats?sort=${read.sort}&limit=2&page=1` };
  }
}

/** The rows the held reads show right now, read with the cache bypassed: the targets of a `near` write. */
interface Shown { organisations: number[]; mandats: number[] }

async function shownBy(urls: string[]): Promise<Shown> {
  const shown: Shown = { organisations: [], mandats: [] };
  for (const url of urls) {
    const res = await get(url, 'admin');
    if (res.status !== 200) continue;
    const body = res.body as { id?: number; items?: { id: number }[]; mandats?: { id: number }[] };
    const ids = (rows: { id: number }[] | undefined) => (rows ?? []).map((row) => row.id);
    if (/\/mandats\?/.test(url)) shown.mandats.push(...ids(body.items));
    else if (body.items) shown.organisations.push(...ids(body.items));
    else if (body.id !== undefined) shown.organisations.push(body.id), shown.mandats.push(...ids(body.mandats));
  }
  return shown;
}

/** Sends the write; answers its status (a write to a deleted row is a 404, which changes nothing). */
async function runWrite(state: RunState, write: Write, shown: Shown, op: string): Promise<number> {
  const among = (all: number[], near: number[]) => ('target' in write ? pick(write.near && near.length > 0 ? near : all, write.target) : 0);
  const organisation = among(state.organisations, shown.organisations);
  const mandat = among(state.mandats, shown.mandats);
  const [method, url, body]: ['post' | 'patch' | 'delete', string, object?] = (() => {
    switch (write.kind) {
      case 'create': {
        const { kind: _kind, ...fields } = write;
        return ['post', '/api/v1/organisations', fields];
      }
      case 'update': return ['patch', `/api/v1/organisations/${organisation}`, write.changes];
      case 'delete': return ['delete', `/api/v1/organisations/${organisation}`];
      case 'createMandat': return ['post', `/api/v1/organisations/${organisation}/mandats`, { type: 'distribution', startDate: write.startDate }];
      case 'updateMandat': return ['patch', `/api/v1/mandats/${mandat}`, { startDate: write.startDate }];
      case 'deleteMandat': return ['delete', `/api/v1/mandats/${mandat}`];
    }
  })();
  const res = await send(method, url, 'editor', op).send(body);
  state.log.push(`  write ${method.toUpperCase()} ${url} ${body ? JSON.stringify(body) : ''} answered ${res.status}`);
  if (res.status === 201) (write.kind === 'create' ? state.organisations : state.mandats).push(res.body.id as number);
  return res.status;
}

const EXPECTED_STATUS: Record<Write['kind'], number[]> = {
  create: [201], update: [200, 404], delete: [204, 404], createMandat: [201, 404], updateMandat: [200, 404], deleteMandat: [204, 404],
};

/** Until no fill holds its lock: every store of the reads so far is done. */
const fillsDone = () => waitFor(async () => (await keysOnEveryNode(h.redis!, `${h.cache!.namespace}:*:fill`)).length === 0, 'the fills to be stored');

async function runBatch(state: RunState, batch: Batch): Promise<void> {
  // One read per URL in a batch: a second would wait for the first one's fill instead of racing.
  const reads = [...new Map(batch.reads.map(({ read, hold }) => {
    const { url, list } = urlOf(state, read);
    return [url, { url, list, hold, op: `op${++ops}` }] as const;
  })).values()];
  const held = reads.filter((r) => r.hold !== null);
  const free = reads.filter((r) => r.hold === null);
  const writeOp = `op${++ops}`;
  state.log.push(`reads ${reads.map((r) => `${r.url}${r.hold ? ` [held ${r.hold}]` : ''}`).join(', ')}; held until the write ${batch.release === 'commit' ? 'commits' : 'answers'}`);

  const shown = await shownBy(held.map((r) => r.url));
  const releaseAll = () => { for (const r of held) holds.get(r.op)?.release(); };
  try {
    // 1. The held reads start first and wait at their point (or answer from the cache).
    for (const r of held) holds.set(r.op, new Hold(r.hold!));
    const heldResponses = held.map((r) => get(r.url, 'reader', r.op));
    await Promise.all(held.map((r, i) => Promise.race([holds.get(r.op)!.parked, heldResponses[i]])));

    // 2. The write and the other reads run together; the held reads go on once the write commits or answers.
    onCommit = batch.release === 'commit' ? { op: writeOp, committed: releaseAll } : null;
    const [status, ...freeResponses] = await Promise.all([runWrite(state, batch.write, shown, writeOp), ...free.map((r) => get(r.url, 'reader', r.op))]);
    releaseAll();
    const responses = [...await Promise.all(heldResponses), ...freeResponses];
    expect(EXPECTED_STATUS[batch.write.kind]).toContain(status);

    for (const [i, r] of [...held, ...free].entries()) {
      const res = responses[i]!;
      if (res.status !== 200 && res.status !== 404) throw new Error(`${r.url} answered ${res.status}: ${res.text}`);
      state.urls.add(r.url);
      if (r.list && typeof res.body.nextCursor === 'string') state.cursors.set(r.list, res.body.nextCursor);
    }
  } finally {
    releaseAll();
    onCommit = null;
    for (const r of held) holds.delete(r.op);
  }
  await fillsDone();

  // 3. The write has answered: every response the cache serves now equals what PostgreSQL holds.
  for (const url of state.urls) {
    const served = await get(url);
    if (served.headers['x-cache'] !== 'HIT') continue;
    seen.hitsChecked++;
    const fresh = await get(url, 'admin');
    expect(fresh.headers['x-cache']).toBe('BYPASS');
    try {
      expect({ url, status: served.status, body: served.body }).toEqual({ url, status: fresh.status, body: fresh.body });
    } catch (error) {
      (error as Error).message += `\n\nAfter:\n${state.log.join('\n')}`;
      throw error;
    }
  }
  await fillsDone();
}

describe('the cache against a model: PostgreSQL', () => {
  it('serves from the cache only what a fresh read of PostgreSQL answers, whatever reads race the writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 6 }), async (batches) => {
        const state = await reset();
        for (const batch of batches) await runBatch(state, batch);
      }),
      // A failure's shrinking replays whole runs: bounded, it still reports the smallest failure found so far.
      { numRuns: 50, interruptAfterTimeLimit: 90_000 },
    );
    // The races were real: held reads waited for writes, some of their stores were refused (born invalid), and
    // cached entries were checked.
    expect(seen.parked).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.hitsChecked).toBeGreaterThan(0);
  }, 150_000);
});
