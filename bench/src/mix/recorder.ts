/**
 * Measuring the mix: autocannon drives a picker's requests while a light per-request timer (its setupRequest
 * and onResponse, in this process, so no worker threads) records each class's latencies, statuses and
 * X-Cache, the repeat ceiling and an outage window; then the recorded samples become the phase's figures.
 */
import type autocannon from 'autocannon';
import type { ConnectionFigures } from '../connections';
import { autocannonRun } from '../load';
import { percentile } from '../util';
import type { ClassFigures, Latency, PhaseResult } from './figures';
import { READ_CLASSES, type ClassName, type Picker } from './workload';

/** What the per-request timer has seen in one run (the warm-up's or the measured one). */
export interface Recorder {
  /** Recording (the measured window); off, only `seen` grows. */
  on: boolean;
  latencies: Map<ClassName, number[]>;
  /** Latencies of the reads the cache answered (X-Cache: HIT). */
  hitLatencies: Map<ClassName, number[]>;
  statuses: Map<ClassName, Record<string, number>>;
  xcache: Record<string, number>;
  xcacheByClass: Map<ClassName, Record<string, number>>;
  /** URLs read so far in the phase (warm-up included), and how many measured reads repeated one (overall and per class). */
  seen: Set<string>;
  reads: number;
  repeats: number;
  readsByClass: Map<ClassName, number>;
  repeatsByClass: Map<ClassName, number>;
  /** Requests started inside [from, to) (performance.now()): the outage window. */
  window?: OutageWindow;
}
export interface OutageWindow { from: number; to: number; latencies: number[]; non2xx: number; errors: number }

/** A recorder, off, sharing `seen` with the phase's other runs. */
export const newRecorder = (seen: Set<string>): Recorder => ({
  on: false, latencies: new Map(), hitLatencies: new Map(), statuses: new Map(), xcache: {}, xcacheByClass: new Map(),
  seen, reads: 0, repeats: 0, readsByClass: new Map(), repeatsByClass: new Map(),
});

interface Ctx { cls?: ClassName; start?: number; path?: string }

const push = <K, V>(map: Map<K, V[]>, key: K, value: V) => { const list = map.get(key); if (list) list.push(value); else map.set(key, [value]); };
const increment = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
/** A response header by its lower-case name, whatever case the server sent. */
export const headerOf = (headers: Record<string, string>, name: string) => headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];

/** `connections` closed loops on `url` for `seconds`, each request from `picker`, reads as `reader` and writes as `editor`. */
export function runMix(url: string, connections: number, seconds: number, picker: Picker, reader: string, editor: string, rec: Recorder): Promise<autocannon.Result> {
  return autocannonRun({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [{
      setupRequest: (req: autocannon.Request, context: Ctx) => {
        const pick = picker();
        context.cls = pick.cls;
        context.path = pick.path;
        context.start = performance.now();
        const write = pick.method !== 'GET';
        return {
          ...req,
          method: pick.method,
          path: pick.path,
          headers: { authorization: `Bearer ${write ? editor : reader}`, ...(write ? { 'content-type': 'application/json' } : {}) },
          ...(pick.body ? { body: pick.body } : {}),
        } as autocannon.Request;
      },
      onResponse: (status: number, _body: string, context: Ctx, headers: Record<string, string>) => {
        if (!context.cls || context.start === undefined) return;
        const cls = context.cls;
        const read = READ_CLASSES.includes(cls);
        const repeated = read && rec.seen.has(context.path!);
        if (read) rec.seen.add(context.path!);
        if (!rec.on) return;
        const took = performance.now() - context.start;
        push(rec.latencies, cls, took);
        const w = rec.window;
        if (w && context.start >= w.from && context.start < w.to) { w.latencies.push(took); if (status < 200 || status > 299) w.non2xx++; }
        const statuses = rec.statuses.get(cls) ?? {};
        statuses[status] = (statuses[status] ?? 0) + 1;
        rec.statuses.set(cls, statuses);
        if (read) {
          rec.reads++;
          increment(rec.readsByClass, cls);
          if (repeated) { rec.repeats++; increment(rec.repeatsByClass, cls); }
          const x = headerOf(headers, 'x-cache') ?? 'none';
          rec.xcache[x] = (rec.xcache[x] ?? 0) + 1;
          const byClass = rec.xcacheByClass.get(cls) ?? {};
          byClass[x] = (byClass[x] ?? 0) + 1;
          rec.xcacheByClass.set(cls, byClass);
          if (x === 'HIT') push(rec.hitLatencies, cls, took);
        }
      },
    } as unknown as autocannon.Request],
  }, (instance) => {
    // A request that failed (connection error or timeout) inside the outage window counts as an error of the window.
    instance.on('reqError', () => { const w = rec.window; const now = performance.now(); if (rec.on && w && now >= w.from && now < w.to + 10_000) w.errors++; });
  });
}

