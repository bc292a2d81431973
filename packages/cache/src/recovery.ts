/**
 * Outage recovery: what this process owes after losing Redis, settled before it serves from the cache again.
 * Invalidations Redis did not take (owed tags, retried every 200 ms); the outbox replay after a lost connection or
 * master; the generation check after a (re)connection; and, on a cluster, the watch of its masters. It sees the
 * cache only through RecoveryContext, as BullMQ's lock manager sees its worker.
 */
import type { Cluster, Redis } from 'ioredis';
import { isCluster, type RedisClient } from '@crm/redis';
import type { Logger } from '@crm/telemetry';
import { Generation } from './generation';
import type { RedisGuard } from './guard';
import type { CacheKeys } from './keys';
import { OutageReplay, type ReplayableEvent, type ReplaySource } from './replay';

/** What outage recovery needs of the cache. */
export interface RecoveryContext {
  readonly redis: RedisClient;
  readonly logger: Logger;
  /** The generation key and the probe key. */
  readonly keys: CacheKeys;
  /** The breaker, when Redis last answered, the cluster's slot map, whether the cache closed. */
  readonly guard: RedisGuard;
  /** Gives tags new tokens; rejects when Redis does not take them. */
  setNewTokens(tags: string[]): Promise<void>;
  /** Applies one event of the outbox; rejects when Redis does not take it. */
  applyEventOrThrow(event: ReplayableEvent): Promise<unknown>;
}

const OWED_RETRY_MS = 200;

/** Tracks and settles what an outage left owed (see the opening comment). */
export class OutageRecovery {
  /** This process's view of the namespace generation. */
  readonly generation: Generation;
  /** Tags this process could not invalidate while Redis was unreachable; applied before any hit is served again. */
  private readonly owedTags = new Set<string>();
  /** Owed after losing Redis: events since then are replayed before the cache is used again. */
  private readonly replay: OutageReplay | null;
  private settling = false;

  constructor(private readonly ctx: RecoveryContext, replay?: ReplaySource) {
    const { redis, guard } = ctx;
    this.generation = new Generation(redis, ctx.keys.generation);
    this.replay = replay ? new OutageReplay(replay, (e) => ctx.applyEventOrThrow(e), ctx.logger) : null;
    // A dropped connection opens the breaker at once, so no request waits for a timeout. The server may come
    // back restarted or rolled back: the generation is checked again before anything is served.
    redis.on('close', () => { this.generation.reset(); this.noteOutage(); guard.breaker.trip(); });
    // A new connection passed its ready check: Redis is back, no need to wait out the breaker.
    redis.on('ready', () => { this.generation.reset(); guard.breaker.success(); void this.generation.ensure(); void this.settleOwed(); });
    const onOpen = guard.breaker.onOpen;
    guard.breaker.onOpen = () => { this.noteOutage(); onOpen?.(); };
    if (isCluster(redis)) this.watchCluster(redis);
  }

  /** True while invalidations are owed: nothing is served from the cache. */
  get owing(): boolean {
    return this.owedTags.size > 0;
  }

  /**
   * Settles what is owed, if it can, before a read: owed invalidations (only retried in the background while the
   * breaker is open), the generation check, the outbox replay. True when the cache may be read.
   */
  async settled(): Promise<boolean> {
    if (this.owedTags.size > 0) {
      // While the breaker says Redis is out, the owed invalidations are retried in the background only: a read
      // must not wait on a hung server's timeout for them (it reads the database instead).
      if (this.ctx.guard.breaker.state === 'open') {
        void this.settleOwed();
        return false;
      }
      await this.settleOwed();
      if (this.owedTags.size > 0) return false;
    }
    if (!(await this.generationChecked())) return false;
    if (this.replay?.owed && (this.ctx.redis.status !== 'ready' || !(await this.replay.run()))) return false;
    return true;
  }

  /**
   * Keeps a failed invalidation trying until Redis acknowledges it, ignoring the breaker: sent while the server
   * hangs, the command waits on the connection and runs on resume, ahead of any read sent after this write
   * answered; meanwhile this process serves nothing from the cache. (A dropped connection drops it for every
   * replica: those replay the outbox before using the cache again.)
   */
  owe(tags: string[]): void {
    tags.forEach((t) => this.owedTags.add(t));
    this.ctx.logger.warn({ tags }, 'cache unreachable: invalidation owed until it returns');
    void this.settleOwed();
  }

  /** Applies invalidations owed from an outage (retrying every 200 ms) before anything is served from the cache again. */
  async settleOwed(): Promise<void> {
    if (this.owedTags.size === 0 || this.settling) return;
    const { redis, guard, logger } = this.ctx;
    this.settling = true;
    const tags = [...this.owedTags];
    try {
      if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
      await this.ctx.setNewTokens(tags);
      tags.forEach((t) => this.owedTags.delete(t));
      guard.breaker.success();
      logger.info({ tags }, 'owed cache invalidations applied');
    } catch {
      guard.breaker.failure();
      void guard.refreshClusterView(OWED_RETRY_MS);
    } finally {
      this.settling = false;
    }
    if (this.owedTags.size > 0 && !guard.closed) setTimeout(() => void this.settleOwed(), OWED_RETRY_MS).unref();
  }

  /**
   * Verifies the namespace generation after a (re)connection, before anything is served. A new one (Redis
   * restarted or rolled back) made every entry stored before a miss: no outbox replay is owed any more.
   */
  private async generationChecked(): Promise<boolean> {
    const { redis, guard, logger } = this.ctx;
    if (this.generation.value !== null) return true;
    if (redis.status !== 'ready' || !guard.breaker.allow()) return false;
    const checked = await this.generation.ensure();
    if (checked.state === 'unavailable') {
      guard.breaker.failure();
      return false;
    }
    guard.breaker.success();
    if (checked.changed && this.replay?.owed) {
      this.replay.cancel();
      logger.info({ generation: checked.value }, 'cache Redis restarted or rolled back: new generation, nothing stored before is served');
    }
    return true;
  }

  private noteOutage(): void {
    this.replay?.note(this.ctx.guard.lastOkAt);
  }

  /**
   * A cluster stays `ready` when one master dies: its node's connection ending is the outage signal. What that
   * master acknowledged but had not yet replicated is lost when its replica takes over (tag tokens rolled back),
   * so the outbox is replayed before anything is served again, as after a standalone server's crash.
   */
  private watchCluster(cluster: Cluster): void {
    // Only a connection that was up counts: during a failover the client keeps dialling the dead master, and
    // each failed attempt must not start another replay.
    const served = new WeakSet<Redis>();
    const watch = (node: Redis) => {
      if (node.status === 'ready') served.add(node);
      node.once('ready', () => served.add(node));
    };
    cluster.nodes().forEach(watch);
    cluster.on('+node', watch);
    // The tags' master may have been replaced by a replica (another run_id, maybe missing acknowledged writes).
    cluster.on('-node', (node: Redis) => { if (served.has(node)) { this.generation.reset(); this.noteOutage(); } });
    // A new set of masters (a replica promoted): if the tags' master answers, close the breaker at once, as a
    // standalone connection's ready check does, rather than wait it out.
    let masters = '';
    cluster.on('refresh', () => {
      const now = cluster.nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort().join(',');
      if (now === masters) return;
      masters = now;
      this.generation.reset();
      if (this.ctx.guard.breaker.state === 'closed') return;
      cluster.exists(this.ctx.keys.probe).then(() => { this.ctx.guard.breaker.success(); void this.settleOwed(); }, () => undefined);
    });
  }
}
