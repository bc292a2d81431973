import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { nameRequestSpan } from '@crm/telemetry';
import { requireRole, type Role } from './auth';
import { fieldErrors } from './errors';
import { HttpProblem } from './problem';
import type { OpenApiRegistry } from './openapi';
import { unstorableStrings } from './validation';
import { expensiveRouteLimit } from './rate-limit';

type Method = 'get' | 'post' | 'patch' | 'delete';
type AnyObject = z.ZodObject<z.ZodRawShape>;
type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

/** What a route handler receives: validated input plus the raw request and response. */
export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
}

/** One route: its validation, its role, its OpenAPI description and its handler, declared together. */
export interface RouteSpec<PS extends AnyObject | undefined, QS extends AnyObject | undefined, BS extends z.ZodType | undefined> {
  method: Method;
  /** Express path, e.g. `/organisations/:id`. */
  path: string;
  summary: string;
  /** The OpenAPI operationId, when the one derived from method and path (see operation-id.ts) reads badly. */
  operationId?: string;
  tag: string;
  role: Role;
  params?: PS;
  query?: QS;
  body?: BS;
  /** Success status: 200 by default; 201 for creations; 204 sends no body. */
  status?: 200 | 201 | 202 | 204;
  response?: z.ZodType;
  /** Extra statuses this route documents (besides 400/401/403/500). */
  errors?: number[];
  /** Never cached and costly (e.g. live aggregates, cache administration): also spends the tighter per-client budget. */
  expensive?: boolean;
  /** Runs after validation and auth, before the handler (e.g. the response cache). */
  middleware?: RequestHandler[];
  handler: (ctx: RouteContext<Out<PS>, Out<QS>, Out<BS>>) => Promise<unknown>;
}

const noParams = z.strictObject({});

const INVALID = { params: 'The path is not valid', query: 'The query parameters are not valid', body: 'The request body is not valid' } as const;

/**
 * Every route's input goes through here, so no schema can forget the strings PostgreSQL refuses (NUL, lone
 * surrogates): they are checked on the raw input, field names included, before the route's own schema.
 */
function validate<S extends z.ZodType>(schema: S, value: unknown, where: keyof typeof INVALID): z.output<S> {
  const prefix = where === 'body' ? undefined : where;
  const unstorable = unstorableStrings(value, prefix);
  if (unstorable.length > 0) throw new HttpProblem('validation', INVALID[where], unstorable);
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new HttpProblem('validation', INVALID[where], fieldErrors(result.error, prefix));
}

/** Validated input is kept here so later middleware (the cache) keys on normalised parameters. */
export interface ValidatedInput {
  params: unknown;
  query: unknown;
  body: unknown;
}

/** Registers a route on a router and in the OpenAPI registry. Unknown query parameters and body fields are 400s. */
export function defineRoute<PS extends AnyObject | undefined, QS extends AnyObject | undefined, BS extends z.ZodType | undefined>(
  router: Router,
  registry: OpenApiRegistry,
  spec: RouteSpec<PS, QS, BS>,
): void {
  registry.add(spec);
  const paramsSchema = spec.params ?? noParams;
  const querySchema = spec.query ?? noParams;
  const status = spec.status ?? 200;

  const validateInput: RequestHandler = (req, res, next) => {
    const input: ValidatedInput = {
      params: validate(paramsSchema, req.params, 'params'),
      query: validate(querySchema, req.query, 'query'),
      body: undefined,
    };
    if (spec.body) {
      if (req.body === undefined || !req.is('application/json')) {
        throw new HttpProblem('unsupported_media_type', 'Send the body as application/json');
      }
      input.body = validate(spec.body, req.body, 'body');
    }
    res.locals.input = input;
    next();
  };

  const handle: RequestHandler = async (req, res) => {
    const input = res.locals.input as ValidatedInput;
    const result = await spec.handler({
      params: input.params as Out<PS>,
      query: input.query as Out<QS>,
      body: input.body as Out<BS>,
      req,
      res,
    });
    if (res.headersSent) return;
    if (status === 204) {
      res.status(204).end();
      return;
    }
    res.status(status).json(result);
  };

  const nameSpan: RequestHandler = (req, res, next) => {
    const route = `${req.baseUrl}${spec.path}`;
    nameRequestSpan(req.method, route);
    // The metrics and log label, kept for the response even if an error leaves the router (which resets baseUrl).
    res.locals.route = route;
    next();
  };

  const budget = spec.expensive ? [expensiveRouteLimit] : [];
  router[spec.method](spec.path, nameSpan, requireRole(spec.role), ...budget, validateInput, ...(spec.middleware ?? []), handle);
}
