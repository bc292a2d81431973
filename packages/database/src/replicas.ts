import { AsyncLocalStorage } from 'node:async_hooks';
import {
  PostgreSqlConnection, PostgreSqlDriver, TransactionContext,
  type Configuration, type ConnectionType, type EventSubscriber, type MikroORM,
} from '@mikro-orm/postgresql';
import { throttledWarn, withTimeout, type Warns } from '@crm/telemetry';

export type ReadTarget = 'replica' | 'primary';

export interface ReplicaRoutingOptions {
  /** Called once per statement that MikroORM sends as a read (outside transactions), with where it went. */
  onRead?: (target: ReadTarget) => void;
  /** Where failures of the check and of replicas are reported (at most one line per 10 s). */
  logger?: Warns;
  /** A check that takes longer falls back to the primary. Default 500 ms. */
  checkTimeoutMs?: number;
  /** After a replica fails, reads skip it for this long. Default 5 s. */
  retryAfterMs?: number;
  /**
   * Tests only: read the replica without checking its position, which serves data older than acknowledged
   * writes while it lags (what the check exists to prevent).
   */
  skipFreshnessCheck?: boolean;
}

type Execute = PostgreSqlConnection['execute'];
type Stream = PostgreSqlConnection['stream'];

/** What a read-routing scope (one HTTP request) decided: null until its first read. */
class ReadScope {
  target: PostgreSqlConnection | null = null;
  deciding: Promise<PostgreSqlConnection> | null = null;
  reader: PostgreSqlConnection | null = null;
  constructor(readonly router: ReplicaRouter) {}
}

const scopes = new AsyncLocalStorage<ReadScope>();

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
]);

/** A replica that cannot serve (down, restarting, unreachable, or a query cancelled by recovery): the read moves to the primary. */
function replicaUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && /connection terminated|timeout exceeded when trying to connect|conflict with recovery|the database system is (starting up|shutting down|in recovery mode)/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Chooses, per request, where MikroORM's reads go. A request reads a replica only when that replica has replayed
 * every write acknowledged before its first read: at that read, the primary's WAL position is sampled, then the
 * replica's replay position; at or past it, the request's reads use the replica, otherwise the primary. Writes
 * invalidate the cache after their commit and a cache fill reads after its lookup, so a fill that reads the
 * replica sees every write whose invalidation it could have missed (so no middleware may read the database
 * before the cache lookup: that read would take the decision too early). Reads outside a request scope, inside
 * a transaction, or after the request committed a write use the primary.
 */
export class ReplicaRouter {
  /** Reads by target since the start (or the last reset): for tests and logs. */
  readonly reads: Record<ReadTarget, number> = { replica: 0, primary: 0 };
  private primary!: PostgreSqlConnection;
  private replicas: PostgreSqlConnection[] = [];
  private downUntil: number[] = [];
  private next = 0;
  private readonly warn: ReturnType<typeof throttledWarn> | null;
  private primaryReader!: PostgreSqlConnection;

  constructor(private readonly options: ReplicaRoutingOptions = {}) {
    this.warn = options.logger ? throttledWarn(options.logger) : null;
  }

  /** @internal Called by the driver once its connections exist. */
  attach(primary: PostgreSqlConnection, replicas: PostgreSqlConnection[]): void {
    this.primary = primary;
    this.replicas = replicas;
    this.downUntil = replicas.map(() => 0);
    this.primaryReader = this.reader(async () => primary);
  }

  get replicaCount(): number {
    return this.replicas.length;
  }

  resetCounts(): void {
    this.reads.replica = 0;
    this.reads.primary = 0;
  }

  /** Runs `fn` as one request: its reads share one routing decision, taken at its first read. */
  scope<T>(fn: () => T): T {
    return scopes.run(new ReadScope(this), fn);
  }

  /** @internal The connection MikroORM gets for a read. */
  connectionForRead(): PostgreSqlConnection {
    const scope = scopes.getStore();
    if (scope?.router !== this || this.replicas.length === 0 || TransactionContext.currentTransactionContext()) return this.primaryReader;
    scope.reader ??= this.reader(() => this.targetOf(scope));
    return scope.reader;
  }

  /** @internal After a commit in a request, its later reads must see that write: they use the primary. */
  pinPrimary(): void {
    const scope = scopes.getStore();
    if (scope?.router === this) {
      scope.target = this.primary;
      scope.deciding = null;
    }
  }

  private targetOf(scope: ReadScope): PostgreSqlConnection | Promise<PostgreSqlConnection> {
    if (scope.target) return scope.target;
    scope.deciding ??= this.decide().then((target) => {
      scope.target ??= target;
      return scope.target;
    });
    return scope.deciding;
  }

