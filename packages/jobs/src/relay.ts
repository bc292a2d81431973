/** The outbox relay: publishes committed outbox rows to the `cache-invalidation` queue, never losing one. */
import type { Queue } from 'bullmq';
import { context } from '@opentelemetry/api';
import { createRedis, pingRedis, type RedisClient, type RedisTarget } from '@crm/redis';
import { claimUnpublished, markPublished, type MikroORM } from '@crm/database';
import { contextFrom, throttledWarn, withTimeout, type Logger } from '@crm/telemetry';
import { invalidationJobOf, QUEUES } from './contracts';
import { openQueue } from './queues';

/** What a relay reads (the outbox), where it publishes (the queue Redis), and how often. */
export interface OutboxRelayOptions {
  orm: MikroORM;
  /** The queue Redis: a URL or a cluster. */
  queueRedisUrl: RedisTarget;
  logger: Logger;
  /** How often leftovers are looked for (writes also kick the relay at once). Default 1 s. */
  pollMs?: number;
  /** Rows per transaction. Default 200. */
  batchSize?: number;
  name?: string;
}

/** A hung queue Redis must not hold the claimed rows' locks for long. */
const PUBLISH_TIMEOUT_MS = 3_000;

/**
 * Publishes outbox rows to the `cache-invalidation` queue. Every API replica and the worker run one:
 * rows are claimed with `FOR UPDATE SKIP LOCKED`, added to BullMQ with ids derived from the rows, and marked
 * published in the same transaction, so a row is either published or still waiting — never lost. If the
 * queue Redis is down the transaction rolls back and the rows wait for the next pass, oldest first.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private connection: RedisClient | null = null;
  private queue: Queue | null = null;
  private readonly warn: ReturnType<typeof throttledWarn>;
  /** Rows published by this relay since it started (for tests and logs). */
  published = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.warn = throttledWarn(options.logger);
  }

  start(): this {
    this.openQueue(); // connect now, so health is up as soon as the queue Redis is
    const tick = () => {
      this.kick();
      this.timer = setTimeout(tick, this.options.pollMs ?? 1_000);
      this.timer.unref();
    };
    tick();
    return this;
  }

  /** Publishes soon; calls made while a pass runs coalesce into one more pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Waits for the pass in progress (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Publishes until nothing is left or the queue is unreachable. */
  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.publishBatch()) === (this.options.batchSize ?? 200));
    } catch (error) {
      // The queue Redis or PostgreSQL failed: start over with a fresh queue connection on the next pass.
      this.dropQueue();
      this.warn({ err: (error as Error).message }, 'outbox relay: publishing failed; the events wait in the outbox');
    }
  }

  private async publishBatch(): Promise<number> {
    return this.options.orm.em.fork().transactional(async (em) => {
      const events = await claimUnpublished(em, this.options.batchSize ?? 200);
      if (events.length === 0) return 0;
      const queue = this.openQueue();
      // Each job is added in the trace of the write that recorded it, so the worker's spans join that trace.
      await withTimeout(Promise.all(events.map((event) => {
        const job = invalidationJobOf(event);
        return context.with(contextFrom(event.trace), () => queue.add(job.name, job.data, job.opts));
      })), PUBLISH_TIMEOUT_MS, 'queue');
      await markPublished(em, events.map((e) => e.eventId));
      this.published += events.length;
      return events.length;
    });
  }

  /** The queue is opened lazily and reopened after a failure: BullMQ needs Redis up when a queue is created. */
  private openQueue(): Queue {
    if (!this.queue) {
      this.connection = createRedis(this.options.queueRedisUrl, 'queue-producer', { logger: this.options.logger, name: this.options.name ?? 'outbox-relay' });
      this.queue = openQueue(QUEUES.invalidation, this.connection);
      this.queue.on('error', () => undefined); // connection errors are logged by the connection itself
    }
    return this.queue;
  }

  private dropQueue(): void {
    const queue = this.queue;
    const connection = this.connection;
    this.queue = null;
    this.connection = null;
    void queue?.close().catch(() => undefined);
    connection?.disconnect();
  }

  /** Health probe of the queue Redis, as this relay sees it. */
  async ping(): Promise<void> {
    const connection = this.connection ?? (this.openQueue(), this.connection!);
    if (connection.status !== 'ready') throw new Error(`queue redis is ${connection.status}`);
    await pingRedis(connection);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.settle();
    this.dropQueue();
  }
}
