// The browser pages load in headless Chromium and show their content: the API docs of both services
// (swagger-ui over /openapi.json) and the worker's queue dashboard (Bull Board, behind its sign-in form).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { JOB_OPTIONS, QUEUES } from '@crm/jobs';
import { createLogger, ServiceMetrics } from '@crm/telemetry';
import { buildWorkerApp, QUEUES_PAGE, SERVICE } from '@crm/cache-worker';
import { launchChromium, NO_PROBLEMS, openPage } from './browser';
import { startStack, type Stack } from './stack';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

let s: Stack;
let browser: Browser;
let dashboard: { server: Server; url: string };

beforeAll(async () => {
  // On a fresh machine, launching first installs Debian's chromium with apt-get: hence the long timeout.
  browser = await launchChromium();
  s = await startStack({ replicas: 1 });
  const app = buildWorkerApp({
    env: s.env, orm: s.orm, logger: createLogger(SERVICE, 'silent'), metrics: new ServiceMetrics(SERVICE),
    cacheProbe: async () => undefined, queueProbe: async () => undefined, queues: Object.values(s.queues),
    adminQueuesToken: s.adminQueuesToken,
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dashboard = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (dashboard) {
    dashboard.server.closeAllConnections();
    await new Promise((resolve) => dashboard.server.close(resolve));
  }
  await s?.close();
});

describe.each([
  { service: 'organisations-api', api: () => s.organisations[0]!.url, paths: ['/api/v1/organisations', '/api/v1/organisations/{id}', '/api/v1/produits'] },
  { service: 'people-api', api: () => s.people[0]!.url, paths: ['/api/v1/people', '/api/v1/people/{id}', '/api/v1/people/{id}/interactions'] },
])('/docs of $service', ({ service, api, paths }) => {
  it('renders every operation of its OpenAPI document in swagger-ui', async () => {
    const { page, problems, close } = await openPage(browser);
    try {
      const openapi = page.waitForResponse((r) => r.url() === `${api()}/openapi.json`);
      const response = await page.goto(`${api()}/docs`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe(`${service} API`);

      // swagger-ui fetched the document and rendered one block per operation, under each path.
      expect((await openapi).status()).toBe(200);
      const document = await (await openapi).json() as { info: { title: string }; paths: Record<string, Record<string, unknown>> };
      await page.locator('.opblock').first().waitFor();
      expect(await page.locator('.info .title').textContent()).toContain(document.info.title);
      const operations = Object.values(document.paths).flatMap((item) => Object.keys(item).filter((key) => HTTP_METHODS.has(key)));
      expect(await page.locator('.opblock').count()).toBe(operations.length);
      const shown = await page.locator('.opblock-summary-path').evaluateAll((els) => els.map((el) => el.getAttribute('data-path')));
      expect(new Set(shown)).toEqual(new Set(Object.keys(document.paths)));
      expect(shown).toEqual(expect.arrayContaining(paths));

      expect(problems()).toEqual(NO_PROBLEMS);
    } finally {
      await close();
    }
  });
});

describe(QUEUES_PAGE, () => {
  it('without credentials is a 401 page with the sign-in form', async () => {
    const { page, problems, close } = await openPage(browser);
    try {
      const url = `${dashboard.url}${QUEUES_PAGE}`;
      const response = await page.goto(url);
      expect(response?.status()).toBe(401);
      expect(response?.headers()['content-type']).toMatch(/^text\/html/);
      await page.getByLabel(/Dashboard token/).waitFor();
      // The refused page itself is the only error (Chromium logs it to the console too).
      expect(problems()).toEqual({ ...NO_PROBLEMS, consoleErrors: [expect.stringContaining('401')], httpErrors: [`401 ${url}`] });
    } finally {
      await close();
    }
  });

  it('signs in through the form (a POST, no token in any URL) and shows both queues in Bull Board', async () => {
    await s.queues.warmup.add('warmup', { reason: 'startup', targets: [{ service: 'organisations-api', path: '/produits' }] }, { ...JOB_OPTIONS, jobId: 'browser-test' });
    await s.completed(s.queues.warmup, 'browser-test');
    const { page, context, problems, close } = await openPage(browser);
    try {
      await page.goto(`${dashboard.url}${QUEUES_PAGE}/login`);
      await page.getByLabel(/Dashboard token/).fill(s.adminQueuesToken);
      const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);

      // A 303 to the dashboard that set an HttpOnly cookie, which the page's own API calls then carry.
      expect(response?.status()).toBe(200);
      expect((await response!.request().redirectedFrom()?.response())?.status()).toBe(303);
      expect(page.url()).toBe(`${dashboard.url}${QUEUES_PAGE}`);
      const cookies = await context.cookies();
      expect(cookies).toEqual([expect.objectContaining({ name: 'crm_queues_session', httpOnly: true, sameSite: 'Strict', path: QUEUES_PAGE })]);
      expect(cookies[0]!.value).not.toContain(s.adminQueuesToken);
      expect(await page.evaluate<string>('document.cookie')).toBe(''); // HttpOnly: not for scripts

      // The overview: a card per queue with its job count, at least our job in the warm-up one. (Counts are
      // not exact: another test run sharing the test queue database may add jobs meanwhile.)
      const main = page.getByRole('main');
      const card = (queue: string) => main.getByRole('listitem').filter({ has: page.getByRole('link', { name: queue, exact: true }) });
      await card(QUEUES.invalidation).getByText(/^\d+ Jobs?$/).waitFor();
      await card(QUEUES.warmup).getByText(/^[1-9]\d* Jobs?$/).waitFor();

      // The queue's page lists the job.
      await main.getByRole('link', { name: QUEUES.warmup, exact: true }).click();
      await page.waitForURL(`${dashboard.url}${QUEUES_PAGE}/queue/${QUEUES.warmup}`);
      await main.getByText('browser-test').first().waitFor();

      expect(problems()).toEqual(NO_PROBLEMS);
    } finally {
      await close();
    }
  });
});
