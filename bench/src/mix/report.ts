/**
 * What `npm run bench` writes: the figures of each phase, the verdicts against the seed guide's and the
 * issue's targets, as JSON (docs/benchmarks/bench.json), markdown (bench.md, also printed) and a chart (bench.svg).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { OUT_DIR, ROOT, TRACING } from '../environment';
import { log } from '../util';
import { SWEEP_CLASSES, type PhaseResult } from './figures';
import { CONNECTION_USERS, DURATION, FRESHNESS_PAGE_MS, FRESHNESS_WRITE_MS, ORG_CONNECTIONS, OUT_NAME, PEOPLE_CONNECTIONS, SWEEP_SECONDS, WARMUP, WRITE_PCT, ZIPF_S } from './settings';
import { READ_CLASSES } from './workload';

/** Writes <OUT_NAME>.{svg,json,md}, prints the markdown and the run's total time (from `started`). */
export function writeReport(phases: PhaseResult[], data: Record<string, number>, started: number): void {
  const results = verdicts(phases);
  const settings: Settings = { writePercent: WRITE_PCT, warmupSeconds: WARMUP, durationSeconds: DURATION, orgConnections: ORG_CONNECTIONS, peopleConnections: PEOPLE_CONNECTIONS, zipfS: ZIPF_S, tracing: TRACING, data };
  const md = markdown(phases, results, settings, NOTE);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.svg`), chart(phases, `npm run bench · ${new Date().toISOString().slice(0, 16)}Z · ${WRITE_PCT}% writes · ${DURATION} s per phase`));
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.json`), `${JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { ...settings, freshnessWritePauseMs: FRESHNESS_WRITE_MS, freshnessPagePauseMs: FRESHNESS_PAGE_MS, connectionUsers: CONNECTION_USERS, sweepSeconds: SWEEP_SECONDS },
    phases, targets: results,
  }, null, 2)}\n`);
  writeFileSync(join(OUT_DIR, `${OUT_NAME}.md`), md);
  log('');
  log(md);
  log(`written: ${['json', 'md', 'svg'].map((e) => relative(ROOT, join(OUT_DIR, `${OUT_NAME}.${e}`))).join(', ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const NOTE = [
  'DB load is PostgreSQL\'s `pg_stat_database` (xact_commit + xact_rollback, every autocommit statement being a transaction; tup_returned, the rows scans read; tup_fetched, the rows index scans fetched) for the bench database over the measured window, including the freshness checker and the worker; per request divides it by the mix\'s requests. It is not split by route class: PostgreSQL counts per database.',
  'The freshness checker reads, after its own writes, the details, lists, searches and stats those writes changed or must not have changed, and compares each answer with PostgreSQL (its own organisations read by one indexed statement, the rest of the table counted before the phase); an answer served from the cache (X-Cache HIT or STALE) that differs is a stale read. Its racer also checks that no read started after a rename shows an older name.',
  'Hit rate counts X-Cache on the mix\'s reads (HIT / (HIT + MISS + STALE)); the repeat ceiling is the share of measured reads whose URL had been read before in the same phase (warm-up included): no cache without prefetching can hit more.',
  'Per-class req/s in a closed-loop mix follows the mix weights, so per-class ratios track the overall one; the read-only sweep measures list, search and stats alone (32 connections, a few URLs each, after one second of fills).',
  'apicache and bentocache are wired into the same routes with the same tags and the same write path (bench/src/peers.ts), each as its documentation shows; the worker\'s warm-up runs for them too.',
  'The outage phases stop our cache Redis (own redis-server) for the middle third of the measured window: SIGSTOP (a hung server) or SIGKILL and a restart, empty.',
  'Our cache\'s invalidation figures are the increase of the services\' /metrics over the measured window (the sweep included): tags invalidated per write counts, per applied event, its tags that had a token (an entry may depend on them; the cache keeps no reverse index, so a tag stands for the entries stored under it), p99 as its histogram bucket\'s upper bound; refills are the worker\'s read-driven refill targets enqueued, those that read the database and stored an entry (a target a client had filled already is a hit), those a client read before the next write (both APIs) and those invalidated unread. The dependency index is counted at the end of the phase by SCAN of the tags\' slot: tag tokens and reader logs, each with MEMORY USAGE of up to 1,000 extrapolated.',
  'The connection phase holds one keep-alive connection per user, reading details with 45-60 s think time (autocannon cannot open more connections than requests per second).',
].join(' ');

/** The run's settings, as the markdown states them. */
export interface Settings {
  writePercent: number; warmupSeconds: number; durationSeconds: number; orgConnections: number; peopleConnections: number;
  zipfS: number; tracing: boolean; data: Record<string, number>;
}

export interface Verdict { name: string; value: string; target: string; detail: string; pass: boolean | null }

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** `31.5% of 52.0% (0.61)`: a hit rate, its repeat ceiling and their ratio; `- of 52.0%` without a cache. */
const ofCeiling = (hit: number | null, ceiling: number) => `${hit === null ? '-' : pct(hit)} of ${pct(ceiling)}${hit !== null && ceiling > 0 ? ` (${(hit / ceiling).toFixed(2)})` : ''}`;
const n = (x: number) => x.toLocaleString('en');
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** The targets of issue 6 and the seed guide, each with its figure and ratio; pass null = for information. */
export function verdicts(phases: PhaseResult[]): Verdict[] {
  const none = phases.find((p) => p.cache === 'none' && !p.connections);
  const ours = phases.find((p) => p.cache === 'ours' && !p.outage && !p.connections);
  const out: Verdict[] = [];
  if (ours?.hitRate != null) {
    out.push({ name: 'hit rate on the mix (ours)', value: pct(ours.hitRate), target: '>= 95% (seed: 90%+)', detail: `${(ours.hitRate / 0.95).toFixed(2)}x of target; ${pct(ours.repeatShare)} of the reads repeated a URL read earlier in the phase (the ceiling without prefetch)`, pass: ours.hitRate >= 0.95 });
    // Issue 16: the hit rate against what any cache without prefetching could hit, overall, for lists and for search.
    const ofCeiling: [string, number | undefined, number | undefined, number][] = [
      ['the mix', ours.hitRate, ours.repeatShare, 0.95],
      ...(['org list', 'org search'] as const).map((cls): [string, number | undefined, number | undefined, number] => [cls, ours.classes[cls]?.hitRate, ours.classes[cls]?.repeatShare, 0.9]),
    ];
    for (const [what, hit, ceiling, target] of ofCeiling) {
      if (hit === undefined || !ceiling) continue;
      out.push({ name: `hit rate / repeat ceiling, ${what} (ours)`, value: (hit / ceiling).toFixed(2), target: `>= ${target.toFixed(2)}`, detail: `${pct(hit)} of ${pct(ceiling)}`, pass: hit / ceiling >= target });
    }
  }
  for (const p of phases.filter((x) => (x.cache === 'apicache' || x.cache === 'bentocache') && x.hitRate != null)) {
    out.push({ name: `hit rate on the mix (${p.phase})`, value: pct(p.hitRate!), target: 'for comparison', detail: `repeat ceiling ${pct(p.repeatShare)}`, pass: null });
  }
  if (none && ours) {
    const share = ours.dbTransactionsPerSecond / Math.max(1, none.dbTransactionsPerSecond);
    out.push({ name: 'DB transactions/s, ours / no cache', value: pct(share), target: '<= 5%', detail: `${n(ours.dbTransactionsPerSecond)} vs ${n(none.dbTransactionsPerSecond)}/s (ours serves ${(ours.rps / Math.max(1, none.rps)).toFixed(1)}x the requests)`, pass: share <= 0.05 });
    const xacts = ours.dbTransactionsPerRequest / Math.max(1e-9, none.dbTransactionsPerRequest);
    out.push({ name: 'DB transactions per request, ours / no cache', value: pct(xacts), target: '<= 5%', detail: `${ours.dbTransactionsPerRequest.toFixed(3)} vs ${none.dbTransactionsPerRequest.toFixed(3)}`, pass: xacts <= 0.05 });
    const firstTime = 1 - ours.repeatShare;
    out.push({ name: 'DB transactions per request, ours / no cache, against first-time reads', value: pct(xacts), target: `<= first-time reads + 10 points (${pct(firstTime + 0.1)})`, detail: `${pct(firstTime)} of the reads were first-time reads`, pass: xacts <= firstTime + 0.1 });
    out.push({ name: 'DB tuples returned per request (ours)', value: n(ours.dbTuplesReturnedPerRequest), target: '<= 1,650 (1/20 of the 33,000-45,000 issue 16 measured)', detail: `no cache ${n(none.dbTuplesReturnedPerRequest)} (ours ${pct(ours.dbTuplesReturnedPerRequest / Math.max(1, none.dbTuplesReturnedPerRequest))} of it); tuples fetched ${n(ours.dbTuplesFetchedPerRequest)} vs ${n(none.dbTuplesFetchedPerRequest)}`, pass: ours.dbTuplesReturnedPerRequest <= 1650 });
    const detailNone = none.classes['org detail'];
    const detailHit = ours.classes['org detail']?.hits;
    if (detailNone && detailHit) {
      const ratio = detailNone.p50Ms / Math.max(0.1, detailHit.p50Ms);
      out.push({ name: 'GET organisation detail p50: no cache -> cached hit (seed: 500 ms -> 50 ms)', value: `${detailNone.p50Ms} -> ${detailHit.p50Ms} ms`, target: '>= 10x faster', detail: `${ratio.toFixed(1)}x; p99 ${detailNone.p99Ms} -> ${detailHit.p99Ms} ms`, pass: ratio >= 10 });
    }
    for (const cls of SWEEP_CLASSES) {
      const a = ours.sweep?.[cls];
      const b = none.sweep?.[cls];
      if (!a || !b) continue;
      const ratio = a.rps / Math.max(1, b.rps);
      out.push({ name: `${cls}, read-only sweep: req/s ours / no cache`, value: `${ratio.toFixed(1)}x`, target: '>= 10x', detail: `${n(a.rps)} vs ${n(b.rps)} req/s; in the mix ${ours.classes[cls]?.rps ?? 0} vs ${none.classes[cls]?.rps ?? 0}`, pass: ratio >= 10 });
    }
  }
  for (const p of phases.filter((x) => x.outage)) {
    const o = p.outage!;
    const errs = o.non2xx + o.errors;
    out.push({ name: `errors while the cache Redis was ${o.kind === 'hang' ? 'hung (SIGSTOP)' : 'killed'} (${p.phase})`, value: n(errs), target: '0', detail: `${n(o.requests)} requests started in the ${o.seconds} s window, p99 ${o.p99Ms} ms, max ${o.maxMs} ms; whole phase ${p.errors + p.timeouts + p.non2xx} errors`, pass: errs === 0 && p.errors + p.timeouts + p.non2xx === 0 });
  }
  for (const p of phases.filter((x) => x.connections)) {
    const c = p.connections!;
    const errs = c.errors + c.timeouts + c.non2xx;
    out.push({ name: `${n(c.users)} keep-alive connections (seed: 100 -> 10,000 users)`, value: `${n(c.establishedAtEnd)} held, ${n(errs)} errors`, target: `${n(c.users)} held, 0 errors`, detail: `${n(c.requests)} requests at ${n(Math.round(c.rps))} req/s, p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms, hit rate ${c.hitRate == null ? '-' : pct(c.hitRate)}`, pass: errs === 0 && c.establishedAtEnd >= c.users });
  }
  for (const p of phases) {
    const ourCache = p.cache === 'ours' || p.cache === 'none';
    const f = p.freshness;
    const byClass = Object.entries(f.byClass).map(([cls, c]) => `${cls} ${c.stale}/${n(c.checked)}`).join(', ');
    out.push({ name: `stale reads (${p.phase})`, value: n(f.stale), target: ourCache ? '0' : 'observed', detail: `of ${n(f.reads)} checked reads after ${n(f.writes)} writes (${byClass})${f.stale ? `; by view: ${Object.entries(f.staleByView).map(([k, v]) => `${k}: ${v}`).join(', ')}` : ''}${f.examples[0] ? `; e.g. ${f.examples[0]}` : ''}${f.pages.stale ? `; the page checker's first: ${f.pages.examples.find((e) => e.startsWith('stale'))}` : ''}`, pass: ourCache ? f.stale === 0 : null });
    // The page checker's own checks: a read from PostgreSQL that differs from its model, or a table that moved under it.
    if (f.pages.uncachedMismatches || f.pages.drift || f.pages.unsettled) {
      const modelExample = f.pages.examples.find((e) => !e.startsWith('stale'));
      out.push({ name: `the page checker's model held (${p.phase})`, value: `${f.pages.uncachedMismatches} / ${f.pages.drift} / ${f.pages.unsettled}`, target: '0 / 0 / 0', detail: `uncached answers that differ from it / cells of the rest of the table that changed / writes whose rows would not hold still${modelExample ? `; e.g. ${modelExample}` : ''}`, pass: false });
    }
  }
  return out;
}

