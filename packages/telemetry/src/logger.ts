import pino, { type DestinationStream, type Logger } from 'pino';
import { REDACTED, redactUrl, SENSITIVE_HEADERS } from './redact';
import { trace } from './trace-context';

export type { Logger } from 'pino';

/** Credential headers wherever a line could carry them: on their own, or in a `headers` / `req.headers` object. */
const REDACT_PATHS = SENSITIVE_HEADERS.flatMap((h) => [`["${h}"]`, `*["${h}"]`, `headers["${h}"]`, `*.headers["${h}"]`, `req.headers["${h}"]`]);

/**
 * The service's pino logger: JSON lines with `trace_id` and `span_id` from the active span,
 * pretty-printed when a person is watching a terminal. Credentials never reach a line: the value of a
 * token-like query parameter in any `url` field, and the authorization and cookie headers, are redacted.
 * `destination` (tests) replaces stdout.
 */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  // LOG_PRETTY=true: a terminal is watching through a pipe (npm start prefixes each service's lines).
  const pretty = !destination && (process.stdout.isTTY || process.env.LOG_PRETTY === 'true') && process.env.LOG_PRETTY !== 'false' && process.env.NODE_ENV !== 'production';
  const options: pino.LoggerOptions = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => trace.currentIds(),
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: {
      log: (object) => (typeof object.url === 'string' ? { ...object, url: redactUrl(object.url) } : object),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', singleLine: true, ignore: 'pid,hostname,service' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
