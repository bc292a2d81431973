export { createLogger, type Logger } from './logger';
export { ServiceMetrics } from './metrics';
export { trace } from './trace-context';
export { startTracing, currentTraceContext, contextFrom, nameRequestSpan, type Tracing } from './tracing';
