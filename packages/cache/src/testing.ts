import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dataNodes, type RedisClient, type RedisNode, type RedisTarget } from '@crm/redis';
import type { ResponseCache } from './response-cache';

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory-policy', 'noeviction']`. */
  args?: string[];
  /** How long start() and resume() wait for the server to answer PING. */
  readyTimeoutMs?: number;
}

/** Every server still running when the test process exits is killed, so none outlives a crashed run. */
const running = new Set<ChildProcess>();
let exitHooked = false;
function track(child: ChildProcess): void {
  if (!exitHooked) {
    exitHooked = true; // hooked on first use, so importing the package has no side effect
    process.once('exit', () => running.forEach((c) => c.kill('SIGKILL')));
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The local Redis server the test suites use, unless TEST_REDIS_CLUSTER_NODES names a cluster. */
const TEST_REDIS_URL = 'redis://127.0.0.1:6379/0';

/**
 * The one switch deciding where the cache test suites' Redis is: the Redis Cluster whose seed nodes
 * TEST_REDIS_CLUSTER_NODES lists (`host:port,host:port,...`, set by the cluster runs' global setup,
 * scripts/jest-redis-cluster.cjs), or null for the local server. Harnesses ask this, never the variable.
 */
export function testRedisCluster(): RedisNode[] | null {
  const value = process.env.TEST_REDIS_CLUSTER_NODES?.trim();
  if (!value) return null;
  return value.split(',').map((item) => {
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(item.trim());
    if (!match) throw new Error(`TEST_REDIS_CLUSTER_NODES: ${JSON.stringify(item)} is not host:port`);
    return { host: match[1]!, port: Number(match[2]) };
  });
}

/** The tests' cache Redis: the cluster of TEST_REDIS_CLUSTER_NODES, or the local server. */
export function testCacheRedis(): RedisTarget {
  const nodes = testRedisCluster();
  return nodes ? { clusterNodes: nodes } : TEST_REDIS_URL;
}

/**
 * What a harness adds to the environment it parses or gives a spawned service: on the cluster run
 * REDIS_CLUSTER_NODES (the queues follow it unless QUEUE_REDIS_URL is set), otherwise nothing (the defaults
 * are the local server).
 */
export function testRedisEnv(): Record<string, string> {
  const nodes = testRedisCluster();
  return nodes ? { REDIS_CLUSTER_NODES: clusterNodesEnv(nodes) } : {};
}

/** Seed nodes as REDIS_CLUSTER_NODES wants them: `host:port,...`, an IPv6 host in brackets. */
export function clusterNodesEnv(nodes: RedisNode[]): string {
  return nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',');
}

/** A Redis of the same kind as testCacheRedis() where nothing listens (port 1), for the "Redis is down" tests. */
export function unreachableTestRedis(): RedisTarget {
  return testRedisCluster() ? { clusterNodes: [{ host: '127.0.0.1', port: 1 }] } : 'redis://127.0.0.1:1/0';
}

/**
 * Waits until a cache serves: its client is connected, nothing is owed, and the outbox replay that any dropped
 * connection calls for is done. A cluster client's first connection can drop and retry on a loaded machine, and
 * each drop is an outage to replay before serving; a harness waits for that before its tests start. Polls a lookup
 * of a key nothing stores (a lookup is what runs the replay).
 */
export async function waitUntilServing(cache: ResponseCache, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await cache.lookup('~serving', [])).state !== 'unavailable', `the cache (${cache.namespace}) to serve`, timeoutMs);
}

/**
 * The keys matching `pattern` on every data node (every master of a cluster). KEYS through a cluster client asks
 * one node only; tests that look for keys directly use this instead.
 */