/** One decimal. */
export const round = (x: number) => Math.round(x * 10) / 10;

/** p50/p95/p99 of `list` (sorted in place). */
export function latencyOf(list: number[]): Latency {
  list.sort((x, y) => x - y);
  return { p50Ms: round(percentile(list, 50)), p95Ms: round(percentile(list, 95)), p99Ms: round(percentile(list, 99)) };
}

/** HIT / (HIT + MISS + STALE) of X-Cache counts; null when nothing was looked up. */
export function hitRateOf(x: Record<string, number> | undefined): number | null {
  if (!x) return null;
  const looked = (x.HIT ?? 0) + (x.MISS ?? 0) + (x.STALE ?? 0);
  return looked > 0 ? (x.HIT ?? 0) / looked : null;
}

/** Each class's figures over `elapsed` seconds (hit rates where a cache ran), and all the latencies recorded. */
export function classFigures(rec: Recorder, elapsed: number, cached: boolean): { classes: Record<string, ClassFigures>; all: number[] } {
  const all: number[] = [];
  const classes: Record<string, ClassFigures> = {};
  for (const [cls, list] of rec.latencies) {
    all.push(...list);
    const statuses = rec.statuses.get(cls) ?? {};
    classes[cls] = {
      requests: list.length,
      rps: Math.round(list.length / elapsed),
      ...latencyOf(list),
      non2xx: Object.entries(statuses).filter(([code]) => !code.startsWith('2')).reduce((sum, [, c]) => sum + c, 0),
    };
    const hitRate = cached ? hitRateOf(rec.xcacheByClass.get(cls)) : null;
    if (hitRate !== null) classes[cls]!.hitRate = round(1000 * hitRate) / 1000;
    const reads = rec.readsByClass.get(cls);
    if (reads) classes[cls]!.repeatShare = round(1000 * (rec.repeatsByClass.get(cls) ?? 0) / reads) / 1000;
    const hits = rec.hitLatencies.get(cls);
    if (hits?.length) classes[cls]!.hits = { requests: hits.length, ...latencyOf(hits) };
  }
  return { classes, all };
}

/** What happened to the requests started while the cache Redis was down. */
export function outageFigures(w: OutageWindow, kind: 'hang' | 'kill'): NonNullable<PhaseResult['outage']> {
  const lat = latencyOf(w.latencies);
  return { kind, seconds: round((w.to - w.from) / 1000), requests: w.latencies.length, non2xx: w.non2xx, errors: w.errors, p50Ms: lat.p50Ms, p99Ms: lat.p99Ms, maxMs: round(w.latencies.at(-1) ?? 0) };
}

/** The connection phase's figures as the report shows them. */
export function connectionFigures(figures: ConnectionFigures): NonNullable<PhaseResult['connections']> {
  const lat = figures.latencies;
  return {
    users: figures.users, establishedAtEnd: figures.establishedAtEnd, establishedPeak: figures.establishedPeak,
    requests: figures.requests, rps: round(figures.rps), errors: figures.errors, timeouts: figures.timeouts, non2xx: figures.non2xx,
    hitRate: hitRateOf(figures.xCache), p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), maxMs: round(lat.at(-1) ?? 0),
  };
}
