/**
 * The page checker, half of `npm run bench`'s freshness checker (./freshness.ts): it writes organisations of
 * its own (renames one, moves one to another category, (de)activates one, creates or deletes one), and after
 * each acknowledged write reads, as a reader, the pages that hold that organisation, should now hold it or
 * should no longer hold it (lists of its old and new category, newest first; search by its old and new name),
 * pages of another category, the stats, its detail and its contact's detail. Each answer is compared with
 * PostgreSQL (./truth.ts): one served from the cache (X-Cache HIT or STALE) that differs is a stale read.
 *
 * Its organisations' names carry a marker of their own, so the mix never writes them and search terms that
 * carry it match them alone. Its writes and checks take turns, and its own rows are read before and after
 * each round of reads: a round during which they changed is read again.
 */
import { sleep } from '../util';
import { api, fromCache, type ApiAnswer } from './api';
import type { Pg } from './counters';
import type { PageChecks } from './figures';
import { FRESHNESS_PAGE_MS } from './settings';
import { baseDrift, readBase, readOwned, viewsOf, type Base, type OwnedRow, type View } from './truth';
import { CATEGORIES, type ClassName } from './workload';

/** Records one checked read (the freshness checker's tally). */
export type RecordRead = (cls: ClassName, view: string, cached: boolean, stale: boolean, example?: string) => void;

export interface PageCheckerDeps {
  orgUrl: string;
  peopleUrl: string;
  reader: string;
  editor: string;
  pg: Pg;
  /** Unique to the phase: the organisations' names start with `<tag>-p`. */
  tag: string;
  record: RecordRead;
  /** A write or a read that failed (not a wrong answer). */
  error: () => void;
}

interface Entity { key: number; id: number; person: number; version: number; name: string; category: string; isActive: boolean }
type Op = 'rename' | 'category' | 'activity' | 'create' | 'delete';

/** Organisations it starts with, and the bounds its creates and deletes stay within (under a list page's 20). */
const POOL = { start: 5, min: 3, max: 8 };
/** Rounds of reads before giving up on a write whose rows would not hold still. */
const ROUNDS = 3;
/** Reads of each page per round: the second is the one a fill that raced the write would answer. */
const READS_PER_VIEW = 2;

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;

