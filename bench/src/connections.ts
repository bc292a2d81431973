/**
 * The connection phase of `npm run bench`: many users, each on its own keep-alive connection, reading at a
 * human pace (a think time between requests). autocannon cannot do this: it sends at least one request per
 * second per connection, so 10,000 connections would mean 10,000 req/s, not a moderate rate.
 */
import { execFileSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { sleep } from './util';

export interface UserTarget {
  /** http://host:port of the API this user talks to. */
  origin: string;
  /** The next path this user reads. */
  nextPath: () => string;
}

export interface ConnectionFigures {
  users: number;
  /** Established connections to the APIs, counted by `ss` at the end of the hold (the most seen during it). */
  establishedAtEnd: number;
  establishedPeak: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  xCache: Record<string, number>;
  /** Sorted latencies (ms) of all requests. */
  latencies: number[];
  rps: number;
  seconds: number;
}

export interface ConnectionOptions {
  users: number;
  targets: UserTarget[];
  token: string;
  /** Users connect evenly over this many seconds (arrivals, not a SYN flood). */
  rampSeconds: number;
  /** Then everyone stays connected this long. */
  holdSeconds: number;
  /** Think time between a user's requests: uniform in [min, max] ms; below the servers' 65 s keep-alive timeout. */
  thinkMs: [number, number];
  timeoutMs: number;
}

/** Established TCP connections whose peer port is one of `ports` (the client ends of our users' sockets). */
function established(ports: number[]): number {
  try {
    const filter = ports.map((p) => `dport = :${p}`).join(' or ');
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( ${filter} )`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return out.split('\n').filter((l) => l.trim()).length;
  } catch {
    return -1; // no ss here: reported as unknown
  }
}

function get(agent: Agent, origin: string, path: string, token: string, timeoutMs: number): Promise<{ status: number; xCache: string }> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const req = request({ agent, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, xCache: String(res.headers['x-cache'] ?? 'none') }));
      res.once('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.once('error', reject);
    req.end();
  });
}

/** Runs `users` users, each with its own connection (an Agent with one socket), and counts what they saw. */
export async function holdConnections(options: ConnectionOptions): Promise<ConnectionFigures> {
  const { users, targets, token, rampSeconds, holdSeconds, thinkMs, timeoutMs } = options;
  const ports = [...new Set(targets.map((t) => Number(new URL(t.origin).port)))];
  const figures: ConnectionFigures = { users, establishedAtEnd: 0, establishedPeak: 0, requests: 0, errors: 0, timeouts: 0, non2xx: 0, xCache: {}, latencies: [], rps: 0, seconds: 0 };
  const started = performance.now();
  const end = started + (rampSeconds + holdSeconds) * 1_000;
  const agents: Agent[] = [];
  const think = () => thinkMs[0] + Math.random() * (thinkMs[1] - thinkMs[0]);

  const user = async (index: number) => {
    const target = targets[index % targets.length]!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    await sleep((index / users) * rampSeconds * 1_000);
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const { status, xCache } = await get(agent, target.origin, target.nextPath(), token, timeoutMs);
        figures.latencies.push(performance.now() - t0);
        figures.requests++;
        if (status < 200 || status > 299) figures.non2xx++;
        figures.xCache[xCache] = (figures.xCache[xCache] ?? 0) + 1;
      } catch (error) {
        if ((error as { code?: string }).code === 'TIMEOUT') figures.timeouts++;
        else figures.errors++;
      }
      const pause = Math.min(think(), end - performance.now());
      if (pause > 0) await sleep(pause);
    }
  };

  const sampler = setInterval(() => { figures.establishedPeak = Math.max(figures.establishedPeak, established(ports)); }, 2_000);
  try {
    await Promise.all(Array.from({ length: users }, (_, i) => user(i)));
    figures.establishedAtEnd = established(ports);
    figures.establishedPeak = Math.max(figures.establishedPeak, figures.establishedAtEnd);
  } finally {
    clearInterval(sampler);
    for (const agent of agents) agent.destroy();
  }
  figures.seconds = (performance.now() - started) / 1_000;
  figures.rps = figures.requests / figures.seconds;
  figures.latencies.sort((a, b) => a - b);
  return figures;
}