/** The report as markdown: the verdicts, then the figures per phase, per class, of the sweep, of memory and of the connection phase. */
export function markdown(phases: PhaseResult[], results: Verdict[], settings: Settings, note: string): string {
  const lines: string[] = [];
  lines.push('# npm run bench: latest run', '', `${new Date().toISOString()} · ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}) · Node ${process.version} · tracing ${settings.tracing ? 'on' : 'off'}`);
  lines.push(`Data: ${Object.entries(settings.data).map(([k, v]) => `${n(v)} ${k}`).join(', ')}. Mix: ${settings.orgConnections} connections on organisations-api, ${settings.peopleConnections} on people-api (closed loop), ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s measured per phase, Zipf ids (s = ${settings.zipfS}), ${100 - settings.writePercent}% reads / ${settings.writePercent}% writes.`, '');
  lines.push('## Against the targets', '', '| figure | value | target | detail | |', '|---|---|---|---|---|');
  for (const v of results) lines.push(`| ${v.name} | ${v.value} | ${v.target} | ${v.detail} | ${v.pass === null ? 'info' : v.pass ? 'PASS' : 'MISS'} |`);
  const mixPhases = phases.filter((p) => !p.connections);
  lines.push('', '## Per phase (the mix)', '');
  lines.push('| phase | req/s | p50 / p95 / p99 ms | errors (conn / timeouts / non-2xx) | hit rate of repeat ceiling | DB xacts/s (per request) | DB tuples returned/s (per request) | DB tuples fetched/s (per request) | inval. lag p50 / p99 ms (n) | stale reads / checked (from cache) | Redis used_memory (keys in db) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of mixPhases) {
    const f = p.freshness;
    const fromCache = Object.values(f.byClass).reduce((sum, c) => sum + c.fromCache, 0);
    lines.push(`| ${p.phase} | ${n(p.rps)} | ${p.overall.p50Ms} / ${p.overall.p95Ms} / ${p.overall.p99Ms} | ${p.errors} / ${p.timeouts} / ${p.non2xx} | ${ofCeiling(p.hitRate, p.repeatShare)} | ${n(p.dbTransactionsPerSecond)} (${p.dbTransactionsPerRequest.toFixed(3)}) | ${n(p.dbTuplesReturnedPerSecond)} (${n(p.dbTuplesReturnedPerRequest)}) | ${n(p.dbTuplesFetchedPerSecond)} (${n(p.dbTuplesFetchedPerRequest)}) | ${p.invalidationLag.p50Ms ?? '-'} / ${p.invalidationLag.p99Ms ?? '-'} (${p.invalidationLag.count}) | ${f.stale} / ${n(f.reads)} (${n(fromCache)}) | ${(p.redis.usedMemoryBytes / 1048576).toFixed(1)} MiB (${n(p.redis.keysDb)}) |`);
  }
  lines.push('', '## Per route class (the mix): req/s and p50 / p99 ms; for cached phases, hit rate and the hits\' p50 / p99', '');
  lines.push(`| class | ${mixPhases.map((p) => p.phase).join(' | ')} |`);
  lines.push(`|---|${mixPhases.map(() => '---|').join('')}`);
  for (const cls of [...new Set(mixPhases.flatMap((p) => Object.keys(p.classes)))]) {
    lines.push(`| ${cls} | ${mixPhases.map((p) => {
      const c = p.classes[cls];
      if (!c) return '-';
      const hits = c.hitRate === undefined ? '' : ` · ${pct(c.hitRate)} hits${c.hits ? ` (${c.hits.p50Ms} / ${c.hits.p99Ms})` : ''}`;
      return `${n(c.rps)} req/s, ${c.p50Ms} / ${c.p99Ms}${c.non2xx ? ` (${c.non2xx} non-2xx)` : ''}${hits}`;
    }).join(' | ')} |`);
  }
  lines.push('', '## Per route class (the mix): hit rate of its repeat ceiling (the share of its reads that repeat an earlier read in the phase); stale reads / reads the freshness checker made of it (of those, served from the cache)', '');
  lines.push(`| class | ${mixPhases.map((p) => p.phase).join(' | ')} |`);
  lines.push(`|---|${mixPhases.map(() => '---|').join('')}`);
  for (const cls of READ_CLASSES) {
    lines.push(`| ${cls} | ${mixPhases.map((p) => {
      const c = p.classes[cls];
      const f = p.freshness.byClass[cls];
      const parts = [
        ...(c?.repeatShare !== undefined ? [ofCeiling(c.hitRate ?? null, c.repeatShare)] : []),
        ...(f ? [`stale ${f.stale} / ${n(f.checked)} (${n(f.fromCache)})`] : []),
      ];
      return parts.length ? parts.join(' · ') : '-';
    }).join(' | ')} |`);
  }
  const swept = phases.filter((p) => p.sweep);
  if (swept.length) {
    lines.push('', '## Read-only sweep (after the mix, no writes): req/s and p50 / p99 ms', '');
    lines.push(`| class | ${swept.map((p) => p.phase).join(' | ')} |`);
    lines.push(`|---|${swept.map(() => '---|').join('')}`);
    for (const cls of SWEEP_CLASSES) {
      lines.push(`| ${cls} | ${swept.map((p) => { const s = p.sweep![cls]; return s ? `${n(s.rps)} req/s, ${s.p50Ms} / ${s.p99Ms}${s.hitRate === null ? '' : ` · ${pct(s.hitRate)} hits`}${s.errors ? ` · ${s.errors} errors` : ''}` : '-'; }).join(' | ')} |`);
    }
  }
  lines.push('', '## Our cache\'s invalidations (measured window) and dependency index (at the end of the phase)', '');
  lines.push('| phase | events applied | tags invalidated per write, mean / p99 | refills: enqueued, stored, used (read before the next write), wasted | tag tokens (memory) | reader logs (memory) | Redis used_memory (keys in db) |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const p of phases) {
    const i = p.invalidation;
    const d = p.dependencyIndex;
    // n/a: not our cache; '-': ours, but a process's /metrics did not answer.
    const none = p.cache === 'ours' ? '-' : 'n/a';
    const cells = [
      i ? n(i.events) : none,
      i ? `${i.tagsPerEvent.mean ?? '-'} / ${i.tagsPerEvent.p99 ?? '-'}` : none,
      i ? `${n(i.refills.enqueued)}, ${n(i.refills.stored)}, ${n(i.refills.used)}, ${n(i.refills.wasted)}` : none,
      d ? `${n(d.tagTokens.keys)} (${mib(d.tagTokens.bytes)})` : none,
      d ? `${n(d.readerLogs.keys)} (${mib(d.readerLogs.bytes)})` : none,
    ];
    lines.push(`| ${p.phase} | ${cells.join(' | ')} | ${mib(p.redis.usedMemoryBytes)} (${n(p.redis.keysDb)}) |`);
  }
  lines.push('', '## Peak resident memory per process (MiB)', '', '| phase | organisations-api | people-api | cache-worker |', '|---|---|---|---|');
  for (const p of phases) lines.push(`| ${p.phase} | ${p.peakRssMiB['organisations-api'] ?? '-'} | ${p.peakRssMiB['people-api'] ?? '-'} | ${p.peakRssMiB['cache-worker'] ?? '-'} |`);
  for (const p of phases.filter((x) => x.connections)) {
    const c = p.connections!;
    lines.push('', `## ${p.phase}`, '', `${n(c.users)} users, each on its own keep-alive connection, reading organisation and person details (Zipf ids) with a think time between requests: ${n(c.establishedAtEnd)} connections established at the end (peak ${n(c.establishedPeak)}), ${n(c.requests)} requests at ${n(Math.round(c.rps))} req/s, errors ${c.errors}, timeouts ${c.timeouts}, non-2xx ${c.non2xx}, p50 ${c.p50Ms} ms, p99 ${c.p99Ms} ms, max ${c.maxMs} ms, hit rate ${c.hitRate == null ? '-' : pct(c.hitRate)}; stale reads ${p.freshness.stale} of ${p.freshness.reads}.`);
  }
  lines.push('', `Notes: ${note}`);
  return `${lines.join('\n')}\n`;
}

