// Checks the metrics stack without a Docker engine: Prometheus's scrape configuration, Grafana's
// provisioning, and every query of every provisioned dashboard against the metrics the code defines.
// The allow-list of metrics and labels is read from the services' sources, never copied here.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..', '..');
const read = (relative: string) => readFileSync(path.join(root, relative), 'utf8');

const APP_SERVICES = { 'organisations-api': 3001, 'people-api': 3002, 'cache-worker': 3003 } as const;
const OBSERVABILITY = ['prometheus', 'grafana', 'redis-exporter'];

// ---------------------------------------------------------------- compose

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  ports?: string[];
  volumes?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** A service's bind mounts (`./host:/container[:ro]`), host paths made absolute. */
function bindMounts(name: string): { host: string; container: string }[] {
  return (service(name).volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([host]) => host!.startsWith('.') || host!.startsWith('/'))
    .map(([host, container]) => ({ host: path.resolve(root, host!), container: container! }));
}

/** Where a path inside a container comes from on this machine, through the service's bind mounts. */
function hostPath(name: string, containerPath: string): string | undefined {
  const mount = bindMounts(name)
    .filter((m) => containerPath === m.container || containerPath.startsWith(`${m.container}/`))
    .sort((a, b) => b.container.length - a.container.length)[0];
  return mount && path.join(mount.host, path.relative(mount.container, containerPath));
}

/** Container ports a service publishes (`"host:container"` or `"ip:host:container"`). */
const publishedPorts = (name: string) => (service(name).ports ?? []).map((p) => Number(String(p).split(':').at(-1)));

// ---------------------------------------------------------------- what the code exposes

interface MetricDef {
  type: 'Counter' | 'Gauge' | 'Histogram' | 'Summary';
  labels: string[];
  file: string;
}

const METRIC_SOURCES = ['packages/telemetry/src/metrics.ts', 'services/cache-worker/src/metrics.ts'];

/** Every prom-client metric the services create: `new Counter|Gauge|Histogram|Summary({ name, labelNames })`. */
function readMetricDefinitions(): Map<string, MetricDef> {
  const defs = new Map<string, MetricDef>();
  for (const file of METRIC_SOURCES) {
    const text = read(file);
    const starts = [...text.matchAll(/new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{/g)];
    starts.forEach((start, i) => {
      const body = text.slice(start.index, starts[i + 1]?.index ?? text.length);
      const name = /\bname:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/.exec(body)?.[1];
      if (!name) throw new Error(`${file}: a ${start[1]} without a literal name`);
      const labelList = /\blabelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      const labels = [...labelList.matchAll(/'([a-zA-Z_][a-zA-Z0-9_]*)'/g)].map((m) => m[1]!);
      defs.set(name, { type: start[1] as MetricDef['type'], labels, file });
    });
  }
  return defs;
}

/** Labels every series of a registry carries: `registry.setDefaultLabels({ service })`. */
function readDefaultLabels(): string[] {
  const text = read('packages/telemetry/src/metrics.ts');
  const object = /setDefaultLabels\(\s*\{([^}]*)\}\s*\)/.exec(text)?.[1] ?? '';
  return object.split(',').map((entry) => entry.split(':')[0]!.trim()).filter(Boolean);
}

/** The values a label can take, read from the code that sets it. */
function readLabelValues(): Record<string, string[]> {
  const literals = (text: string) => [...text.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  const cacheResult = /type\s+CacheResult\s*=\s*([^;]+);/.exec(read('packages/cache/src/stats.ts'))?.[1] ?? '';
  const states = /const\s+STATES\s*=\s*\[([^\]]*)\]/.exec(read('services/cache-worker/src/metrics.ts'))?.[1] ?? '';
  const queues = /export\s+const\s+QUEUES\s*=\s*\{([^}]*)\}/.exec(read('packages/jobs/src/contracts.ts'))?.[1] ?? '';
  const fixedRoutes = [...read('packages/http/src/app.ts').matchAll(/app\.get\(\s*'([^']+)'/g)].map((m) => m[1]!);
  return {
    result: literals(cacheResult),
    state: literals(states),
    queue: literals(queues),
    // Only the routes every service mounts itself are named in queries (to leave them out).
    route: fixedRoutes,
    service: Object.keys(APP_SERVICES),
  };
}

