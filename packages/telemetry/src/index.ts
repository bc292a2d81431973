export { createLogger, type Logger } from './logger';
export { ServiceMetrics } from './metrics';
export { trace } from './trace-context';