/** Two bar charts side by side, written by hand (no dependency): throughput and p99 of the mix per phase. */
export function chart(phases: PhaseResult[], caption: string): string {
  const mix = phases.filter((p) => !p.connections);
  const width = 960;
  const height = 340;
  const panel = (x0: number, title: string, values: number[], unit: string, colour: string): string => {
    const w = width / 2 - 60;
    const h = height - 120;
    const max = Math.max(1, ...values);
    const bw = w / Math.max(1, values.length) - 10;
    const bars = values.map((v, i) => {
      const bh = (v / max) * h;
      const x = x0 + 6 + i * (bw + 10);
      const y = 50 + h - bh;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}" fill="${colour}"/>` +
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="10">${v.toLocaleString('en')}${unit}</text>` +
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(50 + h + 14).toFixed(1)}" text-anchor="middle" font-size="9">${escapeXml(mix[i]!.phase.replace('ours, ', ''))}</text>`;
    }).join('');
    return `<text x="${x0 + w / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>` +
      `<line x1="${x0}" y1="${50 + h}" x2="${x0 + w}" y2="${50 + h}" stroke="#333"/>${bars}`;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    '<rect width="100%" height="100%" fill="white"/>' +
    panel(30, 'Throughput (req/s, whole mix)', mix.map((p) => p.rps), '', '#3b7dd8') +
    panel(width / 2 + 30, 'p99 latency (ms, whole mix)', mix.map((p) => Math.round(p.overall.p99Ms)), '', '#d8663b') +
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="11" fill="#555">${escapeXml(caption)}</text></svg>\n`;
}
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
