import jwt from 'jsonwebtoken';
import type { Express } from 'express';
import request from 'supertest';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { createServiceApp, mintToken, OpenApiRegistry, requireRole, type JwtPolicy } from '../src';

// What a client sees for each kind of bad token: 401, problem+json, a WWW-Authenticate challenge, a clear detail.
const SECRET = 'auth-test-secret-0123456789abcdef-0123456789';
const now = () => Math.floor(Date.now() / 1000);

function app(auth: JwtPolicy): Express {
  return createServiceApp({
    service: 'auth-test',
    logger: createLogger('auth-test', 'silent'),
    metrics: new ServiceMetrics('auth-test'),
    auth,
    openapi: new OpenApiRegistry({ title: 'test', version: '1', description: 'test' }),
    health: { database: null, cache: null, queue: null },
    routes: (api) => api.get('/whoami', (req, res) => { res.json(req.principal); }),
  });
}

const strict = app({ secret: SECRET });
const withIssuer = app({ secret: SECRET, issuer: 'https://id.example', audience: 'crm-api' });

const sign = (payload: object, options: jwt.SignOptions = {}) => jwt.sign(payload, SECRET, { algorithm: 'HS256', ...options });
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectRefused(target: Express, token: string, detail: RegExp): Promise<void> {
  const res = await request(target).get('/api/v1/whoami').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
  expect(res.body.detail).toMatch(detail);
}

describe("the cache worker's warm-up credential (WARMUP_TOKEN, not a JWT)", () => {
  const warmupToken = `warmup-${'x'.repeat(40)}`;
  const target = createServiceApp({
    service: 'auth-test',
    logger: createLogger('auth-test', 'silent'),
    metrics: new ServiceMetrics('auth-test'),
    auth: { secret: SECRET, warmupToken },
    openapi: new OpenApiRegistry({ title: 'test', version: '1', description: 'test' }),
    health: { database: null, cache: null, queue: null },
    routes: (api) => {
      api.get('/whoami', (req, res) => { res.json(req.principal); });
      api.post('/whoami', requireRole('editor'), (req, res) => { res.json(req.principal); });
    },
  });

  it('is a reader: it may GET, not write', async () => {
    const get = await request(target).get('/api/v1/whoami').set('Authorization', `Bearer ${warmupToken}`);
    expect(get.status).toBe(200);
    expect(get.body).toEqual({ sub: 'cache-worker', role: 'reader', internal: true });
    const post = await request(target).post('/api/v1/whoami').set('Authorization', `Bearer ${warmupToken}`);
    expect(post.status).toBe(403);
  });

  it('must match exactly; without it configured, nothing but a JWT is accepted', async () => {
    await expectRefused(target, `${warmupToken}x`, /not valid/);
    await expectRefused(target, warmupToken.slice(0, -1), /not valid/);
    await expectRefused(strict, warmupToken, /not valid/);
    const jwtStillWorks = await request(target).get('/api/v1/whoami').set('Authorization', `Bearer ${mintToken(SECRET, 'editor', { sub: 'alice' })}`);
    expect(jwtStillWorks.body).toEqual({ sub: 'alice', role: 'editor' });
  });
});

