/**
 * Test support: checks an OpenAPI document the way third-party tools will use it (Redocly's `recommended`
 * lint, openapi-typescript + openapi-fetch for a typed client). Its tools are dev dependencies: import it
 * from tests only (`@crm/http/openapi-check`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import ts from 'typescript';
import { apiForTests, type ApiUnderTest } from './api';

/** One finding of the linter. */
export interface LintProblem {
  severity: 'error' | 'warn' | 'off';
  ruleId: string;
  message: string;
  /** JSON pointer of what it is about. */
  at: string;
}

/** Lints a document with Redocly's `recommended` ruleset, offline; returns every finding. */
export async function lintOpenApi(document: object): Promise<LintProblem[]> {
  const { createConfig, lintFromString } = await import('@redocly/openapi-core');
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: join(tmpdir(), 'openapi.json'), config });
  return problems.map((p) => ({ severity: p.severity, ruleId: p.ruleId, message: p.message, at: p.location[0]?.pointer ?? '' }));
}

/**
 * Generates TypeScript types from a document with openapi-typescript, then typechecks `usage` against them
 * with openapi-fetch's client; `usage` imports `createClient from 'openapi-fetch'` and `type { paths } from './api'`.
 * Returns the compiler's messages (none when the generated client fits the usage).
 */
export async function typecheckClient(document: object, usage: string): Promise<string[]> {
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const dir = await mkdtemp(join(tmpdir(), 'crm-openapi-client-'));
  try {
    await writeFile(join(dir, 'api.ts'), astToString(await openapiTS(document as never)));
    await writeFile(join(dir, 'usage.ts'), usage);
    const program = ts.createProgram([join(dir, 'usage.ts')], {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [],
      // The usage lives in a temporary folder: openapi-fetch resolves from here, where it is installed.
      paths: { 'openapi-fetch': [require.resolve('openapi-fetch').replace(/index\.c?js$/, 'index.d.ts')] },
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An openapi-fetch client (untyped here; typecheckClient checks the typed one) for calling a running API. */
export async function fetchClient(baseUrl: string, headers: Record<string, string>) {
  const { default: createClient } = await import('openapi-fetch');
  return createClient<any>({ baseUrl, headers }); // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An API's OpenAPI suite: how to start it, a usage of its typed client, its operations, a call through the client. */
export interface OpenApiSuite<H extends ApiUnderTest> {
  start: () => Promise<H>;
  /** TypeScript using the generated client (see typecheckClient); it must compile. */
  usage: string;
  /** operationIds the document must have among its own. */
  operationIds: string[];
  /** Creates a resource through `client` (an editor's, on the running API) and reads it back, with its own checks. */
  roundTrip: (client: Awaited<ReturnType<typeof fetchClient>>, h: H) => Promise<void>;
}

/**
 * The API's `/openapi.json` as third-party tools see it: Redocly's lint, stable unique camelCase operationIds, and a
 * generated typed client that typechecks `usage` and calls the running API.
 */
export function openApiSuite<H extends ApiUnderTest>(suite: OpenApiSuite<H>): void {
  const api = apiForTests(suite.start);
  let document: { paths: Record<string, Record<string, { operationId?: string }>> };
  beforeAll(async () => {
    document = (await request(api().app).get('/openapi.json').expect(200)).body;
  });

  describe('the OpenAPI document, as third-party tools see it', () => {
    it("passes Redocly's recommended lint with no error and no warning", async () => {
      expect(await lintOpenApi(document)).toEqual([]);
    });

    it('names every operation: stable, unique camelCase operationIds', () => {
      const ids = Object.values(document.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
      expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(suite.operationIds));
    });

    it('generates a typed client (openapi-typescript + openapi-fetch) that typechecks, and that calls the running API', async () => {
      expect(await typecheckClient(document, suite.usage)).toEqual([]);

      const h = api();
      const server = h.app.listen(0, '127.0.0.1');
      try {
        await new Promise((resolve) => server.once('listening', resolve));
        await suite.roundTrip(await fetchClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, h.auth('editor')), h);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
}