// redis_exporter is a third-party image, not code of this repository: the few of its metrics the
// dashboard may use (oliver006/redis_exporter's documented names; series about the server itself).
const EXPORTER_METRICS = ['redis_up', 'redis_memory_used_bytes', 'redis_memory_max_bytes', 'redis_evicted_keys_total'];

// ---------------------------------------------------------------- Prometheus and Grafana files

interface StaticConfig { targets: string[]; labels?: Record<string, string> }
interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs?: StaticConfig[];
  relabel_configs?: { source_labels?: string[]; target_label?: string; replacement?: string; action?: string }[];
  [key: string]: unknown;
}
interface PrometheusConfig { global?: { scrape_interval?: string }; rule_files?: string[]; scrape_configs?: ScrapeConfig[] }

const PROMETHEUS_CONFIG_IN_CONTAINER = '/etc/prometheus/prometheus.yml';

function prometheusConfigFile(): string {
  // The image's own command reads /etc/prometheus/prometheus.yml; an overridden command would name another.
  const command = service('prometheus').command;
  const flag = (Array.isArray(command) ? command : []).find((arg) => arg.startsWith('--config.file='));
  const inContainer = flag?.split('=')[1] ?? PROMETHEUS_CONFIG_IN_CONTAINER;
  const file = hostPath('prometheus', inContainer);
  if (!file) throw new Error(`nothing is mounted at ${inContainer} in the prometheus service`);
  return file;
}

interface Datasource { name: string; uid?: string; type: string; url?: string; isDefault?: boolean; jsonData?: Record<string, unknown> }
interface Provider { name: string; type?: string; options?: { path?: string } }

/** Grafana's provisioning folder on this machine, through the compose mounts. */
function provisioningDir(): string {
  const inContainer = service('grafana').environment?.GF_PATHS_PROVISIONING ?? '/etc/grafana/provisioning';
  const dir = hostPath('grafana', inContainer);
  if (!dir) throw new Error(`nothing is mounted at ${inContainer} in the grafana service`);
  return dir;
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
}

function provisioned<T>(kind: 'datasources' | 'dashboards', key: 'datasources' | 'providers'): T[] {
  return yamlFiles(path.join(provisioningDir(), kind)).flatMap((file) => ((parse(readFileSync(file, 'utf8')) as Record<string, T[]>)[key] ?? []));
}

interface Target { expr?: string; legendFormat?: string; refId?: string; datasource?: { type?: string; uid?: string } }
interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { h: number; w: number; x: number; y: number };
}
interface Dashboard { uid?: string; title?: string; panels?: Panel[]; templating?: { list?: unknown[] } }

/** The dashboard files the providers load, found through the compose mounts, never listed by hand. */
function providedDashboards(): { file: string; dashboard: Dashboard }[] {
  return provisioned<Provider>('dashboards', 'providers').flatMap((provider) => {
    const dir = hostPath('grafana', provider.options?.path ?? '');
    if (!dir || !existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ file: path.join(dir, f), dashboard: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dashboard }));
  });
}

function allPanels(panels: Panel[] = []): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels)]);
}

// ---------------------------------------------------------------- a small PromQL reader

interface Matcher { label: string; op: string; value: string }
interface Selector { metric: string; matchers: Matcher[] }
interface Query { selectors: Selector[]; grouping: string[]; functions: string[] }

const PROMQL_FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'group',
  'rate', 'irate', 'increase', 'delta', 'deriv', 'histogram_quantile', 'clamp_min', 'clamp_max',
  'abs', 'scalar', 'vector', 'time', 'max_over_time', 'min_over_time', 'avg_over_time',
]);
const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/**
 * The series selectors, grouping labels and functions of a PromQL expression. Not a full parser:
 * enough for dashboard queries, and it throws on anything it does not understand.
 */