/** Creates its organisations and starts its loop; `stop` ends it, checks the rest of the table held still, and returns its figures. */
export async function startPageChecker(deps: PageCheckerDeps): Promise<{ stop: () => Promise<PageChecks> }> {
  const { orgUrl, peopleUrl, reader, editor, pg, record, error } = deps;
  const marker = `${deps.tag}-p`;
  const views = viewsOf(marker);
  const figures: PageChecks = { writes: 0, ops: {}, checked: 0, fromCache: 0, stale: 0, retries: 0, unsettled: 0, uncachedMismatches: 0, drift: 0, examples: [] };
  const note = (line: string) => { if (figures.examples.length < 5) figures.examples.push(line.slice(0, 400)); };
  const base: Base = await readBase(pg, marker);
  const pool: Entity[] = [];
  const deleted: Entity[] = [];
  let keys = 0;

  const create = async (category: string, isActive: boolean): Promise<Entity> => {
    const key = ++keys;
    const name = `${marker}${key}-v0-`;
    const org = await api(`${orgUrl}/api/v1/organisations`, editor, 'POST', { name, category, isActive });
    if (org.status !== 201) throw new Error(`page checker: creating an organisation gave ${org.status}: ${JSON.stringify(org.json)}`);
    const person = await api(`${peopleUrl}/api/v1/people`, editor, 'POST', { firstName: 'Page', lastName: `${key}`, email: `${marker}${key}@example.com`, organisationId: org.json.id });
    if (person.status !== 201) throw new Error(`page checker: creating a person gave ${person.status}: ${JSON.stringify(person.json)}`);
    return { key, id: org.json.id, person: person.json.id, version: 0, name, category, isActive };
  };
  for (let i = 0; i < POOL.start; i++) pool.push(await create(CATEGORIES[i % CATEGORIES.length]!, i % 3 !== 2));

  const nextOp = (): Op => {
    if (pool.length <= POOL.min) return 'create';
    const ops: [Op, number][] = [['rename', 3], ['category', 2], ['activity', 2], ['delete', 1.5], ...(pool.length < POOL.max ? [['create', 1.5] as [Op, number]] : [])];
    let u = Math.random() * ops.reduce((sum, [, w]) => sum + w, 0);
    for (const [op, w] of ops) { if ((u -= w) < 0) return op; }
    return 'rename';
  };

  /** One write; the organisation before and after it (undefined: created or deleted), or nothing if it failed. */
  const write = async (op: Op): Promise<{ before?: Entity; after?: Entity } | undefined> => {
    if (op === 'create') {
      const after = await create(pick(CATEGORIES), Math.random() < 0.7);
      pool.push(after);
      return { after };
    }
    const before = pick(pool);
    if (op === 'delete') {
      const res = await api(`${orgUrl}/api/v1/organisations/${before.id}`, editor, 'DELETE');
      if (res.status !== 204) return undefined;
      pool.splice(pool.indexOf(before), 1);
      deleted.unshift(before);
      deleted.length = Math.min(deleted.length, 3);
      return { before };
    }
    const after = { ...before };
    if (op === 'rename') { after.version++; after.name = `${marker}${after.key}-v${after.version}-`; }
    if (op === 'category') after.category = pick(CATEGORIES.filter((c) => c !== before.category));
    if (op === 'activity') after.isActive = !before.isActive;
    const body = op === 'rename' ? { name: after.name } : op === 'category' ? { category: after.category } : { isActive: after.isActive };
    const res = await api(`${orgUrl}/api/v1/organisations/${before.id}`, editor, 'PATCH', body);
    if (res.status !== 200) return undefined;
    pool[pool.indexOf(before)] = after;
    return { before, after };
  };

  /** The pages that a write changed, or might have, or must not have. */
  const pagesOf = ({ before, after }: { before?: Entity; after?: Entity }): View[] => {
    const entity = (after ?? before)!;
    const categories = [...new Set([before?.category, after?.category].filter((c): c is string => c !== undefined))];
    const other = pick(CATEGORIES.filter((c) => !categories.includes(c)));
    const flip = () => Math.random() < 0.5;
    // Read again, an organisation written earlier (or deleted): its pages were filled after earlier writes.
    const earlier = pick([...pool, ...deleted]);
    return [
      ...categories.flatMap((c) => [true, false].map((active) => views.list("list of the write's category (newest first)", c, active, '-createdAt'))),
      views.list("list of the write's category (mix's page)", pick(categories), flip(), 'id'),
      views.list('list of every category (newest first)', undefined, flip(), '-createdAt'),
      views.list('list of another category (newest first)', other, flip(), '-createdAt'),
      views.list("list of another category (mix's page)", other, flip(), 'id'),
      views.search('search by the marker (every own organisation)', marker),
      ...(before && before.name !== after?.name ? [views.search('search by the old name', before.name)] : []),
      ...(after ? [views.search('search by the new name', after.name)] : []),
      views.stats(),
      views.detail(entity.id), views.person(entity.person, entity.id),
      views.detail(earlier.id), views.person(earlier.person, earlier.id),
    ];
  };

  const read = async (view: View): Promise<ApiAnswer | undefined> => {
    try {
      const answer = await api(`${view.service === 'people' ? peopleUrl : orgUrl}${view.path}`, reader);
      // Not a page's content (e.g. 503 while Redis hangs and the database is slow): an error, not a wrong answer.
      if (answer.status !== 200 && answer.status !== 404) { error(); return undefined; }
      return answer;
    } catch {
      error();
      return undefined;
    }
  };

  const judge = (view: View, answer: ApiAnswer, owned: OwnedRow[], what: string) => {
    const got = JSON.stringify(view.project(answer));
    const want = JSON.stringify(view.truth(owned, base));
    const cached = fromCache(answer.xCache);
    const wrong = got !== want;
    figures.checked++;
    if (cached) figures.fromCache++;
    if (wrong && cached) figures.stale++;
    const example = wrong ? `${view.name} ${view.path} after ${what}: ${answer.xCache} ${got}, PostgreSQL ${want}` : undefined;
    record(view.cls, view.name, cached, wrong && cached, example);
    // Read from PostgreSQL and still different: the checker's model is wrong, not the cache.
    if (wrong && !cached) figures.uncachedMismatches++;
    if (wrong) note(`${cached ? 'stale' : 'uncached'}: ${example}`);
  };

  const check = async (pages: View[], what: string) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const ownedBefore = await readOwned(pg, marker);
      const answers = await Promise.all(pages.map(async (view) => {
        const got: ApiAnswer[] = [];
        for (let i = 0; i < READS_PER_VIEW; i++) { const a = await read(view); if (a) got.push(a); }
        return got;
      }));
      const owned = await readOwned(pg, marker);
      if (JSON.stringify(owned) !== JSON.stringify(ownedBefore)) { figures.retries++; continue; }
      pages.forEach((view, i) => { for (const answer of answers[i]!) judge(view, answer, owned, what); });
      return;
    }
    figures.unsettled++;
  };

  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      const op = nextOp();
      try {
        const done = await write(op);
        if (!done) { error(); continue; }
        figures.writes++;
        figures.ops[op] = (figures.ops[op] ?? 0) + 1;
        const subject = (done.after ?? done.before)!;
        await check(pagesOf(done), `${op} of ${subject.id} (${done.before ? `${done.before.name} ${done.before.category}${done.before.isActive ? '' : ' inactive'}` : 'new'} -> ${done.after ? `${done.after.name} ${done.after.category}${done.after.isActive ? '' : ' inactive'}` : 'deleted'})`);
      } catch {
        error();
      }
      await sleep(FRESHNESS_PAGE_MS);
    }
  };
  const running = loop();

  return {
    stop: async () => {
      stopping = true;
      await running;
      try {
        const drift = baseDrift(base, await readBase(pg, marker));
        figures.drift = drift.length;
        for (const d of drift) note(`the rest of the table changed during the phase: ${d}`);
      } catch {
        error();
      }
      return figures;
    },
  };
}
