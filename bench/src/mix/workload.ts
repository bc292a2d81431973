/**
 * What `npm run bench` asks for: Zipf-distributed ids and the two APIs' mixes of route classes (90% reads,
 * 10% writes by default), each pick a method, a path and, for writes, a body.
 */
import { WRITE_PCT } from './settings';

/** Samples ranks 1..n with P(k) ∝ 1/k^s, mapped to ids by a fixed permutation (so hot ids are spread out). */
export function zipf(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) { sum += 1 / k ** s; cdf[k - 1] = sum; }
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = Math.random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
    // 7919 is prime and coprime with the table sizes: a bijection of 0..n-1.
    return ((lo * 7919) % n) + 1;
  };
}

export type ClassName = 'org detail' | 'org list' | 'org search' | 'org stats' | 'person detail' | 'person interactions'
  | 'write org name' | 'write person title' | 'write interaction';
export const READ_CLASSES: ClassName[] = ['org detail', 'org list', 'org search', 'org stats', 'person detail', 'person interactions'];

/** One request of the mix. */
export interface Pick { cls: ClassName; method: 'GET' | 'PATCH' | 'POST'; path: string; body?: string }
export type Picker = () => Pick;

/** The seeded organisations' categories, and search terms that each match thousands of names. */
export const CATEGORIES = ['institution', 'wholesale', 'advisor', 'corporate', 'other'];
export const TERMS = ['capital', 'gestion', 'partners', 'finance', 'invest'];
let writeCounter = 0;
/** Read weights below add up to 90 (organisations) and 90 (people): scaled so reads are 100 - WRITE_PCT. */
const R = (100 - WRITE_PCT) / 90;

function weighted(entries: [number, Picker][]): Picker {
  const total = entries.reduce((a, [w]) => a + w, 0);
  return () => {
    let u = Math.random() * total;
    for (const [w, p] of entries) { if ((u -= w) < 0) return p(); }
    return entries.at(-1)![1]();
  };
}

/** organisations-api's mix: detail, lists, search, stats; renames. */
export function organisationsMix(orgId: () => number): Picker {
  return weighted([
    // 90% reads (by default; BENCH_WRITE_PCT changes the split)
    [36 * R, () => ({ cls: 'org detail', method: 'GET', path: `/api/v1/organisations/${orgId()}` })],
    [24 * R, () => {
      const category = Math.random() < 0.7 ? CATEGORIES[Math.floor(Math.random() * CATEGORIES.length)] : undefined;
      const page = Math.random() < 0.8 ? 1 : 1 + Math.floor(Math.random() * 5);
      const active = Math.random() < 0.5 ? 'true' : 'false';
      return { cls: 'org list', method: 'GET', path: `/api/v1/organisations?limit=20&page=${page}&activeOnly=${active}${category ? `&category=${category}` : ''}` };
    }],
    [18 * R, () => ({ cls: 'org search', method: 'GET', path: `/api/v1/organisations/search?q=${TERMS[Math.floor(Math.random() * TERMS.length)]}&limit=20` })],
    [12 * R, () => ({ cls: 'org stats', method: 'GET', path: '/api/v1/organisations/stats' })],
    // 10% writes
    [WRITE_PCT, () => {
      const id = orgId();
      return { cls: 'write org name', method: 'PATCH', path: `/api/v1/organisations/${id}`, body: JSON.stringify({ name: `Organisation ${id} w${++writeCounter}` }) };
    }],
  ]);
}

/** people-api's mix: person detail, a person's interactions; title changes, new interactions. */
export function peopleMix(personId: () => number): Picker {
  return weighted([
    [50 * R, () => ({ cls: 'person detail', method: 'GET', path: `/api/v1/people/${personId()}` })],
    [40 * R, () => ({ cls: 'person interactions', method: 'GET', path: `/api/v1/people/${personId()}/interactions?limit=20` })],
    [WRITE_PCT / 2, () => ({ cls: 'write person title', method: 'PATCH', path: `/api/v1/people/${personId()}`, body: JSON.stringify({ title: `Title w${++writeCounter}` }) })],
    [WRITE_PCT / 2, () => ({
      cls: 'write interaction', method: 'POST', path: '/api/v1/interactions',
      body: JSON.stringify({ personId: personId(), type: 'note', subject: `bench w${++writeCounter}`, occurredAt: new Date().toISOString() }),
    })],
  ]);
}