function readPromql(expr: string): Query {
  let rest = expr;
  const grouping: string[] = [];
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_all, _kw, labels: string) => {
    grouping.push(...labels.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' '); // range and subquery windows, Grafana's $__rate_interval included
  const selectors: Selector[] = [];
  rest = rest.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, body: string) => {
    if (!metric) throw new Error(`a selector without a metric name in ${expr}`);
    const matchers: Matcher[] = [];
    const leftover = body.replace(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g, (_m, label: string, op: string, value: string) => {
      matchers.push({ label, op, value });
      return '';
    });
    if (leftover.replace(/[\s,]/g, '') !== '') throw new Error(`unreadable matchers {${body}} in ${expr}`);
    selectors.push({ metric, matchers });
    return ' ';
  });
  rest = rest.replace(/"(?:[^"\\]|\\.)*"/g, ' ').replace(/\b\d+(\.\d+)?([eE][+-]?\d+)?\b/g, ' ');
  const functions: string[] = [];
  for (const m of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = rest.slice(m.index + word.length).trimStart();
    if (after.startsWith('(')) functions.push(word);
    else if (!PROMQL_KEYWORDS.has(word)) selectors.push({ metric: word, matchers: [] });
  }
  const leftover = rest.replace(/[a-zA-Z0-9_:\s()+\-*/^%,<>=!]/g, '');
  if (leftover !== '') throw new Error(`unexpected characters ${JSON.stringify(leftover)} in ${expr}`);
  return { selectors, grouping, functions };
}

// ---------------------------------------------------------------- the tests

describe('the PromQL reader used below', () => {
  it('finds metrics, matchers, grouping labels and functions', () => {
    const query = readPromql('histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{route!~"/metrics|/health", method="GET"}[$__rate_interval]))) / up');
    expect(query.selectors).toEqual([
      { metric: 'http_request_duration_seconds_bucket', matchers: [{ label: 'route', op: '!~', value: '/metrics|/health' }, { label: 'method', op: '=', value: 'GET' }] },
      { metric: 'up', matchers: [] },
    ]);
    expect(query.grouping).toEqual(['le', 'route']);
    expect(query.functions).toEqual(['histogram_quantile', 'sum', 'rate']);
  });

  it('refuses what it cannot read', () => {
    expect(() => readPromql('{__name__="up"}')).toThrow(/without a metric name/);
    expect(() => readPromql('up{job=~crm}')).toThrow(/unreadable matchers/);
  });
});

describe('the metrics the code defines', () => {
  it('include the contract metrics with their labels, on registries labelled by service', () => {
    const defs = readMetricDefinitions();
    const labelsOf = (name: string) => defs.get(name)?.labels;
    expect(labelsOf('http_request_duration_seconds')).toEqual(['method', 'route', 'status_code']);
    expect(labelsOf('cache_requests_total')).toEqual(['prefix', 'result']);
    expect(labelsOf('cache_operation_duration_seconds')).toEqual(['operation']);
    expect(labelsOf('db_queries_total')).toEqual(['service']);
    expect(labelsOf('cache_invalidation_lag_seconds')).toEqual([]);
    expect(labelsOf('bullmq_jobs')).toEqual(['queue', 'state']);
    expect(labelsOf('cache_inconsistent_total')).toEqual(['prefix']);
    expect(readDefaultLabels()).toEqual(['service']);
    const values = readLabelValues();
    expect(values.result).toEqual(['hit', 'miss', 'stale', 'bypass', 'error']);
    expect(values.state).toEqual(expect.arrayContaining(['waiting', 'active', 'delayed', 'failed']));
    expect(values.queue).toEqual(['cache-invalidation', 'cache-warmup']);
    expect(values.route).toEqual(expect.arrayContaining(['/health', '/metrics']));
  });
});

