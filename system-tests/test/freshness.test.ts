import request from 'supertest';
import { freshnessSubjects, startStack, type Stack } from './stack';

// The contract's freshness property under concurrency: once a write has answered 2xx, no read that starts
// afterwards, on either API and any replica, returns older data, embedded views included.
/** It runs at least this long, and until it has done enough writes and reads (a loaded machine is slower), within LIMIT_MS. */
const DURATION_MS = 4_000;
const LIMIT_MS = 40_000;
const MIN_WRITES = 20;
const MIN_READS = 100;
const ORGANISATIONS = 4;
const WRITERS = 2;
const READERS = 6;

let s: Stack;
beforeAll(async () => {
  s = await startStack({ replicas: 2 });
});
afterAll(() => s.close());

/** Names carry their version: `org<i>-v<n>`. */
const versionOf = (name: string) => Number(/-v(\d+)$/.exec(name)?.[1] ?? -1);
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

it('no read started after an acknowledged write returns older data, across 2 replicas of each API, for several seconds', async () => {
  const { organisationIds, personOf, acknowledge, requiredAt } = await freshnessSubjects(s, ORGANISATIONS);

  const violations: string[] = [];
  const stats = { writes: 0, reads: 0, hits: 0 };
  const started = performance.now();
  const going = () => {
    const elapsed = performance.now() - started;
    return elapsed < LIMIT_MS && (elapsed < DURATION_MS || stats.writes <= MIN_WRITES || stats.reads <= MIN_READS);
  };
  const check = (id: number, name: string, start: number, where: string) => {
    const required = requiredAt(id, start);
    if (versionOf(name) < required) violations.push(`${where}: organisation ${id} read ${name}, but v${required} was acknowledged before the read started`);
  };

  // Each writer owns some organisations, so an organisation's versions are acknowledged in order.
  const writer = async (w: number) => {
    const mine = organisationIds.filter((_, i) => i % WRITERS === w);
    const next = new Map(mine.map((id) => [id, 0]));
    while (going()) {
      const id = pick(mine);
      const version = next.get(id)! + 1;
      next.set(id, version);
      const res = await request(pick(s.organisations).app).patch(`/api/v1/organisations/${id}`).set(s.auth('editor')).send({ name: `org${organisationIds.indexOf(id)}-v${version}` });
      if (res.status !== 200) throw new Error(`write failed: ${res.status}`);
      acknowledge(id, version);
      stats.writes++;
    }
  };

  const reader = async () => {
    while (going()) {
      const id = pick(organisationIds);
      const kind = pick(['detail', 'person', 'list', 'search'] as const);
      const start = performance.now();
      const res = kind === 'detail' ? await request(pick(s.organisations).app).get(`/api/v1/organisations/${id}`).set(s.auth('reader'))
        : kind === 'person' ? await request(pick(s.people).app).get(`/api/v1/people/${personOf.get(id)}`).set(s.auth('reader'))
        : kind === 'list' ? await request(pick(s.organisations).app).get('/api/v1/organisations?limit=100').set(s.auth('reader'))
        : await request(pick(s.organisations).app).get('/api/v1/organisations/search?q=org&limit=100').set(s.auth('reader'));
      if (res.status !== 200) throw new Error(`read failed: ${res.status}`);
      stats.reads++;
      if (res.headers['x-cache'] === 'HIT') stats.hits++;
      if (kind === 'detail') check(id, res.body.name, start, 'organisation detail');
      if (kind === 'person') check(id, res.body.organisation.name, start, "person's embedded organisation");
      if (kind === 'list' || kind === 'search') {
        for (const item of res.body.items as { id: number; name: string }[]) check(item.id, item.name, start, `organisation ${kind}`);
      }
    }
  };

  await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: READERS }, reader)]);
  // Printed so a run shows how much it exercised.
  process.stdout.write(`freshness: ${stats.writes} writes, ${stats.reads} reads (${stats.hits} hits), ${violations.length} violations\n`);
  expect(violations).toEqual([]);
  expect(stats.writes).toBeGreaterThan(MIN_WRITES);
  expect(stats.reads).toBeGreaterThan(MIN_READS);
  expect(stats.hits).toBeGreaterThan(0);
}, LIMIT_MS + 20_000);