describe('bearer tokens', () => {
  it('accepts a well-formed HS256 token and knows who sent it', async () => {
    const res = await request(strict).get('/api/v1/whoami').set('Authorization', `Bearer ${mintToken(SECRET, 'editor', { sub: 'alice' })}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ sub: 'alice', role: 'editor' });
  });

  it('asks for a token when none is sent', async () => {
    const res = await request(strict).get('/api/v1/whoami');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.detail).toBe('A bearer token is required');
  });

  it.each([
    ['a missing sub', () => sign({ role: 'reader' }, { expiresIn: 60 }), /valid sub claim/],
    ['a missing role', () => sign({}, { subject: 'a', expiresIn: 60 }), /valid role claim/],
    ['an unknown role', () => sign({ role: 'root' }, { subject: 'a', expiresIn: 60 }), /valid role claim/],
    ['a missing exp', () => sign({ role: 'reader' }, { subject: 'a' }), /valid exp claim/],
    ['an expired token', () => mintToken(SECRET, 'reader', { expiresInSeconds: -120 }), /has expired/],
    ['a future nbf', () => sign({ role: 'reader', nbf: now() + 600 }, { subject: 'a', expiresIn: 3600 }), /not valid yet/],
    ['a bad signature', () => mintToken('another-secret-0123456789abcdef-0123456789', 'admin'), /^The token is not valid$/],
    ['HS512 with the same secret', () => sign({ role: 'admin' }, { algorithm: 'HS512', subject: 'a', expiresIn: 60 }), /signed with HS256/],
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'a', role: 'admin', exp: now() + 60 })}.`, /signed with HS256/],
    ['a lifetime over the 24 h maximum', () => sign({ role: 'reader' }, { subject: 'a', expiresIn: 86_400 + 60 }), /lives longer than the 86400 s/],
    ['an over-long lifetime without iat', () => sign({ role: 'reader', exp: now() + 2 * 86_400 }, { subject: 'a', noTimestamp: true }), /lives longer/],
    ['an iat in the future that hides a long lifetime', () => sign({ role: 'reader', iat: now() + 5 * 86_400, exp: now() + 6 * 86_400 }, { subject: 'a' }), /lives longer/],
  ])('refuses %s with 401', async (_what, token, detail) => {
    await expectRefused(strict, token(), detail);
  });

  it('tolerates 30 s of clock skew on exp and nbf, and no more', async () => {
    const skewed = sign({ role: 'reader', nbf: now() + 20, exp: now() + 600 }, { subject: 'a' });
    expect((await request(strict).get('/api/v1/whoami').set('Authorization', `Bearer ${skewed}`)).status).toBe(200);
    const justExpired = sign({ role: 'reader', iat: now() - 600, exp: now() - 20 }, { subject: 'a' });
    expect((await request(strict).get('/api/v1/whoami').set('Authorization', `Bearer ${justExpired}`)).status).toBe(200);
    await expectRefused(strict, sign({ role: 'reader', iat: now() - 600, exp: now() - 60 }, { subject: 'a' }), /has expired/);
  });

  it('honours a configured maximum lifetime, and refuses to mint past it', async () => {
    const short = app({ secret: SECRET, maxLifetimeSeconds: 600 });
    await expectRefused(short, mintToken(SECRET, 'reader', { expiresInSeconds: 3600 }), /lives longer than the 600 s/);
    expect((await request(short).get('/api/v1/whoami').set('Authorization', `Bearer ${mintToken(SECRET, 'reader', { expiresInSeconds: 600 })}`)).status).toBe(200);
    expect(() => mintToken({ secret: SECRET, maxLifetimeSeconds: 600 }, 'reader', { expiresInSeconds: 601 })).toThrow(/at most 600 s/);
  });

  describe('with JWT_ISSUER and JWT_AUDIENCE set', () => {
    const policy = { secret: SECRET, issuer: 'https://id.example', audience: 'crm-api' };

    it('mints tokens carrying them, and accepts those', async () => {
      const token = mintToken(policy, 'reader', { sub: 'bob' });
      expect(jwt.decode(token)).toMatchObject({ iss: 'https://id.example', aud: 'crm-api', sub: 'bob' });
      expect((await request(withIssuer).get('/api/v1/whoami').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    });

    it.each([
      ['no iss', { audience: 'crm-api' }, /expected issuer/],
      ['another iss', { issuer: 'https://evil.example', audience: 'crm-api' }, /expected issuer/],
      ['no aud', { issuer: 'https://id.example' }, /audience/],
      ['another aud', { issuer: 'https://id.example', audience: 'billing' }, /audience/],
    ])('refuses a token with %s', async (_what, claims, detail) => {
      await expectRefused(withIssuer, sign({ role: 'reader' }, { subject: 'a', expiresIn: 60, ...claims }), detail);
    });
  });
});

describe('a token verified once', () => {
  afterEach(() => jest.useRealTimers());

  it('is refused once it expires, though the process remembers it as verified', async () => {
    const target = app({ secret: SECRET, clockToleranceSeconds: 0 });
    const token = mintToken(SECRET, 'editor', { expiresInSeconds: 60 });
    const ok = await request(target).get('/api/v1/whoami').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ sub: 'dev-editor', role: 'editor' });
    // Only Date is faked: supertest's sockets keep their timers.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    jest.setSystemTime(Date.now() + 61_000);
    await expectRefused(target, token, /has expired/);
  });
});