export async function keysOnEveryNode(client: RedisClient, pattern: string): Promise<string[]> {
  return (await Promise.all(dataNodes(client).map((node) => node.keys(pattern)))).flat();
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/**
 * A throwaway `redis-server` for tests that need to hang (SIGSTOP), kill or restart the cache's Redis.
 * Nothing is persisted: a restarted server starts empty, like a crashed cache.
 */
export class RedisServer {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(readonly port: number, private readonly options: RedisServerOptions = {}) {}

  /** Starts a server on `port` and resolves once it answers PING. */
  static async start(port: number, options?: RedisServerOptions): Promise<RedisServer> {
    const server = new RedisServer(port, options);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is already running`);
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      ...(this.options.args ?? []),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.output = '';
    const keep = (chunk: Buffer) => { this.output = (this.output + chunk.toString()).slice(-2_000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    track(child);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    await this.waitUntilAnswering();
  }

  /** Hangs the server (SIGSTOP): connections stay open, nothing is answered. Resolves once it is stopped. */
  async pause(): Promise<void> {
    const child = this.alive();
    child.kill('SIGSTOP');
    await this.waitForState(child, 'T');
  }

  /** Wakes a hung server (SIGCONT) and resolves once it answers PING. */
  async resume(): Promise<void> {
    const child = this.alive();
    child.kill('SIGCONT');
    await this.waitUntilAnswering();
  }

  /** Crashes the server (SIGKILL) and resolves once it has exited: its data is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a fresh, empty server on the same port (killing the current one first if it runs). */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Shuts the server down for good (also when hung); safe to call when it is not running. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT'); // a stopped process would hold SIGTERM until continued
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private alive(): ChildProcess {
    if (!this.child) throw new Error(`redis-server on port ${this.port} is not running`);
    return this.child;
  }

  /** Polls PING until this very process answers (not another server that already held the port). */
  private async waitUntilAnswering(): Promise<void> {
    const child = this.alive();
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (this.child !== child) break; // exited, e.g. the port was taken
      if ((await this.answeringPid()) === child.pid) return;
      await delay(20);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING: ${this.output.trim() || 'no output'}`);
  }

  private async answeringPid(): Promise<number | undefined> {
    const probe = new Redis({
      host: '127.0.0.1', port: this.port, lazyConnect: true, connectTimeout: 500, commandTimeout: 500,
      maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) !== 'PONG') return undefined;
      return Number(/^process_id:(\d+)/m.exec(await probe.info('server'))?.[1]);
    } catch {
      return undefined;
    } finally {
      // Disconnecting a client whose connection already failed arms a 2 s timer that holds the process open.
      if (probe.status !== 'end') probe.disconnect();
    }
  }

  /** Waits for the process state in /proc (`T`: stopped); where there is no /proc, trusts the signal. */
  private async waitForState(child: ChildProcess, state: string): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      let stat: string;
      try {
        stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
      } catch {
        return;
      }
      // The state follows the parenthesised command name: `pid (comm) S ...`.
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === state) return;
      await delay(5);
    }
    throw new Error(`redis-server on port ${this.port} did not reach state ${state}`);
  }
}

