import { z } from 'zod';
import { operationIdFor } from './operation-id';
import type { RouteSpec } from './routes';

type AnySpec = RouteSpec<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid parameters or body', 401: 'Missing, invalid or expired token', 403: 'Role too weak',
  404: 'Not found', 409: 'Unique conflict', 413: 'Body over 100 kB', 429: 'Rate limited', 503: 'A dependency is down',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/**
 * A path or query parameter's schema. The URL carries numbers as digits that validation parses: documented as
 * the number they become (type, bounds, default), a generated client takes a number; anything else as sent.
 */
function parameterSchema(field: z.ZodType): Record<string, unknown> {
  const parsed = jsonSchema(field, 'output');
  return parsed.type === 'integer' || parsed.type === 'number' ? parsed : jsonSchema(field, 'input');
}

/** What the document says about its licence. The repository states none: no licence is granted. */
const DEFAULT_LICENSE = { name: 'UNLICENSED (proprietary: no licence is granted)', url: 'https://docs.npmjs.com/cli/configuring-npm/package-json#license' };

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
  license?: { name: string; url?: string; identifier?: string };
}

/** Gives every operation an operationId (its own, or the one derived from method and path) and refuses duplicates. */
function nameOperations(paths: Record<string, Record<string, unknown>>, basePath: string): void {
  const seen = new Map<string, string>();
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations) as [string, Record<string, unknown>][]) {
      const id = (operation.operationId as string | undefined) ?? operationIdFor(method, path, basePath);
      const where = `${method.toUpperCase()} ${path}`;
      // Two operations with one name would collide as methods of a generated client.
      if (seen.has(id)) throw new Error(`operationId ${id} of ${where} is also that of ${seen.get(id)}: give one an operationId in its spec`);
      seen.set(id, where);
      operation.operationId = id;
    }
  }
}

/** Collects the routes as they are defined and renders an OpenAPI 3.1 document from their zod schemas. */
export class OpenApiRegistry {
  private readonly routes: AnySpec[] = [];
  private readonly extraPaths: Record<string, Record<string, unknown>> = {};
  private headersFor: (spec: AnySpec) => Record<string, unknown> | undefined = () => undefined;

  constructor(private readonly info: OpenApiInfo, private readonly basePath = '/api/v1') {}

  add(spec: AnySpec): void {
    this.routes.push(spec);
  }

  /**
   * The headers a route's middleware adds to its success response (the response cache's X-Cache, Cache-Status,
   * ETag), by route: the registry does not know which middleware a route mounts, the app does.
   */
  describeResponseHeaders(headersFor: (spec: AnySpec) => Record<string, unknown> | undefined): void {
    this.headersFor = headersFor;
  }

  /** Documents a route that is not under the API base path (health, metrics, cache admin ...). */
  addRaw(path: string, method: string, operation: Record<string, unknown>): void {
    (this.extraPaths[path] ??= {})[method] = operation;
  }

  document(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = structuredClone(this.extraPaths);
    for (const spec of this.routes) {
      const path = this.basePath + spec.path.replace(/:(\w+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
        if (!schema) continue;
        const shape = (schema as z.ZodObject<z.ZodRawShape>).shape;
        for (const [name, field] of Object.entries(shape)) {
          const optional = (field as z.ZodType).safeParse(undefined).success;
          parameters.push({ name, in: where, required: where === 'path' || !optional, schema: parameterSchema(field as z.ZodType) });
        }
      }
      const status = spec.status ?? 200;
      const headers = this.headersFor(spec);
      const responses: Record<string, unknown> = {
        [status]: {
          ...(status === 204 || !spec.response
            ? { description: 'Done' }
            : { description: 'OK', content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } } }),
          ...(headers ? { headers } : {}),
        },
      };
      for (const code of [400, 401, 403, ...(spec.errors ?? [])]) {
        responses[code] = { description: STATUS_TEXT[code] ?? 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
      }
      (paths[path] ??= {})[spec.method] = {
        ...(spec.operationId ? { operationId: spec.operationId } : {}),
        summary: spec.summary,
        tags: [spec.tag],
        description: `Requires the ${spec.role} role.`,
        security: [{ bearer: [] }],
        parameters,
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } } : {}),
        responses,
      };
    }
    nameOperations(paths, this.basePath);
    return {
      openapi: '3.1.0',
      info: { license: DEFAULT_LICENSE, ...this.info },
      // Relative: the API is wherever this document was served from (any host, port or replica).
      servers: [{ url: '/', description: 'The server that served this document' }],
      paths,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        schemas: { Problem: problemSchema },
      },
    };
  }
}
