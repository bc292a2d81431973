export { createLogger, type Logger } from './logger';
export { ServiceMetrics } from './metrics';
export { trace } from './trace-context';
export { startTracing, currentTraceContext, contextFrom, nameRequestSpan, httpInstrumentationConfig, type Tracing } from './tracing';
export { redactUrl, REDACTED, SENSITIVE_QUERY_PARAMS, SENSITIVE_HEADERS } from './redact';
export { throttledWarn, withTimeout, type Warns } from './throttle';
