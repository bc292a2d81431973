#!/usr/bin/env node
// `npm run demo`: a guided tour of a running stack (`npm start` or `docker compose up`), in a few seconds:
// a cache MISS then a HIT, a write, the fresh read on both APIs, the write's trace in Jaeger, the cache stats.
// It creates its own organisation and person, and deletes them at the end.
//
// Environment: ORGANISATIONS_API_URL (default http://127.0.0.1:3001), PEOPLE_API_URL (http://127.0.0.1:3002),
// JAEGER_UI_URL (http://127.0.0.1:16686), TOKEN (an editor token; default: minted with JWT_SECRET, as
// `npm run token` does), DEMO_TIMEOUT_MS (per request, 10000).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const trimSlash = (url) => url.replace(/\/+$/, '');
const ORGS = trimSlash(process.env.ORGANISATIONS_API_URL || 'http://127.0.0.1:3001');
const PEOPLE = trimSlash(process.env.PEOPLE_API_URL || 'http://127.0.0.1:3002');
const JAEGER = trimSlash(process.env.JAEGER_UI_URL || 'http://127.0.0.1:16686');
const TIMEOUT_MS = Number(process.env.DEMO_TIMEOUT_MS || 10_000);
const started = Date.now();

/** A demo step that cannot go on: one clear line, exit 1. */
class DemoError extends Error {}

const say = (line = '') => process.stdout.write(`${line}\n`);
const step = (n, title) => say(`\n${n}. ${title}`);

