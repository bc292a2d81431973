import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { createServiceApp, defineRoute, idParams, mintToken, notFound, OpenApiRegistry } from '../src';

// Dashboards group by route: an error must land in the same series as the successes of its route.
const SECRET = 'route-label-test-secret-0123456789';
const reader = { Authorization: `Bearer ${mintToken(SECRET, 'reader')}` };
const admin = { Authorization: `Bearer ${mintToken(SECRET, 'admin')}` };

function service(rateLimitPerMinute = 0) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  const metrics = new ServiceMetrics('route-label-test');
  const openapi = new OpenApiRegistry({ title: 'test', version: '1', description: 'test' });
  const app = createServiceApp({
    service: 'route-label-test',
    logger: createLogger('route-label-test', 'info', sink),
    metrics,
    auth: { secret: SECRET },
    openapi,
    health: { database: null, cache: null, queue: null },
    rateLimitPerMinute,
    routes: (api) => {
      defineRoute(api, openapi, { method: 'get', path: '/things/search', summary: 's', tag: 't', role: 'reader', handler: async () => ({ found: [] }) });
      defineRoute(api, openapi, {
        method: 'get', path: '/things/:id', summary: 'd', tag: 't', role: 'reader', params: idParams,
        handler: async ({ params }) => {
          if (params.id === 404) throw notFound('thing', params.id);
          return { id: params.id };
        },
      });
      defineRoute(api, openapi, { method: 'delete', path: '/things/:id', summary: 'x', tag: 't', role: 'admin', params: idParams, status: 204, handler: async () => undefined });
    },
  });
  const routeOf = async (status: number) => {
    const text = (await metrics.expose()).body;
    return [...new Set([...text.matchAll(new RegExp(`^http_request_duration_seconds_count\\{[^}]*route="([^"]*)",status_code="${status}"\\} (\\d+)$`, 'gm'))].map((m) => m[1]))].sort();
  };
  return { app, lines, routeOf };
}

describe('the route label of every response', () => {
  it('is the matched pattern with /api/v1 for successes and for 400, 401, 403 and 404 on that route', async () => {
    const { app, lines, routeOf } = service();
    await request(app).get('/api/v1/things/7').set(reader).expect(200);
    await request(app).get('/api/v1/things/abc').set(reader).expect(400);
    await request(app).get('/api/v1/things/7').expect(401);
    await request(app).delete('/api/v1/things/7').set(reader).expect(403);
    await request(app).get('/api/v1/things/404').set(reader).expect(404);
    await request(app).get('/api/v1/things/search').expect(401);
    for (const status of [200, 400, 401, 403, 404]) {
      expect(await routeOf(status)).toEqual(status === 401 ? ['/api/v1/things/search', '/api/v1/things/:id'].sort() : ['/api/v1/things/:id']);
    }
    expect(lines.filter((l) => l.msg === 'request').map((l) => [l.status, l.route])).toEqual([
      [200, '/api/v1/things/:id'], [400, '/api/v1/things/:id'], [401, '/api/v1/things/:id'],
      [403, '/api/v1/things/:id'], [404, '/api/v1/things/:id'], [401, '/api/v1/things/search'],
    ]);
  });

  it('is the route pattern for a 429 too, and a fixed label for paths no route matches', async () => {
    const { app, routeOf } = service(1);
    await request(app).get('/api/v1/things/1').set(admin).expect(200);
    await request(app).get('/api/v1/things/2').set(admin).expect(429);
    expect(await routeOf(429)).toEqual(['/api/v1/things/:id']);
    const other = service();
    await request(other.app).get('/api/v1/no/such/route').set(admin).expect(404);
    await request(other.app).get('/api/v1/no/such/route').expect(401);
    await request(other.app).post('/api/v1/things/search').set(admin).expect(404); // no POST route there
    await request(other.app).get('/nowhere?token=x').expect(404);
    expect(await other.routeOf(404)).toEqual(['unmatched']);
    expect(await other.routeOf(401)).toEqual(['unmatched']);
  });
});
