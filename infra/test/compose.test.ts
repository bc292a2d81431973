// Checks the compose stack and the image recipe without a Docker engine: docker-compose
// validates the file, and the rest is read from the files themselves.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
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
  ports?: string[];
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

/** The value compose gives `${NAME:-default}` when NAME is unset. */
function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
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
  let config: { status: number | null; stdout: string; stderr: string };

  beforeAll(() => {
    ensureDockerCompose();
    const run = spawnSync('docker-compose', ['-f', composeFile, 'config'], { cwd: root, encoding: 'utf8' });
    config = { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }, 600_000);

  it('is valid for docker-compose config', () => {
    expect(config.stderr).not.toMatch(/invalid|error/i);
    expect(config.status).toBe(0);
    const resolved = parse(config.stdout) as ComposeFile;
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(compose.services).sort());
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
    expect(ports).toContain(`${APP_SERVICES[name]}:${APP_SERVICES[name]}`);
    expect(user ?? 'node').not.toMatch(/^(root|0)(:|$)/);
  });

  it.each(APP_NAMES)('wires %s to its stores and Jaeger, and starts it after the migration', (name) => {
    const { environment = {}, depends_on: dependsOn = {} } = service(name);
    expect(environment.DATABASE_URL).toBe('postgres://postgres:postgres@postgres:5432/crm');
    expect(environment.REDIS_URL).toBe('redis://redis-cache:6379/0');
    expect(environment.QUEUE_REDIS_URL).toBe('redis://redis-queue:6379/0');
    expect(environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(environment.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    expect(environment.OTEL_SERVICE_NAME).toBe(name);
    // NODE_ENV=production refuses a missing or short JWT secret: the compose default must pass.
    expect(environment.NODE_ENV).toBe('production');
    expect(withDefaults(environment.JWT_SECRET ?? '').length).toBeGreaterThanOrEqual(16);
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
