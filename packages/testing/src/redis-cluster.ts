import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisNode } from '@crm/redis';
import { clusterNodesEnv } from './env';
import { RedisServer, withProbe } from './redis-server';
import { waitFor } from './wait';

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
function ask(port: number, ...args: (string | number)[]): Promise<unknown> {
  return withProbe(port, 1_000, (probe) => probe.call(String(args[0]), ...args.slice(1)));
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

  private waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    return waitFor(check, `the redis cluster: ${what}`, timeoutMs, { everyMs: 50 });
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