describe('docker-compose.yml: the metrics stack', () => {
  it('pins official images', () => {
    expect(service('prometheus').image).toMatch(/^prom\/prometheus:v3\.\d+\.\d+$/);
    expect(service('grafana').image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(service('redis-exporter').image).toMatch(/^oliver006\/redis_exporter:v\d+\.\d+\.\d+$/);
  });

  it('publishes Prometheus on 9090 and Grafana on 3000 (on 127.0.0.1 unless BIND_ADDRESS says otherwise)', () => {
    expect(service('prometheus').ports).toContain('${BIND_ADDRESS:-127.0.0.1}:9090:9090');
    expect(service('grafana').ports).toContain('${BIND_ADDRESS:-127.0.0.1}:3000:3000');
  });

  it('never makes the platform wait for the metrics stack', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (OBSERVABILITY.includes(name)) continue;
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      expect({ name, deps: deps.filter((d) => OBSERVABILITY.includes(d)) }).toEqual({ name, deps: [] });
    }
  });

  it('lets anyone view Grafana and only the admin, with a password from the environment, edit', () => {
    const env = service('grafana').environment ?? {};
    expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    // Required, no default (compose refuses to start without it: compose.test.ts).
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/);
    const home = env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home) expect(existsSync(hostPath('grafana', home) ?? '')).toBe(true);
  });

  it('mounts every file it names from infra/', () => {
    for (const name of ['prometheus', 'grafana']) {
      const mounts = bindMounts(name);
      expect(mounts.length).toBeGreaterThan(0);
      for (const { host } of mounts) {
        expect(host.startsWith(path.join(root, 'infra') + path.sep)).toBe(true);
        expect({ host, exists: existsSync(host) }).toEqual({ host, exists: true });
      }
    }
  });

  it('has the exporter skip a Redis on its own localhost', () => {
    expect(service('redis-exporter').command).toEqual(['--redis.addr=']);
  });
});

// Files are read in beforeAll, not while tests are collected: a missing or broken file fails the
// tests that need it, with its error, instead of the whole file.
describe('infra/prometheus/prometheus.yml', () => {
  const targetsOf = (job: ScrapeConfig) => (job.static_configs ?? []).flatMap((c) => c.targets);
  let config: PrometheusConfig;
  let jobs: ScrapeConfig[];
  let serviceJobs: ScrapeConfig[];
  let redisJobs: ScrapeConfig[];

  beforeAll(() => {
    config = parse(readFileSync(prometheusConfigFile(), 'utf8')) as PrometheusConfig;
    jobs = config.scrape_configs ?? [];
    serviceJobs = jobs.filter((j) => (j.metrics_path ?? '/metrics') === '/metrics');
    redisJobs = jobs.filter((j) => j.metrics_path === '/scrape');
  });

  it('is the file compose mounts, and scrapes every 15 s or 5 s', () => {
    expect(path.relative(root, prometheusConfigFile())).toBe(path.join('infra', 'prometheus', 'prometheus.yml'));
    expect(['15s', '5s']).toContain(config.global?.scrape_interval);
    for (const job of jobs) expect(['15s', '5s', undefined]).toContain(job.scrape_interval);
  });

  it('scrapes exactly the three services, on their contract ports, and the exporter', () => {
    expect(serviceJobs.flatMap(targetsOf).sort()).toEqual(Object.entries(APP_SERVICES).map(([name, port]) => `${name}:${port}`).sort());
    expect(serviceJobs.length + redisJobs.length).toBe(jobs.length);
    expect(redisJobs).toHaveLength(1);
    for (const [name, port] of Object.entries(APP_SERVICES)) expect(publishedPorts(name)).toContain(port);
  });

  it('reads every Redis server of the stack through redis-exporter, each labelled by its role', () => {
    const job = redisJobs[0]!;
    const redisServices = Object.entries(compose.services).filter(([, s]) => /^redis:/.test(s.image ?? '')).map(([name]) => name).sort();
    expect(redisServices).toEqual(['redis-cache', 'redis-queue']);
    expect(targetsOf(job).sort()).toEqual(redisServices.map((name) => `redis://${name}:6379`));
    const roles = (job.static_configs ?? []).flatMap((c) => c.targets.map(() => c.labels?.redis));
    expect(roles.sort()).toEqual(['cache', 'queue']);
    // The multi-target pattern: the target becomes ?target= and instance, the exporter the address.
    const relabel = job.relabel_configs ?? [];
    expect(relabel).toEqual([
      expect.objectContaining({ source_labels: ['__address__'], target_label: '__param_target' }),
      expect.objectContaining({ source_labels: ['__param_target'], target_label: 'instance' }),
      expect.objectContaining({ target_label: '__address__', replacement: 'redis-exporter:9121' }),
    ]);
    expect(compose.services['redis-exporter']).toBeDefined();
  });
});

