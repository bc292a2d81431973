import { z } from 'zod';
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

/** Collects the routes as they are defined and renders an OpenAPI 3.1 document from their zod schemas. */
export class OpenApiRegistry {
  private readonly routes: AnySpec[] = [];
  private readonly extraPaths: Record<string, Record<string, unknown>> = {};

  constructor(private readonly info: { title: string; version: string; description: string }, private readonly basePath = '/api/v1') {}

  add(spec: AnySpec): void {
    this.routes.push(spec);
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
          parameters.push({ name, in: where, required: where === 'path' || !optional, schema: jsonSchema(field as z.ZodType, 'input') });
        }
      }
      const status = spec.status ?? 200;
      const responses: Record<string, unknown> = {
        [status]: status === 204 || !spec.response
          ? { description: 'Done' }
          : { description: 'OK', content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } } },
      };
      for (const code of [400, 401, 403, ...(spec.errors ?? [])]) {
        responses[code] = { description: STATUS_TEXT[code] ?? 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
      }
      (paths[path] ??= {})[spec.method] = {
        summary: spec.summary,
        tags: [spec.tag],
        description: `Requires the ${spec.role} role.`,
        security: [{ bearer: [] }],
        parameters,
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: this.info,
      paths,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        schemas: { Problem: problemSchema },
      },
    };
  }
}
