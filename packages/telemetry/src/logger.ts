import pino, { type Logger } from 'pino';
import { trace } from './trace-context';

export type { Logger } from 'pino';

/**
 * The service's pino logger: JSON lines with `trace_id` and `span_id` from the active span,
 * pretty-printed when a person is watching a terminal.
 */
export function createLogger(service: string, level = 'info'): Logger {
  // LOG_PRETTY=true: a terminal is watching through a pipe (npm start prefixes each service's lines).
  const pretty = (process.stdout.isTTY || process.env.LOG_PRETTY === 'true') && process.env.LOG_PRETTY !== 'false' && process.env.NODE_ENV !== 'production';
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => trace.currentIds(),
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', singleLine: true, ignore: 'pid,hostname,service' } } } : {}),
  });
}