describe('Grafana provisioning', () => {
  let prometheus: Datasource[];
  let providers: Provider[];

  beforeAll(() => {
    prometheus = provisioned<Datasource>('datasources', 'datasources').filter((d) => d.type === 'prometheus');
    providers = provisioned<Provider>('dashboards', 'providers');
  });

  it('is mounted from infra/grafana/provisioning', () => {
    expect(path.relative(root, provisioningDir())).toBe(path.join('infra', 'grafana', 'provisioning'));
    expect(statSync(provisioningDir()).isDirectory()).toBe(true);
  });

  it('provides one Prometheus datasource with a fixed uid, at the compose Prometheus', () => {
    expect(prometheus).toHaveLength(1);
    const [ds] = prometheus;
    expect(ds!.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const url = new URL(ds!.url ?? '');
    expect(url.hostname).toBe('prometheus');
    expect(publishedPorts('prometheus')).toContain(Number(url.port));
    // $__rate_interval is computed from it: it must be the real scrape interval.
    const promConfig = parse(readFileSync(prometheusConfigFile(), 'utf8')) as PrometheusConfig;
    expect(ds!.jsonData?.timeInterval).toBe(promConfig.global?.scrape_interval);
  });

  it('loads dashboards from a folder compose mounts from infra/grafana/dashboards', () => {
    expect(providers.length).toBeGreaterThan(0);
    for (const provider of providers) {
      expect(provider.type ?? 'file').toBe('file');
      const dir = hostPath('grafana', provider.options?.path ?? '');
      expect(dir && path.relative(root, dir)).toBe(path.join('infra', 'grafana', 'dashboards'));
      expect(readdirSync(dir!).filter((f) => f.endsWith('.json')).length).toBeGreaterThan(0);
    }
  });
});

/** Every series name a dashboard may query, with the labels it carries: the code's metrics, the exporter's, `up`. */
function allowedSeries(promConfig: PrometheusConfig): Map<string, Set<string>> {
  /** Labels Prometheus adds to a job's series: job, instance, and the static labels of its targets. */
  const targetLabels = (filter: (job: ScrapeConfig) => boolean) => [
    'job',
    'instance',
    ...(promConfig.scrape_configs ?? []).filter(filter).flatMap((j) => (j.static_configs ?? []).flatMap((c) => Object.keys(c.labels ?? {}))),
  ];
  const allowed = new Map<string, Set<string>>();
  const serviceLabels = [...readDefaultLabels(), ...targetLabels((j) => (j.metrics_path ?? '/metrics') === '/metrics')];
  for (const [name, def] of readMetricDefinitions()) {
    const labels = [...def.labels, ...serviceLabels];
    if (def.type === 'Histogram') {
      allowed.set(`${name}_bucket`, new Set([...labels, 'le']));
      allowed.set(`${name}_sum`, new Set(labels));
      allowed.set(`${name}_count`, new Set(labels));
    } else if (def.type === 'Summary') {
      allowed.set(name, new Set([...labels, 'quantile']));
      allowed.set(`${name}_sum`, new Set(labels));
      allowed.set(`${name}_count`, new Set(labels));
    } else {
      allowed.set(name, new Set(labels));
    }
  }
  const redisLabels = targetLabels((j) => j.metrics_path === '/scrape');
  for (const name of EXPORTER_METRICS) allowed.set(name, new Set(redisLabels));
  allowed.set('up', new Set(targetLabels(() => true))); // Prometheus's own series for each target
  return allowed;
}

describe('the provisioned dashboards', () => {
  type DashboardQuery = { where: string; panel: Panel; target: Target };
  let dashboards: { file: string; dashboard: Dashboard }[];
  let queries: DashboardQuery[];
  let allowed: Map<string, Set<string>>;
  let labelValues: Record<string, string[]>;
  let datasourceUid: string | undefined;

  beforeAll(() => {
    dashboards = providedDashboards();
    queries = dashboards.flatMap(({ file, dashboard }) =>
      allPanels(dashboard.panels)
        .filter((p) => p.type !== 'row')
        .flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `${path.basename(file)} "${panel.title}" ${target.refId}`, panel, target }))),
    );
    allowed = allowedSeries(parse(readFileSync(prometheusConfigFile(), 'utf8')) as PrometheusConfig);
    labelValues = readLabelValues();
    datasourceUid = provisioned<Datasource>('datasources', 'datasources').find((d) => d.type === 'prometheus')?.uid;
  });

  it('are the dashboards of infra/grafana/dashboards, valid JSON with unique uids', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    const uids = dashboards.map((d) => d.dashboard.uid);
    for (const uid of uids) expect(uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('give every panel a title, a place, a unique id and at least one query', () => {
    for (const { dashboard } of dashboards) {
      const panels = allPanels(dashboard.panels);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const panel of panels) {
        expect(panel.title).toBeTruthy();
        expect(panel.gridPos).toEqual(expect.objectContaining({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) }));
        expect(panel.gridPos!.x + panel.gridPos!.w).toBeLessThanOrEqual(24);
        if (panel.type === 'row') continue;
        const targets = panel.targets ?? [];
        expect({ title: panel.title, queries: targets.length > 0, allWithExpr: targets.every((t) => !!t.expr?.trim()) })
          .toEqual({ title: panel.title, queries: true, allWithExpr: true });
        const refIds = targets.map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    }
  });

  it('query the provisioned Prometheus datasource by its uid', () => {
    expect(datasourceUid).toBeTruthy();
    for (const { where, panel, target } of queries) {
      expect({ where, panel: panel.datasource }).toEqual({ where, panel: { type: 'prometheus', uid: datasourceUid } });
      expect({ where, target: target.datasource ?? panel.datasource }).toEqual({ where, target: { type: 'prometheus', uid: datasourceUid } });
    }
    for (const { dashboard } of dashboards) {
      // A datasource picked by name in a variable would bypass the uid: none here.
      expect(JSON.stringify(dashboard.templating ?? {})).not.toMatch(/"datasource"\s*:\s*"(?!\$)/);
    }
  });

  it('use only metrics the services or the exporter expose, with their labels and label values', () => {
    expect(queries.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const { where, target } of queries) {
      expect({ where, expr: typeof target.expr }).toEqual({ where, expr: 'string' });
      const query = readPromql(target.expr!);
      const used = new Set<string>();
      for (const { metric, matchers } of query.selectors) {
        const labels = allowed.get(metric);
        if (!labels) {
          problems.push(`${where}: unknown metric ${metric}`);
          continue;
        }
        labels.forEach((l) => used.add(l));
        for (const { label, op, value } of matchers) {
          if (!labels.has(label)) problems.push(`${where}: ${metric} has no label ${label}`);
          const known = labelValues[label];
          if (!known) continue;
          // Equality and simple alternations ("hit|miss") must name values the code produces.
          const names = op === '=' || op === '!=' ? [value] : /^[\w/-]+(\|[\w/-]+)*$/.test(value) ? value.split('|') : [];
          for (const name of names) if (!known.includes(name)) problems.push(`${where}: ${label}="${name}" is never produced (${known.join(', ')})`);
        }
      }
      for (const label of query.grouping) if (!used.has(label)) problems.push(`${where}: grouping by ${label}, which no metric of the query has`);
      for (const fn of query.functions) if (!PROMQL_FUNCTIONS.has(fn)) problems.push(`${where}: unknown function ${fn}`);
      if (query.functions.includes('histogram_quantile')) {
        if (!query.grouping.includes('le')) problems.push(`${where}: histogram_quantile without le in its aggregation`);
        if (!query.selectors.every((s) => s.metric.endsWith('_bucket'))) problems.push(`${where}: histogram_quantile over a series that is not a _bucket`);
      }
      const legendLabels = [...(target.legendFormat ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);
      const kept = query.grouping.length > 0 ? new Set(query.grouping) : used;
      for (const label of legendLabels) if (!kept.has(label)) problems.push(`${where}: legend {{${label}}} is not a label of the result`);
    }
    expect(problems).toEqual([]);
  });

  it('show the cache, HTTP, database, queue, invalidation and Redis panels the issue asks for', () => {
    const exprs = queries.map((q) => q.target.expr ?? '');
    const selectors = exprs.flatMap((e) => readPromql(e).selectors);
    const uses = (metric: string, label?: string, value?: string) =>
      selectors.some((s) => s.metric === metric && (!label || s.matchers.some((m) => m.label === label && (value === undefined || m.value.split('|').includes(value)))));
    // Cache hit rate, overall and per prefix: hits over hits + misses.
    expect(uses('cache_requests_total', 'result', 'hit')).toBe(true);
    expect(uses('cache_requests_total', 'result', 'miss')).toBe(true);
    expect(exprs.some((e) => e.includes('cache_requests_total') && readPromql(e).grouping.includes('prefix'))).toBe(true);
    expect(exprs.some((e) => e.includes('cache_requests_total{result="hit"}') && readPromql(e).grouping.length === 0)).toBe(true);
    // HTTP latency p50/p95/p99 by route, and the request rate by status.
    for (const q of ['0.5', '0.95', '0.99']) {
      expect({ q, found: exprs.some((e) => e.startsWith(`histogram_quantile(${q},`) && e.includes('http_request_duration_seconds_bucket') && readPromql(e).grouping.includes('route')) }).toEqual({ q, found: true });
    }
    expect(exprs.some((e) => e.includes('http_request_duration_seconds_count') && readPromql(e).grouping.includes('status_code'))).toBe(true);
    // Database queries per second by service.
    expect(exprs.some((e) => /rate\(db_queries_total\[/.test(e) && readPromql(e).grouping.includes('service'))).toBe(true);
    // Queue depth and failures.
    for (const state of ['waiting', 'active', 'delayed', 'failed']) expect({ state, found: uses('bullmq_jobs', 'state', state) }).toEqual({ state, found: true });
    // Invalidation lag p50 and p99.
    for (const q of ['0.5', '0.99']) {
      expect({ q, found: exprs.some((e) => e.startsWith(`histogram_quantile(${q},`) && e.includes('cache_invalidation_lag_seconds_bucket')) }).toEqual({ q, found: true });
    }
    // Redis memory and evictions.
    expect(uses('redis_memory_used_bytes')).toBe(true);
    expect(uses('redis_evicted_keys_total')).toBe(true);
  });
});

describe('the Prometheus alert rules', () => {
  interface Rule { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  let rules: { file: string; rule: Rule }[];
  let allowed: Map<string, Set<string>>;

  beforeAll(() => {
    const config = parse(readFileSync(prometheusConfigFile(), 'utf8')) as PrometheusConfig;
    allowed = allowedSeries(config);
    rules = (config.rule_files ?? []).flatMap((inContainer) => {
      const file = hostPath('prometheus', inContainer);
      if (!file || !existsSync(file)) throw new Error(`rule file ${inContainer} is not mounted in the prometheus service`);
      const groups = (parse(readFileSync(file, 'utf8')) as { groups?: { rules?: Rule[] }[] }).groups ?? [];
      return groups.flatMap((g) => (g.rules ?? []).map((rule) => ({ file: path.basename(file), rule })));
    });
  });

  it('are mounted files whose expressions use only metrics and labels the code defines', () => {
    const problems: string[] = [];
    for (const { file, rule } of rules) {
      const query = readPromql(rule.expr);
      for (const { metric, matchers } of query.selectors) {
        const labels = allowed.get(metric);
        if (!labels) problems.push(`${file} ${rule.alert}: unknown metric ${metric}`);
        for (const { label } of matchers) if (labels && !labels.has(label)) problems.push(`${file} ${rule.alert}: ${metric} has no label ${label}`);
      }
      for (const fn of query.functions) if (!PROMQL_FUNCTIONS.has(fn)) problems.push(`${file} ${rule.alert}: unknown function ${fn}`);
    }
    expect(problems).toEqual([]);
  });

  it('alert when the consistency auditor finds a stale cache entry', () => {
    const alert = rules.find(({ rule }) => rule.expr.includes('cache_inconsistent_total'));
    expect(alert?.rule).toEqual(expect.objectContaining({ alert: expect.any(String), annotations: expect.objectContaining({ summary: expect.any(String) }) }));
  });
});
