/**
 * One phase's stack for `npm run bench`: organisations-api and people-api (ours, or with a peer library's
 * cache: ../peer-server.ts) and the cache-worker as child processes on spare ports, configured alike in every
 * phase but for the cache.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort, startNode, waitForHealth } from '../children';
import { benchScript, serviceEnv, serviceServer } from '../environment';
import type { Peer } from '../peers';
import { REDIS_URL, WARMUP_TOKEN } from './settings';

/** The stack's processes (organisations-api, people-api, cache-worker) and where they listen. */
export interface Stack { children: ChildProcess[]; orgUrl: string; peopleUrl: string; workerUrl: string }

/**
 * Starts the APIs, then the worker, and resolves once all three answer /health. `peer` runs the APIs with
 * that library's cache on `peerRedisUrl` in place of ours; `cache` false runs them with CACHE_ENABLED=false.
 * The processes are the children module's: stopAll() stops them, also when this rejects.
 */
export async function startStack(phase: string, cache: boolean, peer?: { name: Peer; redisUrl: string }): Promise<Stack> {
  const [orgPort, peoplePort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const orgUrl = `http://127.0.0.1:${orgPort}`;
  const peopleUrl = `http://127.0.0.1:${peoplePort}`;
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const env = serviceEnv(REDIS_URL, {
    // The peers run with ours off: their own cache in its place (bench/src/peer-server.ts).
    CACHE_ENABLED: String(cache),
    ORGANISATIONS_API_PORT: String(orgPort),
    PEOPLE_API_PORT: String(peoplePort),
    CACHE_WORKER_PORT: String(workerPort),
    ORGANISATIONS_API_URL: orgUrl,
    PEOPLE_API_URL: peopleUrl,
    WARMUP_TOKEN, // the APIs accept it from the worker's warm-up
    ...(peer ? { BENCH_PEER: peer.name, BENCH_PEER_REDIS_URL: peer.redisUrl } : {}),
  });
  const api = (service: string) => (peer
    ? startNode(`${phase}:${service}`, benchScript('peer-server.js'), env, [service])
    : startNode(`${phase}:${service}`, serviceServer(service), env));
  const children = [api('organisations-api'), api('people-api')];
  await Promise.all([waitForHealth(children[0]!, orgUrl), waitForHealth(children[1]!, peopleUrl)]);
  // The worker after the APIs: its start-up warm-up GETs them. It runs in every phase (the outbox relay's
  // backstop, the warm-up), so the database does the same background work whatever the cache.
  // The worker holds no signing key: it warms up with the credential the APIs share with it.
  const { JWT_SECRET: _apisOnly, ...workerEnv } = env;
  children.push(startNode(`${phase}:worker`, serviceServer('cache-worker'), workerEnv));
  await waitForHealth(children[2]!, workerUrl);
  return { children, orgUrl, peopleUrl, workerUrl };
}
