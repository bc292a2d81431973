import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { createLogger } from '@crm/telemetry';
import { authenticate, mintToken } from '../src/auth';
import { isDatabaseUnavailable, isDataException, problemHandler, toProblem } from '../src/errors';
import { answerClientErrors } from '../src/server';
import { unstorableStrings } from '../src/validation';

const SECRET = 'a-test-secret-of-enough-length-for-hs256';

describe('strings PostgreSQL cannot store are found anywhere in the input', () => {
  it('reports NUL and lone surrogates with their paths, field names included, and passes clean text', () => {
    expect(unstorableStrings({ name: 'Café 🚀', tags: ['ok', 'a\u0000b'], nested: { x: '\uD800' } })).toEqual([
      { path: 'nested.x', message: expect.stringMatching(/surrogate/) },
      { path: 'tags.1', message: expect.stringMatching(/NUL/) },
    ]);
    expect(unstorableStrings({ 'bad\u0000key': 1 }, 'query')).toEqual([{ path: 'query', message: expect.stringMatching(/^field names .*NUL/) }]);
    expect(unstorableStrings({ low: '\uDC00x', pair: '\uD83D\uDE80', plain: 'x' })).toEqual([{ path: 'low', message: expect.stringMatching(/surrogate/) }]);
  });

  it('refuses a deeply nested value at once, without walking it all or overflowing the stack', () => {
    let deep: unknown = 'a\u0000';
    for (let i = 0; i < 60_000; i++) deep = [deep]; // more than a 100 kB body can hold
    const errors = unstorableStrings(deep);
    expect(errors).toEqual([{ path: expect.any(String), message: expect.stringMatching(/nested more than 32 levels/) }]);
    expect(errors[0]!.path.split('.')).toHaveLength(32); // it stopped there: nothing below was walked
    expect(unstorableStrings({ a: [[{ b: 'ok' }]] })).toEqual([]);
  });
});

describe('errors a client causes map to 4xx, never 500', () => {
  it('honours the 4xx status Express and body-parser put on their errors', () => {
    const badParam = Object.assign(new URIError("Failed to decode param '%ff'"), { status: 400 });
    expect(toProblem(badParam).toJSON()).toMatchObject({ status: 400, errors: [{ path: 'params' }] });
    expect(toProblem(Object.assign(new Error('request aborted'), { status: 400, expose: true, type: 'request.aborted' })).toJSON())
      .toMatchObject({ status: 400, detail: 'request aborted' });
    expect(toProblem(Object.assign(new Error('internal thing'), { statusCode: 415 })).toJSON())
      .toMatchObject({ status: 415, detail: 'Unsupported Media Type' });
  });

  it('maps SQLSTATE class 22 (data exceptions) to 400 and keeps 503 for an unreachable database', () => {
    const invalidText = Object.assign(new Error('invalid input syntax for type integer'), { code: '22P02' });
    expect(isDataException({ cause: invalidText })).toBe(true);
    expect(toProblem(Object.assign(new Error('wrapped'), { cause: invalidText })).status).toBe(400);
    expect(toProblem(Object.assign(new Error('date/time field value out of range'), { code: '22008' })).status).toBe(400);
    expect(isDataException(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isDatabaseUnavailable(invalidText)).toBe(false);
    expect(toProblem(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).status).toBe(503);
    expect(toProblem(new Error('a bug')).status).toBe(500);
  });
});

describe('a page guarded by a cookie', () => {
  const app = express();
  app.use('/admin', authenticate(SECRET, { cookie: 'crm_page_token' }), (_req, res) => { res.send('ok'); });
  app.use(problemHandler(createLogger('test', 'silent')));

  it.each(['%', '%E0%A4%A', '%ff', 'abc%zz'])('treats a cookie that is not valid percent-encoding (%s) as no token: 401', async (value) => {
    const res = await request(app).get('/admin').set('Cookie', `crm_page_token=${value}`);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('still accepts a valid token from the cookie', async () => {
    const res = await request(app).get('/admin').set('Cookie', `crm_page_token=${mintToken(SECRET, 'admin')}`);
    expect(res.status).toBe(200);
  });
});

describe('requests Node refuses before Express sees them', () => {
  let server: Server;
  beforeAll(async () => {
    const app = express();
    app.get('/', (_req, res) => { res.send('ok'); });
    server = createServer(app);
    answerClientErrors(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** A raw request, so headers over Node's limit and a malformed request line reach the server as sent. */
  function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined; body: string }> {
    return new Promise((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers headers over 16 kB with a 431 problem', async () => {
    const res = await raw('/', { 'X-Big': 'a'.repeat(20_000) });
    expect(res.status).toBe(431);
    expect(res.type).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:crm:problem:headers-too-large', status: 431, title: expect.any(String), detail: expect.any(String) });
  });

  it('answers a URL over 16 kB the same way, and still serves normal requests', async () => {
    expect((await raw(`/?q=${'x'.repeat(20_000)}`)).status).toBe(431);
    expect(await raw('/')).toMatchObject({ status: 200, body: 'ok' });
  });
});