/** Cluster nodes' data directories still present when the test process exits are removed with it. */
const clusterDirs = new Set<string>();
let dirsHooked = false;
function trackDir(dir: string): void {
  if (!dirsHooked) {
    dirsHooked = true;
    process.once('exit', () => clusterDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  }
  clusterDirs.add(dir);
}

/** One command on one node through a throwaway connection; undefined when the node does not answer. */
async function ask(port: number, ...args: (string | number)[]): Promise<unknown> {
  const probe = new Redis({
    host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 500, commandTimeout: 1_000,
    maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return await probe.call(String(args[0]), ...args.slice(1));
  } catch {
    return undefined;
  } finally {
    if (probe.status !== 'end') probe.disconnect();
  }
}

const infoField = (text: unknown, name: string) => (typeof text === 'string' ? new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim() : undefined);

export interface RedisClusterOptions {
  /** Ports of the nodes (default 7101-7106); the cluster bus uses each port + 10000. */
  ports?: number[];
  /** Replicas per master (default 1: with six ports, three masters and three replicas). */
  replicas?: number;
  /** How long start() waits for `cluster_state:ok` with every replica in sync. */
  readyTimeoutMs?: number;
}

/** A master killed by killMaster(). */
export interface KilledMaster {
  port: number;
  /** Date.now() just before the kill. */
  killedAt: number;
  /** Resolves once a replica took over the dead master's slots and every live node says `cluster_state:ok`. */
  failover: (timeoutMs?: number) => Promise<{ newMaster: number; okAt: number }>;
}

interface SlotRange {
  start: number;
  end: number;
  master: number;
  replicas: number[];
}

/**
 * A throwaway Redis Cluster for tests, from the `redis-server` binary: masters and replicas on spare ports, each
 * node with its own temporary directory (nodes.conf), nothing persisted, a 1 s node timeout so a failover takes
 * a few seconds. stop() kills every node and removes the directories (an exiting test process does too).
 */
export class RedisCluster {
  private readonly servers = new Map<number, RedisServer>();
  private readonly dirs: string[] = [];

  private constructor(readonly ports: number[], private readonly options: RedisClusterOptions) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const cluster = new RedisCluster(options.ports ?? [7101, 7102, 7103, 7104, 7105, 7106], options);
    try {
      await cluster.create();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Seed nodes for a client (every node; a client needs only one that answers). */
  get nodes(): RedisNode[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** The seed nodes as REDIS_CLUSTER_NODES wants them. */
  get nodesEnv(): string {
    return clusterNodesEnv(this.nodes);
  }

  /** Ports of the nodes still running. */
  get livePorts(): number[] {
    return this.ports.filter((p) => this.servers.get(p)?.running);
  }

  private async create(): Promise<void> {
    await Promise.all(this.ports.map(async (port) => {
      const dir = await mkdtemp(join(tmpdir(), `crm-cluster-${port}-`));
      this.dirs.push(dir);
      trackDir(dir);
      const server = new RedisServer(port, {
        args: [
          '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000',
          // Replicas sync at once, not after 5 s; a replica shows in CLUSTER SLOTS once its offset moved, which on
          // an idle master takes a replication ping (every 10 s by default).
          '--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1',
        ],
      });
      this.servers.set(port, server);
      await server.start();
    }));
    const cli = spawn('redis-cli', [
      '--cluster', 'create', ...this.nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas', String(this.options.replicas ?? 1), '--cluster-yes',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    cli.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    cli.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const [code] = (await once(cli, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}): ${output.slice(-1_000)}`);
    await this.waitUntil(async () => (await this.allOk()) && (await this.replicasInSync()), 'the cluster to be ok with every replica in sync', this.options.readyTimeoutMs ?? 30_000);
  }

  /** `cluster_state:ok` with every slot served, on every live node. */
  async allOk(): Promise<boolean> {
    const infos = await Promise.all(this.livePorts.map((port) => ask(port, 'CLUSTER', 'INFO')));
    return infos.every((info) => infoField(info, 'cluster_state') === 'ok' && infoField(info, 'cluster_slots_ok') === '16384');
  }

  private async replicasInSync(): Promise<boolean> {
    const ranges = await this.slotRanges();
    const replicas = [...new Set(ranges.flatMap((r) => r.replicas))];
    if (replicas.length < (this.options.replicas ?? 1) * new Set(ranges.map((r) => r.master)).size) return false;
    const infos = await Promise.all(replicas.map((port) => ask(port, 'INFO', 'replication')));
    return infos.every((info) => infoField(info, 'master_link_status') === 'up');
  }

  /** Slot ranges with their master and replicas, as a live node sees them. */
  async slotRanges(): Promise<SlotRange[]> {
    for (const port of this.livePorts) {
      const reply = await ask(port, 'CLUSTER', 'SLOTS');
      if (!Array.isArray(reply)) continue;
      return (reply as [number, number, ...[string, number, string][]][]).map(([start, end, master, ...replicas]) => ({
        start, end, master: Number(master![1]), replicas: replicas.map((r) => Number(r[1])),
      }));
    }
    return [];
  }

  /** Ports of the masters serving slots. */
  async masters(): Promise<number[]> {
    return [...new Set((await this.slotRanges()).map((r) => r.master))].sort();
  }

  /** The port of the master serving `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const port = this.livePorts[0];
    const slot = port === undefined ? undefined : await ask(port, 'CLUSTER', 'KEYSLOT', key);
    if (typeof slot !== 'number') throw new Error('no live node to ask for a key slot');
    const range = (await this.slotRanges()).find((r) => r.start <= slot && slot <= r.end);
    if (!range) throw new Error(`slot ${slot} is not served`);
    return range.master;
  }

  /** Kills a master (SIGKILL; `port`, or the first master) and gives a way to wait for its replica's promotion. */
  async killMaster(port?: number): Promise<KilledMaster> {
    const ranges = await this.slotRanges();
    const victim = port ?? ranges[0]?.master;
    const owned = ranges.filter((r) => r.master === victim);
    if (victim === undefined || owned.length === 0) throw new Error(`${victim} is not a master serving slots`);
    const killedAt = Date.now();
    await this.server(victim).kill();
    return {
      port: victim,
      killedAt,
      failover: async (timeoutMs = 20_000) => {
        let newMaster = -1;
        await this.waitUntil(async () => {
          const now = await this.slotRanges();
          const takers = owned.map((o) => now.find((r) => r.start === o.start && r.end === o.end)?.master);
          if (takers.some((m) => m === undefined || m === victim)) return false;
          newMaster = takers[0]!;
          return this.allOk();
        }, `a replica of ${victim} to take over and the cluster to be ok`, timeoutMs);
        return { newMaster, okAt: Date.now() };
      },
    };
  }

  /** One command on one node (a throwaway connection); undefined when it does not answer. */
  command(port: number, ...args: (string | number)[]): Promise<unknown> {
    return ask(port, ...args);
  }

  /** Hangs a node (SIGSTOP) until resume(). */
  pause(port: number): Promise<void> {
    return this.server(port).pause();
  }

  resume(port: number): Promise<void> {
    return this.server(port).resume();
  }

  private server(port: number): RedisServer {
    const server = this.servers.get(port);
    if (!server) throw new Error(`no cluster node on port ${port}`);
    return server;
  }

  /** Waits for `cluster_state:ok` on every live node. */
  async waitUntilOk(timeoutMs = 20_000): Promise<void> {
    await this.waitUntil(() => this.allOk(), 'cluster_state:ok on every node', timeoutMs);
  }

  private async waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
      await delay(50);
    }
  }

  /** Kills every node and removes their directories; safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.kill()));
    await Promise.all(this.dirs.splice(0).map(async (dir) => {
      await rm(dir, { recursive: true, force: true });
      clusterDirs.delete(dir);
    }));
  }
}
