/**
 * The freshness checker that runs through every phase of `npm run bench` (it mirrors
 * services/cache-worker/test/freshness.test.ts): a writer renames four organisations of its own, their names
 * carrying a version, while four readers read the views that show those names; a read started after an
 * acknowledged write must not see an older version.
 */
import { sleep } from '../util';
import type { Freshness } from './figures';
import { FRESHNESS_WRITE_MS } from './settings';

/** One JSON request (10 s at most). */
async function api(url: string, token: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** Starts the writer and the readers on the two APIs; `stop` ends them and returns what they saw. */
export async function startFreshness(orgUrl: string, peopleUrl: string, reader: string, editor: string): Promise<{ stop: () => Promise<Freshness> }> {
  const tag = `fresh${Date.now().toString(36)}`;
  const orgs: { id: number; person: number; index: number }[] = [];
  for (let i = 0; i < 4; i++) {
    const org = await api(`${orgUrl}/api/v1/organisations`, editor, 'POST', { name: `${tag}-${i}-v0`, category: 'corporate' });
    if (org.status !== 201) throw new Error(`freshness: creating an organisation gave ${org.status}: ${JSON.stringify(org.json)}`);
    const person = await api(`${peopleUrl}/api/v1/people`, editor, 'POST', { firstName: 'Fresh', lastName: `${i}`, email: `${tag}-${i}@example.com`, organisationId: org.json.id });
    if (person.status !== 201) throw new Error(`freshness: creating a person gave ${person.status}: ${JSON.stringify(person.json)}`);
    orgs.push({ id: org.json.id, person: person.json.id, index: i });
  }
  const acked = new Map<number, [number, number][]>(orgs.map((o) => [o.id, [[0, 0]]]));
  const requiredAt = (id: number, start: number) => { let v = 0; for (const [at, version] of acked.get(id)!) if (at <= start) v = version; return v; };
  const versionOf = (name: string) => Number(/-v(\d+)$/.exec(name)?.[1] ?? -1);
  const result: Freshness = { writes: 0, reads: 0, stale: 0, staleByView: {}, errors: 0, examples: [] };
  let stopping = false;
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

  const writer = async () => {
    const next = new Map(orgs.map((o) => [o.id, 0]));
    while (!stopping) {
      const o = pick(orgs);
      const version = next.get(o.id)! + 1;
      next.set(o.id, version);
      try {
        const res = await api(`${orgUrl}/api/v1/organisations/${o.id}`, editor, 'PATCH', { name: `${tag}-${o.index}-v${version}` });
        if (res.status === 200) { acked.get(o.id)!.push([performance.now(), version]); result.writes++; } else result.errors++;
      } catch { result.errors++; }
      await sleep(FRESHNESS_WRITE_MS);
    }
  };
  // Each read is one of the views that show an organisation's name: its detail, a person's embedded
  // organisation, a search (by the name's stem), a list (the newest corporate organisations come first).
  const views: { name: string; read: (o: (typeof orgs)[number]) => Promise<{ status: number; name: string | undefined }> }[] = [
    { name: 'organisation detail', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations/${o.id}`, reader); return { status: r.status, name: r.json?.name }; } },
    { name: "person's organisation", read: async (o) => { const r = await api(`${peopleUrl}/api/v1/people/${o.person}`, reader); return { status: r.status, name: r.json?.organisation?.name }; } },
    { name: 'search', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations/search?q=${tag}-${o.index}-v&limit=20`, reader); return { status: r.status, name: r.json?.items?.find((i: { id: number }) => i.id === o.id)?.name }; } },
    { name: 'list', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations?category=corporate&sort=-createdAt&limit=20`, reader); return { status: r.status, name: r.json?.items?.find((i: { id: number }) => i.id === o.id)?.name }; } },
  ];
  const readerLoop = async () => {
    while (!stopping) {
      const o = pick(orgs);
      const view = pick(views);
      const start = performance.now();
      try {
        const { status, name } = await view.read(o);
        if (status !== 200 || name === undefined) { result.errors++; continue; }
        result.reads++;
        const required = requiredAt(o.id, start);
        if (versionOf(name) < required) {
          result.stale++;
          result.staleByView[view.name] = (result.staleByView[view.name] ?? 0) + 1;
          if (result.examples.length < 5) result.examples.push(`${view.name} ${o.id}: read ${name}, v${required} acknowledged before the read`);
        }
      } catch { result.errors++; }
      await sleep(10);
    }
  };
  // Four readers: fills racing the writes are what a cache can get wrong.
  const loops = [writer(), readerLoop(), readerLoop(), readerLoop(), readerLoop()];
  return { stop: async () => { stopping = true; await Promise.all(loops); return result; } };
}
