/**
 * Span links that explain the cache in a trace: a hit links to the fill that stored what it serves, a fill to the
 * write before it, the worker's work to the write that caused it. An entry keeps its fill's span as `<trace>-<span>`
 * (header `s`); a write keeps its span under its tokens' seq for a while (`{<ns>:tags}:~write:<seq>`), so a fill
 * after it, whatever process and trace it runs in, can find it from the newest seq among its tokens.
 */
import { TraceFlags, type Link, type Span, type SpanContext } from '@opentelemetry/api';

/** How long a write's span is kept for the fills after it to link to (older writes are rarely what one looks for). */
export const WRITE_TRACE_MS = 5 * 60_000;

const SPAN_REF = /^([0-9a-f]{32})-([0-9a-f]{16})$/;
/** A sampled W3C traceparent (an unsampled span is exported nowhere: nothing to link to). */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f][13579bdf]$/;

/** A recorded span as `<trace id>-<span id>`, or undefined when tracing is off or the span is not sampled. */
export function spanRef(span: Span): string | undefined {
  const context = span.spanContext();
  const sampled = (context.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
  return sampled && span.isRecording() ? `${context.traceId}-${context.spanId}` : undefined;
}

/** A link to the span `ref` names (a spanRef or a W3C traceparent), marked with what it is; null if it names none. */
export function linkTo(ref: string | null | undefined, kind: 'fill' | 'write'): Link | null {
  const match = ref ? SPAN_REF.exec(ref) ?? TRACEPARENT.exec(ref) : null;
  if (!match) return null;
  const context: SpanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: TraceFlags.SAMPLED, isRemote: true };
  return { context, attributes: { 'cache.link': kind } };
}

/** The newest seq among tokens `<seq>:<random>`: the last write to any tag they belong to (0: none). */
export function newestSeq(tokens: Iterable<string>): number {
  let newest = 0;
  for (const token of tokens) {
    const seq = Number.parseInt(token, 10);
    if (seq > newest) newest = seq;
  }
  return newest;
}
