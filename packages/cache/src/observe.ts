/** What the cache tells tracing and metrics: its `cache.*` spans and the timing of each operation against Redis. */
import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';

/** The cache's tracer (spans `cache.get`, `cache.set`, `cache.invalidate`). */
export const tracer = trace.getTracer('@crm/cache');

/** Runs `work` in a span that ends with it (an error marks the span). */
export async function traced<T>(name: string, attributes: Record<string, string | string[] | number>, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Span attributes naming invalidated tags: the first 100 (an organisation's people can be tens of thousands) and how many. */
export function tagAttributes(tags: string[]): Record<string, string[] | number> {
  return { 'cache.tags': tags.length > 100 ? tags.slice(0, 100) : tags, 'cache.tags_count': tags.length };
}

/** The operations timed for `cache_operation_duration_seconds`. */
export type CacheOperation = 'get' | 'set' | 'invalidate';

/** Times `work` as `operation`. */
export type Timed = <T>(operation: CacheOperation, work: Promise<T>) => Promise<T>;

/** A Timed that reports to `observe` (or passes work through when there is none). */
export function timing(observe?: (operation: CacheOperation, seconds: number) => void): Timed {
  return (operation, work) => {
    if (!observe) return work;
    const started = performance.now();
    return work.finally(() => observe(operation, (performance.now() - started) / 1_000));
  };
}
