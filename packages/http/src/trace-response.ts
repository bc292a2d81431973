import type { RequestHandler } from 'express';
import { currentTraceContext } from '@crm/telemetry';

/**
 * Answers each request's trace id in a W3C `traceresponse` header (`00-<trace id>-<span id>-<flags>`, Trace
 * Context Level 2), so a client (`npm run demo`, a support ticket) can find the request's trace in Jaeger.
 * Ids only: they carry no data. No header when tracing is off.
 */
export function traceResponse(): RequestHandler {
  return (_req, res, next) => {
    const traceparent = currentTraceContext()?.traceparent;
    if (traceparent) res.setHeader('traceresponse', traceparent);
    next();
  };
}
