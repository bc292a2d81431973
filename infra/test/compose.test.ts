// Checks the compose stack and the image recipe without a Docker engine: docker-compose
// validates the file, and the rest is read from the files themselves.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..', '..');
const composeFile = path.join(root, 'docker-compose.yml');
const dockerfile = path.join(root, 'infra', 'Dockerfile');

const APP_SERVICES = { 'organisations-api': 3001, 'people-api': 3002, 'cache-worker': 3003 } as const;
type AppService = keyof typeof APP_SERVICES;
const APP_NAMES = Object.keys(APP_SERVICES) as AppService[];

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: (string | { host_ip?: string; published?: string | number; target?: number })[];
  user?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

// `merge: true`: the file shares fragments through YAML anchors and `<<:` merge keys.
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as ComposeFile;

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** `--flag value` pairs of a redis-server command line. */
function redisFlags(name: string): Map<string, string> {
  const command = service(name).command;
  expect(Array.isArray(command)).toBe(true);
  const args = command as string[];
  expect(args[0]).toBe('redis-server');
  const flags = new Map<string, string>();
  for (let i = 1; i < args.length; i += 2) flags.set(args[i]!, args[i + 1] ?? '');
  return flags;
}

/** The secrets compose requires (`${NAME:?message}`), with a test value each. */
const REQUIRED = {
  JWT_SECRET: 'compose-test-jwt-secret-0123456789abcdef0123456789',
  REDIS_PASSWORD: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  GRAFANA_ADMIN_PASSWORD: 'compose-test-grafana-password',
} as const;
type Required = keyof typeof REQUIRED;
/** Variables the file reads: cleared from the test's environment, so only what a test sets applies. */
const COMPOSE_VARIABLES = [...Object.keys(REQUIRED), 'BIND_ADDRESS', 'RATE_LIMIT_PER_MINUTE', 'RATE_LIMIT_EXPENSIVE_PER_MINUTE', 'TRUST_PROXY'];

/**
 * `docker-compose config` with exactly these variables: an empty --env-file keeps a developer's .env out.
 * Returns the resolved file when it is valid.
 */
