import { context, propagation, ROOT_CONTEXT, trace as otelTrace, type Context } from '@opentelemetry/api';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation, type HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { redactUrl, SENSITIVE_QUERY_PARAMS } from './redact';
import { trace } from './trace-context';

type SpanProcessor = NonNullable<NodeSDKConfiguration['spanProcessors']>[number];

/** Spans get ids (for the logs) but go nowhere: used when no OTLP endpoint is configured. */
const keepIdsOnly: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

export interface Tracing {
  /** Flushes the spans still buffered (call on shutdown). */
  shutdown: () => Promise<void>;
}

const QUIET_PATHS = new Set(['/health', '/metrics']);

/** Opt-in instrumentations, by the variable auto-instrumentations-node uses. */
const enabled = (name: string) => (process.env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ?? '').split(',').map((s) => s.trim()).includes(name);

/**
 * Starts OpenTelemetry for a service. Call it before anything else is loaded (the services' first import),
 * so the instrumentations can patch http, express, ioredis and pg as they load.
 *
 * Configured by the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) turns export on,
 * `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (default) or `http/json`, `OTEL_SERVICE_NAME` overrides the
 * name, `OTEL_SDK_DISABLED=true` turns it all off. Without an endpoint, spans still get ids, so every log
 * line carries `trace_id` and `span_id`, but nothing is exported. Metrics stay Prometheus (`/metrics`).
 */
export function startTracing(service: string): Tracing | null {
  if (process.env.OTEL_SDK_DISABLED === 'true') return null;
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const exporting = Boolean(process.env.OTEL_TRACES_EXPORTER ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? service,
    // Export per the OTEL_* variables when asked to; otherwise keep ids only.
    ...(exporting ? {} : { spanProcessors: [keepIdsOnly] }),
    instrumentations: [
      new HttpInstrumentation(httpInstrumentationConfig()),
      // Express spans would add ~30 µs to every request (measured: a third of a cache hit) to say what
      // `nameRequestSpan` puts on the HTTP span for free: the route. Opt in with OTEL_NODE_ENABLED_INSTRUMENTATIONS=express.
      ...(enabled('express') ? [new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] })] : []),
      // The cache's own commands run with tracing suppressed (its cache.* spans cover them); the queue's are traced.
      new IORedisInstrumentation({ requireParentSpan: true }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  trace.setReader(() => {
    const span = otelTrace.getActiveSpan();
    if (!span) return {};
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  });
  return { shutdown: () => sdk.shutdown() };
}

/**
 * The HTTP instrumentation's settings: health checks are not traced, and no credential reaches a span. Headers
 * are never recorded (no `headersToSpanAttributes`), so `Authorization` and cookies stay out; token-like query
 * parameters are redacted from `url.query` (server spans) and `url.full` (client spans), every occurrence and
 * whatever the case (the instrumentation's own list matches names exactly, hence the request hook).
 */
export function httpInstrumentationConfig(): HttpInstrumentationConfig {
  const names = SENSITIVE_QUERY_PARAMS.flatMap((name) => [name, name.toUpperCase()]);
  return {
    ignoreIncomingRequestHook: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0]!),
    redactedQueryParams: names,
    redactedQueryParamsServer: names,
    requestHook: (span, request) => {
      const url = 'url' in request && typeof request.url === 'string' ? request.url : undefined;
      const queryAt = url?.indexOf('?') ?? -1;
      if (url && queryAt !== -1) span.setAttribute('url.query', redactUrl(url).slice(queryAt + 1));
    },
  };
}

/** Names the active HTTP server span after the matched route (`GET /api/v1/organisations/:id`) and sets `http.route`. */
export function nameRequestSpan(method: string, route: string): void {
  const span = otelTrace.getActiveSpan();
  if (!span) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}

/** The active trace context as W3C headers (`traceparent`...), to store with an event or a job. */
export function currentTraceContext(): Record<string, string> | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : null;
}

/** The context a stored trace carrier continues (a new trace when there is none), whatever is active now. */
export function contextFrom(carrier: Record<string, string> | null | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}