  private async decide(): Promise<PostgreSqlConnection> {
    const index = this.pickReplica();
    if (index === null) return this.primary;
    const replica = this.replicas[index]!;
    if (this.options.skipFreshnessCheck) return replica;
    let lsn: string;
    try {
      // The primary first, then the replica: it gets that round trip to catch up. With synchronous_commit on
      // (the default), an acknowledged commit is written, so this write position is at or past its end.
      [{ lsn }] = await this.primary.execute<[{ lsn: string }]>('select pg_current_wal_lsn()::text as lsn');
    } catch {
      return this.primary; // the primary is failing: the read itself will report it
    }
    try {
      const [row] = await withTimeout(
        replica.execute<[{ standby: boolean; caught_up: boolean | null }]>(
          'select pg_is_in_recovery() as standby, pg_last_wal_replay_lsn() >= ?::pg_lsn as caught_up', [lsn]),
        this.options.checkTimeoutMs ?? 500, 'the replica');
      // Not in recovery: promoted or not a standby; its data may have diverged from the primary's.
      return row.standby && row.caught_up === true ? replica : this.primary;
    } catch (error) {
      this.replicaFailed(index, error);
      return this.primary;
    }
  }

  /** Round robin over the replicas not known to be down. */
  private pickReplica(): number | null {
    const now = Date.now();
    for (let i = 0; i < this.replicas.length; i++) {
      const index = (this.next + i) % this.replicas.length;
      if (this.downUntil[index]! <= now) {
        this.next = index + 1;
        return index;
      }
    }
    return null;
  }

  private replicaFailed(index: number, error: unknown): void {
    this.downUntil[index] = Date.now() + (this.options.retryAfterMs ?? 5_000);
    this.warn?.({ err: error instanceof Error ? error.message : String(error), replica: index },
      'read replica unavailable: reading the primary');
  }

  private count(target: PostgreSqlConnection): void {
    const name: ReadTarget = target === this.primary ? 'primary' : 'replica';
    this.reads[name]++;
    this.options.onRead?.(name);
  }

  /**
   * A connection for reads: `execute` and `stream` wait for the target, count the read, and move it to the
   * primary if a replica fails; everything else is the primary's (always safe to read).
   */
  private reader(target: () => PostgreSqlConnection | Promise<PostgreSqlConnection>): PostgreSqlConnection {
    const primary = this.primary;
    const count = (conn: PostgreSqlConnection) => this.count(conn);
    const execute = (async (...args: Parameters<Execute>) => {
      const conn = args[3] ? primary : await target(); // a transaction's context belongs to the primary
      if (conn === primary) {
        count(primary);
        return primary.execute(...args);
      }
      try {
        const result = await conn.execute(...args);
        count(conn);
        return result;
      } catch (error) {
        if (!replicaUnavailable(error)) {
          count(conn);
          throw error;
        }
        this.replicaFailed(this.replicas.indexOf(conn), error);
        this.pinPrimary();
        count(primary);
        return primary.execute(...args);
      }
    }) as Execute;
    const stream = async function* (this: void, ...args: Parameters<Stream>) {
      const conn = args[2] ? primary : await target();
      count(conn);
      yield* conn.stream(...args);
    } as Stream;
    return new Proxy(primary, {
      get(conn, property) {
        if (property === 'execute') return execute;
        if (property === 'stream') return stream;
        const value: unknown = Reflect.get(conn, property);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(conn) : value;
      },
    });
  }
}

/** The PostgreSQL driver, with reads routed by `router` (MikroORM asks `getConnection('read')` for each read). */
export function replicaRoutingDriver(router: ReplicaRouter): typeof PostgreSqlDriver {
  return class ReplicaRoutingDriver extends PostgreSqlDriver {
    constructor(config: Configuration) {
      super(config);
      router.attach(this.connection, this.replicas);
    }

    override getConnection(type: ConnectionType = 'write'): PostgreSqlConnection {
      return type === 'read' ? router.connectionForRead() : this.connection;
    }
  };
}

/** Pins a request's reads to the primary once it has committed a write (read your own writes). */
export function pinPrimaryAfterCommit(router: ReplicaRouter): EventSubscriber {
  return { afterTransactionCommit: () => router.pinPrimary() };
}

const routers = new WeakMap<MikroORM, ReplicaRouter>();

/** @internal */
export function registerRouter(orm: MikroORM, router: ReplicaRouter): void {
  routers.set(orm, router);
}

/** The read router of an ORM created with replicas, else null. */
export function replicaRouter(orm: MikroORM): ReplicaRouter | null {
  return routers.get(orm) ?? null;
}

/** Runs `fn` as one request of `orm` (what the HTTP request context does): its reads may use a fresh replica. */
export function withReadRouting<T>(orm: MikroORM, fn: () => T): T {
  const router = routers.get(orm);
  return router ? router.scope(fn) : fn();
}