function composeConfig(variables: Record<string, string>): { status: number | null; stdout: string; stderr: string; resolved: ComposeFile | null } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of COMPOSE_VARIABLES) delete env[name];
  const emptyEnvFile = path.join(mkdtempSync(path.join(tmpdir(), 'compose-test-')), 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const run = spawnSync('docker-compose', ['--env-file', emptyEnvFile, '-f', composeFile, 'config'], { cwd: root, encoding: 'utf8', env: { ...env, ...variables } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, resolved: run.status === 0 ? (parse(run.stdout) as ComposeFile) : null };
}

/** The host address a published port binds (compose 1.29 prints `ip:host:container/proto`; v2, long syntax). */
function hostIp(port: NonNullable<ComposeService['ports']>[number]): string {
  if (typeof port !== 'string') return port.host_ip ?? '0.0.0.0';
  const parts = port.split(':');
  return parts.length === 3 ? parts[0]! : '0.0.0.0';
}

function ensureDockerCompose(): void {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return;
  // CI runs as root on a fresh Debian machine: install Debian's docker-compose (1.29), the
  // client alone; it validates files without a Docker engine.
  const install = spawnSync(
    'bash',
    ['-c', 'apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose'],
    { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  if (install.status !== 0) {
    throw new Error(`docker-compose is missing and could not be installed:\n${install.stdout}\n${install.stderr}`);
  }
}

describe('docker-compose.yml', () => {
  let config: ReturnType<typeof composeConfig>;
  /** The file as compose resolves it with the required secrets set, and nothing else. */
  let resolved: ComposeFile;

  beforeAll(() => {
    ensureDockerCompose();
    config = composeConfig(REQUIRED);
    resolved = config.resolved ?? { services: {} };
  }, 600_000);

  it('is valid for docker-compose config', () => {
    expect(config.stderr).not.toMatch(/invalid|error/i);
    expect(config.status).toBe(0);
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(compose.services).sort());
  });

  it.each(Object.keys(REQUIRED) as Required[])('refuses to start without %s, saying what to set', (name) => {
    const { [name]: _left, ...others } = REQUIRED;
    const without = composeConfig(others);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain(`${name} must be set`);
    // An empty value is no value either.
    const empty = composeConfig({ ...others, [name]: '' });
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toContain(`${name} must be set`);
  });

  it('publishes every port on 127.0.0.1 by default; BIND_ADDRESS opens all but the data stores', () => {
    const published = (file: ComposeFile) => Object.entries(file.services).flatMap(([name, s]) => (s.ports ?? []).map((port) => ({ name, ip: hostIp(port) })));
    const byDefault = published(resolved);
    expect(byDefault.map((p) => p.name)).toEqual(expect.arrayContaining([...APP_NAMES, 'jaeger', 'prometheus', 'grafana', 'postgres', 'redis-cache', 'redis-queue']));
    expect(byDefault.filter((p) => p.ip !== '127.0.0.1')).toEqual([]);

    const opened = composeConfig({ ...REQUIRED, BIND_ADDRESS: '0.0.0.0' });
    expect(opened.status).toBe(0);
    const stores = ['postgres', 'redis-cache', 'redis-queue'];
    for (const { name, ip } of published(opened.resolved!)) {
      expect({ name, ip }).toEqual({ name, ip: stores.includes(name) ? '127.0.0.1' : '0.0.0.0' });
    }
  });

  it('gives both Redis servers the password; every client URL, the healthchecks and the exporter use it', () => {
    const password = REQUIRED.REDIS_PASSWORD;
    for (const name of ['redis-cache', 'redis-queue']) {
      const redis = resolved.services[name]!;
      const args = redis.command as string[];
      expect({ name, requirepass: args[args.indexOf('--requirepass') + 1] }).toEqual({ name, requirepass: password });
      // redis-cli reads REDISCLI_AUTH: the healthcheck's PING passes only with the password.
      expect(redis.environment?.REDISCLI_AUTH).toBe(password);
      expect(JSON.stringify(redis.healthcheck?.test)).toContain('redis-cli ping');
    }
    const urls = Object.entries(resolved.services).flatMap(([name, s]) => Object.entries(s.environment ?? {})
      .filter(([, value]) => /^rediss?:\/\//.test(String(value)))
      .map(([variable, value]) => ({ name, variable, host: new URL(String(value)).hostname, password: decodeURIComponent(new URL(String(value)).password) })));
    expect(urls.filter((u) => u.variable === 'REDIS_URL').map((u) => u.name).sort()).toEqual([...APP_NAMES, 'migrate'].sort());
    expect(urls.filter((u) => u.variable === 'QUEUE_REDIS_URL').map((u) => u.name).sort()).toEqual([...APP_NAMES, 'migrate'].sort());
    for (const url of urls) expect(url).toEqual({ ...url, host: url.variable === 'QUEUE_REDIS_URL' ? 'redis-queue' : 'redis-cache', password });
    expect(resolved.services['redis-exporter']?.environment?.REDIS_PASSWORD).toBe(password);
  });

  it('hands Grafana the admin password it is given, never a default', () => {
    expect(resolved.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe(REQUIRED.GRAFANA_ADMIN_PASSWORD);
    expect(service('grafana').environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?/);
  });

  it('limits the APIs\' request rates by default, trusting no proxy', () => {
    for (const name of ['organisations-api', 'people-api']) {
      const environment = resolved.services[name]?.environment ?? {};
      expect({ name, perMinute: Number(environment.RATE_LIMIT_PER_MINUTE) > 0, trustProxy: environment.TRUST_PROXY }).toEqual({ name, perMinute: true, trustProxy: 'false' });
    }
  });

  it('has the platform, its stores and Jaeger, each with a healthcheck', () => {
    for (const name of [...APP_NAMES, 'postgres', 'redis-cache', 'redis-queue', 'jaeger']) {
      const healthcheck = service(name).healthcheck;
      expect({ name, disabled: healthcheck?.disable ?? false }).toEqual({ name, disabled: false });
      expect({ name, test: (healthcheck?.test?.length ?? 0) > 0 }).toEqual({ name, test: true });
    }
    expect(service('postgres').image).toMatch(/^postgres:17/);
    expect(JSON.stringify(service('postgres').healthcheck?.test)).toContain('pg_isready');
  });

  it('keeps the cache Redis bounded and evicting least recently used keys, with nothing on disk', () => {
    const flags = redisFlags('redis-cache');
    expect(flags.get('--maxmemory')).toMatch(/^\d+(mb|gb)$/);
    expect(flags.get('--maxmemory-policy')).toBe('allkeys-lru');
    expect(flags.get('--save')).toBe('');
    expect(flags.get('--appendonly')).toBe('no');
  });

  it('keeps the queue Redis from evicting anything and appends every write to disk', () => {
    const flags = redisFlags('redis-queue');
    expect(flags.get('--maxmemory-policy')).toBe('noeviction');
    expect(flags.get('--appendonly')).toBe('yes');
    expect(flags.get('--appendfsync')).toBe('everysec');
  });

  it('sends traces to Jaeger over OTLP HTTP and shows its UI', () => {
    const jaeger = service('jaeger');
    expect(jaeger.image).toMatch(/^jaegertracing\//);
    expect(jaeger.ports).toEqual(expect.arrayContaining([expect.stringMatching(/:4318$/), expect.stringMatching(/:16686$/)]));
  });

  it.each(APP_NAMES)('builds %s from infra/Dockerfile with its SERVICE argument', (name) => {
    const { build, ports, user } = service(name);
    expect(build?.context).toBe('.');
    expect(build?.dockerfile).toBe('infra/Dockerfile');
    expect(build?.args?.SERVICE).toBe(name);
    expect(ports).toContain(`\${BIND_ADDRESS:-127.0.0.1}:${APP_SERVICES[name]}:${APP_SERVICES[name]}`);
    expect(user ?? 'node').not.toMatch(/^(root|0)(:|$)/);
  });

  it.each(APP_NAMES)('wires %s to its stores and Jaeger, and starts it after the migration', (name) => {
    const { environment = {}, depends_on: dependsOn = {} } = service(name);
    const resolvedEnvironment = resolved.services[name]?.environment ?? {};
    expect(environment.DATABASE_URL).toBe('postgres://postgres:postgres@postgres:5432/crm');
    expect(resolvedEnvironment.REDIS_URL).toBe(`redis://:${REQUIRED.REDIS_PASSWORD}@redis-cache:6379/0`);
    expect(resolvedEnvironment.QUEUE_REDIS_URL).toBe(`redis://:${REQUIRED.REDIS_PASSWORD}@redis-queue:6379/0`);
    expect(environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(environment.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    expect(environment.OTEL_SERVICE_NAME).toBe(name);
    // NODE_ENV=production refuses a missing, short or published JWT secret: compose has no default, it requires one.
    expect(environment.NODE_ENV).toBe('production');
    if (name === 'cache-worker') {
      // The worker holds no signing key: it mints and verifies no token, so the secret is taken away from it.
      expect(resolvedEnvironment.JWT_SECRET ?? '').toBe('');
    } else {
      expect(environment.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
      expect(resolvedEnvironment.JWT_SECRET).toBe(REQUIRED.JWT_SECRET);
    }
    expect(dependsOn.postgres?.condition).toBe('service_healthy');
    expect(dependsOn['redis-cache']?.condition).toBe('service_healthy');
    expect(dependsOn['redis-queue']?.condition).toBe('service_healthy');
    expect(dependsOn.migrate?.condition).toBe('service_completed_successfully');
  });

  it('migrates once with the organisations-api image before the services start', () => {
    const migrate = service('migrate');
    expect(migrate.build?.args?.SERVICE).toBe('organisations-api');
    expect(migrate.image).toBe(service('organisations-api').image);
    expect(migrate.command).toEqual(['node', 'node_modules/@crm/database/dist/cli/migrate.js']);
    expect(migrate.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(migrate.environment?.DATABASE_URL).toBe(service('organisations-api').environment?.DATABASE_URL);
  });
});

interface Stage {
  from: string;
  name?: string;
  instructions: { keyword: string; args: string }[];
}

/** The Dockerfile's stages, with continuation lines joined and comments dropped. */
function readStages(): { globalArgs: string[]; stages: Stage[] } {
  const lines = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ').split('\n');
  const globalArgs: string[] = [];
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [, from = '', name] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0) {
      if (upper === 'ARG') globalArgs.push(args.split('=')[0]!);
    } else {
      stages.at(-1)!.instructions.push({ keyword: upper, args });
    }
  }
  return { globalArgs, stages };
}

describe('infra/Dockerfile', () => {
  const { globalArgs, stages } = readStages();
  const byName = new Map(stages.filter((s) => s.name).map((s) => [s.name!, s]));

  /** A stage and the stages it is built on, nearest first. */
  function chain(stage: Stage): Stage[] {
    const result = [stage];
    let parent = byName.get(stage.from);
    while (parent) {
      result.push(parent);
      parent = byName.get(parent.from);
    }
    return result;
  }

  /** The final image for a service: `FROM svc-${SERVICE}` resolved for that service. */
  function finalChain(name: AppService): Stage[] {
    const last = stages.at(-1)!;
    const resolved = { ...last, from: last.from.replace('${SERVICE}', name) };
    return chain(resolved);
  }

  function lastInstruction(stagesNearestFirst: Stage[], keyword: string): string | undefined {
    for (const stage of stagesNearestFirst) {
      const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
      if (found) return found.args;
    }
    return undefined;
  }

  it('builds on Node 24 images only', () => {
    const external = stages.map((s) => s.from).filter((from) => !byName.has(from) && !from.includes('$'));
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) expect(image).toMatch(/^node:24(-|$)/);
  });

  it('installs the pnpm the repository pins', () => {
    const pinned = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
    const text = readFileSync(dockerfile, 'utf8');
    expect(text).toContain(pinned);
  });

  it('selects the service with the SERVICE build argument', () => {
    expect(globalArgs).toContain('SERVICE');
    expect(stages.at(-1)!.from).toBe('svc-${SERVICE}');
    // Every service in the workspace has its own final stage.
    const workspaceServices = readdirSync(path.join(root, 'services')).sort();
    expect(workspaceServices).toEqual([...APP_NAMES].sort());
    for (const name of APP_NAMES) expect(byName.has(`svc-${name}`)).toBe(true);
  });

  it.each(APP_NAMES)('runs %s as the node user, never as root', (name) => {
    const final = finalChain(name);
    expect(final.at(-1)!.from).toMatch(/^node:24/);
    expect(stages.at(-1)!.instructions.map((i) => i.keyword)).toContain('USER');
    expect(lastInstruction(final, 'USER')).toBe('node');
  });

  it.each(APP_NAMES)('gives %s its port, a /health check and `node dist/server.js`', (name) => {
    const final = finalChain(name);
    expect(lastInstruction(final, 'EXPOSE')).toBe(String(APP_SERVICES[name]));
    expect(lastInstruction(final, 'HEALTHCHECK')).toMatch(/fetch\(.*\/health/);
    expect(lastInstruction(final, 'CMD')).toBe('["node", "dist/server.js"]');
    const env = final.flatMap((s) => s.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args)).join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
  });

  it('deploys the service with its production dependencies only', () => {
    const build = byName.get('build');
    expect(build).toBeDefined();
    const runs = build!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/pnpm install [^\n]*--frozen-lockfile/);
    expect(runs).toMatch(/pnpm turbo run build --filter="@crm\/\$\{SERVICE\}\.\.\."/);
    expect(runs).toMatch(/pnpm deploy --filter="@crm\/\$\{SERVICE\}" --prod/);
  });
});