/** A token for a role: TOKEN when given (one editor token does it all), else minted like `npm run token`. */
function tokenFor(role) {
  if (process.env.TOKEN) return process.env.TOKEN;
  const cli = path.join(root, 'packages/http/dist/cli/mint-token.js');
  if (!existsSync(cli)) throw new DemoError('packages/http is not built: run `npm start` (or `pnpm run build`) first, or set TOKEN.');
  const result = spawnSync(process.execPath, [cli, '--role', role, '--hours', '1'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new DemoError(`could not mint a ${role} token: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** One request, printed as it goes; fails the demo on an unexpected status. */
async function call(base, method, url, { token, body, expect = [200], note = '' } = {}) {
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new DemoError(`cannot reach ${base} (${error.cause?.code ?? error.message}): start the stack first (npm start, or docker compose up).`);
  }
  const ms = (performance.now() - t0).toFixed(1);
  const text = await res.text();
  const json = text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : null;
  const cache = res.headers.get('x-cache');
  say(`   ${method} ${url} -> ${res.status}${cache ? `  X-Cache: ${cache}` : ''}  (${ms} ms)${note ? `  ${note(json)}` : ''}`);
  if (!expect.includes(res.status)) {
    const detail = json?.detail ?? json?.title ?? text.slice(0, 200);
    const hint = res.status === 401 ? ' (is JWT_SECRET the one the stack uses? or pass TOKEN)' : '';
    throw new DemoError(`${method} ${url} answered ${res.status}: ${detail}${hint}`);
  }
  return { status: res.status, json, cache, headers: res.headers };
}

/** The trace id of a W3C `traceresponse` / `traceparent` header (`00-<trace id>-<span id>-<flags>`). */
const traceIdOf = (header) => /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(header ?? '')?.[1] ?? null;

async function main() {
  say(`CRM cache demo: organisations-api ${ORGS}, people-api ${PEOPLE}`);
  const reader = tokenFor('reader');
  const editor = tokenFor('editor');

  step(1, 'Both APIs are up');
  for (const [name, base] of [['organisations-api', ORGS], ['people-api', PEOPLE]]) {
    let health;
    try {
      health = await (await fetch(`${base}/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) })).json();
    } catch (error) {
      throw new DemoError(`cannot reach ${name} at ${base} (${error.cause?.code ?? error.message}): start the stack first (npm start, or docker compose up).`);
    }
    say(`   ${name}: ${health.status} (database ${health.database?.status}, cache ${health.cache?.status}, queue ${health.queue?.status})`);
  }

  const tag = randomBytes(3).toString('hex');
  const name = `Demo Acme ${tag}`;
  const renamed = `Demo Acme ${tag} (renamed)`;
  step(2, 'Create an organisation, and a person who works there (editor token)');
  const org = (await call(ORGS, 'POST', '/api/v1/organisations', { token: editor, expect: [201], body: { name, category: 'corporate' }, note: (o) => `id ${o.id}` })).json;
  const person = (await call(PEOPLE, 'POST', '/api/v1/people', {
    token: editor, expect: [201], note: (p) => `id ${p.id}`,
    body: { firstName: 'Ada', lastName: `Demo-${tag}`, email: `ada.demo.${tag}@example.com`, organisationId: org.id },
  })).json;

  try {
    const search = `/api/v1/organisations/search?q=${tag}`;
    step(3, 'The same read twice: the first (MISS) goes to PostgreSQL and fills Redis, the second (HIT) is served from Redis');
    const names = (page) => `[${page.items.map((o) => JSON.stringify(o.name)).join(', ')}]`;
    const first = await call(ORGS, 'GET', search, { token: reader, note: names });
    const second = await call(ORGS, 'GET', search, { token: reader, note: names });
    if (first.cache !== 'MISS' || second.cache !== 'HIT') say(`   (expected MISS then HIT: is CACHE_ENABLED=false, or Redis down?)`);

    step(4, "people-api shows the person with their organisation's name embedded");
    const orgName = (p) => `organisation.name = ${JSON.stringify(p.organisation?.name)}`;
    const warmed = await call(PEOPLE, 'GET', `/api/v1/people/${person.id}`, { token: reader, note: orgName });
    await call(PEOPLE, 'GET', `/api/v1/people/${person.id}`, { token: reader, note: orgName });
    if (warmed.cache === 'HIT') say('   (a HIT from the first read: the cache worker warmed this detail up right after the person was created)');

    step(5, 'Rename the organisation: the row and an outbox event commit together, the affected cache tags are invalidated before the write answers, and a job tells the cache worker');
    const write = await call(ORGS, 'PATCH', `/api/v1/organisations/${org.id}`, { token: editor, body: { name: renamed }, note: (o) => `name = ${JSON.stringify(o.name)}` });

    step(6, 'Read again on both APIs: the new name everywhere, never the old one (MISS: refilled from PostgreSQL; HIT: already refilled, e.g. by the worker\'s warm-up)');
    const afterSearch = await call(ORGS, 'GET', search, { token: reader, note: names });
    const afterPerson = await call(PEOPLE, 'GET', `/api/v1/people/${person.id}`, { token: reader, note: orgName });
    const again = await call(PEOPLE, 'GET', `/api/v1/people/${person.id}`, { token: reader, note: orgName });
    const stale = [afterSearch.json.items[0]?.name, afterPerson.json.organisation?.name, again.json.organisation?.name].some((n) => n !== renamed);
    if (stale) throw new DemoError(`a read after the write still showed the old name: the cache served stale data`);
    say(`   Fresh on both APIs; the second people-api read is a ${again.cache} again.`);

    step(7, "The write's trace: the HTTP request, its SQL, the cache invalidation, the outbox relay and the worker's job");
    const traceId = traceIdOf(write.headers.get('traceresponse'));
    if (traceId) {
      say(`   trace id ${traceId} (from the traceresponse header)`);
      say(`   ${JAEGER}/trace/${traceId}`);
      say('   (in Jaeger when the services export spans: docker compose sets OTEL_EXPORTER_OTLP_ENDPOINT; with npm start, set it in .env)');
    } else {
      say('   No traceresponse header: tracing is off in this stack (OTEL_SDK_DISABLED=true).');
    }

    step(8, 'Cache stats: counted across every replica of both APIs');
    const stats = (await call(ORGS, 'GET', '/api/v1/cache/stats', { token: reader })).json;
    say(`   hits ${stats.hits}, misses ${stats.misses}, hit rate ${stats.hitRate}%, keys ${stats.keysCount}, memory ${stats.memoryUsed}${stats.available ? '' : ' (cache unavailable)'}`);
    for (const [prefix, p] of Object.entries(stats.byPrefix ?? {})) say(`   ${prefix.padEnd(14)} hits ${p.hits}, misses ${p.misses}, hit rate ${p.hitRate}%`);
  } finally {
    step(9, 'Clean up: delete the demo person and organisation');
    await call(PEOPLE, 'DELETE', `/api/v1/people/${person.id}`, { token: editor, expect: [204, 404] });
    await call(ORGS, 'DELETE', `/api/v1/organisations/${org.id}`, { token: editor, expect: [204, 404] });
  }
  say(`\nDemo done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

main().catch((error) => {
  process.stderr.write(`\ndemo failed: ${error instanceof DemoError ? error.message : error.stack}\n`);
  process.exit(1);
});
