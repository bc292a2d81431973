/**
 * The freshness checker that runs through every phase of `npm run bench`, in two halves:
 * - the racer (it mirrors services/cache-worker/test/freshness.test.ts): a writer renames four organisations of
 *   its own, their names carrying a version, while four readers read the views that show those names; a read
 *   started after an acknowledged write must not see an older version;
 * - the page checker (./pages.ts): after each of its writes (rename, category, activity, create, delete) it
 *   reads the lists, searches, stats and details the write changed or must not have changed, and compares
 *   each answer with PostgreSQL.
 * Both count their reads per route class: checked, served from the cache, stale.
 */
import { sleep } from '../util';
import { api } from './api';
import type { Pg } from './counters';
import type { Freshness } from './figures';
import { startPageChecker } from './pages';
import { FRESHNESS_WRITE_MS } from './settings';
import type { ClassName } from './workload';

/** Starts both halves on the two APIs; `stop` ends them and returns what they saw. */
export async function startFreshness(orgUrl: string, peopleUrl: string, reader: string, editor: string, pg: Pg): Promise<{ stop: () => Promise<Freshness> }> {
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
  const result: Omit<Freshness, 'pages'> = { writes: 0, reads: 0, stale: 0, staleByView: {}, errors: 0, examples: [], byClass: {} };
  const record = (cls: ClassName, view: string, cached: boolean, stale: boolean, example?: string) => {
    result.reads++;
    const c = (result.byClass[cls] ??= { checked: 0, fromCache: 0, stale: 0 });
    c.checked++;
    if (cached) c.fromCache++;
    if (!stale) return;
    c.stale++;
    result.stale++;
    result.staleByView[view] = (result.staleByView[view] ?? 0) + 1;
    if (example && result.examples.length < 5) result.examples.push(example.slice(0, 400));
  };
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
  type Seen = { status: number; name: string | undefined; xCache: string };
  const views: { name: string; cls: ClassName; read: (o: (typeof orgs)[number]) => Promise<Seen> }[] = [
    { name: 'organisation detail', cls: 'org detail', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations/${o.id}`, reader); return { status: r.status, name: r.json?.name, xCache: r.xCache }; } },
    { name: "person's organisation", cls: 'person detail', read: async (o) => { const r = await api(`${peopleUrl}/api/v1/people/${o.person}`, reader); return { status: r.status, name: r.json?.organisation?.name, xCache: r.xCache }; } },
    { name: 'search', cls: 'org search', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations/search?q=${tag}-${o.index}-v&limit=20`, reader); return { status: r.status, name: r.json?.items?.find((i: { id: number }) => i.id === o.id)?.name, xCache: r.xCache }; } },
    { name: 'list', cls: 'org list', read: async (o) => { const r = await api(`${orgUrl}/api/v1/organisations?category=corporate&sort=-createdAt&limit=20`, reader); return { status: r.status, name: r.json?.items?.find((i: { id: number }) => i.id === o.id)?.name, xCache: r.xCache }; } },
  ];
  const readerLoop = async () => {
    while (!stopping) {
      const o = pick(orgs);
      const view = pick(views);
      const start = performance.now();
      try {
        const { status, name, xCache } = await view.read(o);
        if (status !== 200 || name === undefined) { result.errors++; continue; }
        const required = requiredAt(o.id, start);
        const stale = versionOf(name) < required;
        record(view.cls, view.name, xCache === 'HIT' || xCache === 'STALE', stale, stale ? `${view.name} ${o.id}: read ${name} (${xCache}), v${required} acknowledged before the read` : undefined);
      } catch { result.errors++; }
      await sleep(10);
    }
  };
  // The page checker after the racer's organisations: its own are the table's newest (its lists rely on it).
  const pages = await startPageChecker({ orgUrl, peopleUrl, reader, editor, pg, tag, record, error: () => { result.errors++; } });
  // Four readers: fills racing the writes are what a cache can get wrong.
  const loops = [writer(), readerLoop(), readerLoop(), readerLoop(), readerLoop()];
  return {
    stop: async () => {
      stopping = true;
      const [checks] = await Promise.all([pages.stop(), ...loops]);
      return { ...result, writes: result.writes + checks.writes, pages: checks };
    },
  };
}
