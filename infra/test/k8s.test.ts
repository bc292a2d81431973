/**
 * Checks infra/k8s without a cluster: every YAML document against its Kubernetes schema
 * (kubernetes-models), then what a user relies on: probes, Services, autoscalers and disruption
 * budgets that reach the right pods and ports, the environment env.ts reads, secrets kept in the
 * Secret, and a kustomization that lists every file. Facts are read from the code, not copied here.
 *
 * @jest-environment-options {"customExportConditions": ["node", "import", "default"]}
 */
// kubernetes-models is ESM-only (its exports name only "import"): the condition above lets jest's
// require load it (the test script runs node with --experimental-vm-modules).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job, type IJob } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap, Namespace, Secret, Service,
  type IConfigMap, type IContainer, type IPodTemplateSpec, type IProbe, type ISecret, type IService,
} from 'kubernetes-models/v1';

const root = path.resolve(__dirname, '..', '..');
const read = (relative: string) => readFileSync(path.join(root, relative), 'utf8');
const K8S_DIR = path.join(root, 'infra', 'k8s');
const KUSTOMIZATION = 'kustomization.yaml';
const NAMESPACE = 'crm';
const SERVICES = ['organisations-api', 'people-api', 'cache-worker'] as const;
type ServiceName = (typeof SERVICES)[number];

// ---------------------------------------------------------------- the manifests

interface K8sObject { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } }
interface Manifest { file: string; index: number; object: K8sObject }

/** The schema of every kind the manifests may hold: anything else fails, so nothing goes unchecked. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'batch/v1/Job': Job,
};

const yamlFiles = readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const manifestFiles = yamlFiles.filter((f) => f !== KUSTOMIZATION);

// Parsed leniently here, so a broken file fails its own test below rather than the whole file.
const parseErrors: string[] = [];
const manifests: Manifest[] = manifestFiles.flatMap((file) => {
  const documents = parseAllDocuments(readFileSync(path.join(K8S_DIR, file), 'utf8'));
  return documents.flatMap((document, index) => {
    const problems = [...document.errors, ...document.warnings];
    if (problems.length > 0) {
      parseErrors.push(...problems.map((p) => `${file}#${index}: ${p.message}`));
      return [];
    }
    const object = document.toJS() as K8sObject | null;
    return object === null ? [] : [{ file, index, object }];
  });
});

const kindOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
const nameOf = (m: Manifest) => `${m.object.kind}/${m.object.metadata?.name} (${m.file}#${m.index})`;
const objects = <T>(apiVersion: string, kind: string) =>
  manifests.filter((m) => m.object.apiVersion === apiVersion && m.object.kind === kind).map((m) => m.object as T);

const deployments = objects<IDeployment>('apps/v1', 'Deployment');
const services = objects<IService>('v1', 'Service');
const autoscalers = objects<IHorizontalPodAutoscaler>('autoscaling/v2', 'HorizontalPodAutoscaler');
const budgets = objects<IPodDisruptionBudget>('policy/v1', 'PodDisruptionBudget');
const configMaps = objects<IConfigMap>('v1', 'ConfigMap');
const secrets = objects<ISecret>('v1', 'Secret');
const jobs = objects<IJob>('batch/v1', 'Job');

/** Every pod template with what runs it: the Deployments and the Jobs. */
const workloads: { name: string; template: IPodTemplateSpec }[] = [
  ...deployments.map((d) => ({ name: `Deployment/${d.metadata?.name}`, template: d.spec!.template })),
  ...jobs.map((j) => ({ name: `Job/${j.metadata?.name}`, template: j.spec!.template })),
];
const containersOf = (template: IPodTemplateSpec): IContainer[] => [...(template.spec?.initContainers ?? []), ...(template.spec?.containers ?? [])];

function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing: ${what}`);
  return value;
}

function deployment(name: ServiceName): IDeployment {
  return must(deployments.find((d) => d.metadata?.name === name), `a Deployment named ${name}`);
}
const podLabels = (d: IDeployment) => d.spec?.template.metadata?.labels ?? {};
const mainContainer = (d: IDeployment) => must(d.spec?.template.spec?.containers[0], `a container in ${d.metadata?.name}`);

/** A matchLabels-only selector against a set of labels (matchExpressions are not used here, so refused). */
function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const matchLabels = 'matchLabels' in selector || 'matchExpressions' in selector
    ? (selector as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] })
    : { matchLabels: selector as Record<string, string> };
  if (matchLabels.matchExpressions?.length) throw new Error('matchExpressions are not supported by this test');
  const entries = Object.entries(matchLabels.matchLabels ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** A probe's or a Service's port (a number or a container port's name) as a container port number. */
function containerPort(container: IContainer, port: number | string | undefined): number | undefined {
  const found = (container.ports ?? []).find((p) => p.containerPort === port || (typeof port === 'string' && p.name === port));
  return found?.containerPort;
}

// ---------------------------------------------------------------- what the code says

/** The keys of env.ts's schema, read from its object literal. */
function readEnvVariables(): Set<string> {
  const text = read('packages/config/src/env.ts');
  const body = /export const envSchema = z\s*\.object\(\{([\s\S]*?)\n\s*\}\)/.exec(text)?.[1];
  if (!body) throw new Error('packages/config/src/env.ts: envSchema = z.object({ ... }) not found');
  return new Set([...body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]!));
}
const ENV_VARIABLES = readEnvVariables();

/**
 * env.ts's own parser, loaded by path (infra is no workspace dependent of @crm/config, and tsc's rootDir stays
 * infra/), to run the manifests' environment through exactly what a pod runs at start.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseEnv } = require(path.join(root, 'packages/config/src/env')) as {
  parseEnv: (env: Record<string, string>) => { RATE_LIMIT_PER_MINUTE: number; RATE_LIMIT_EXPENSIVE_PER_MINUTE: number; TRUST_PROXY: unknown };
};
/** Read by env.ts outside the schema (per-prefix TTLs), or by the OpenTelemetry SDK itself (see the README). */
const isKnownVariable = (name: string) => ENV_VARIABLES.has(name) || /^CACHE_TTL_[A-Z0-9_]+$/.test(name) || name.startsWith('OTEL_');

/** Variables that carry credentials: only ever in the Secret. */
const SECRET_VARIABLES = ['JWT_SECRET', 'DATABASE_URL', 'DATABASE_REPLICA_URLS', 'REDIS_URL', 'QUEUE_REDIS_URL', 'REDIS_PASSWORD'];

/** Which variable each service's image reads its port from, and the default (infra/Dockerfile's svc-* stages). */
function readImagePorts(): Record<string, { variable: string; port: number }> {
  const text = read('infra/Dockerfile');
  const ports: Record<string, { variable: string; port: number }> = {};
  for (const m of text.matchAll(/FROM\s+runtime\s+AS\s+svc-(\S+)\s+ENV\s+PORT_VARIABLE=(\w+)\s*\\\s*DEFAULT_PORT=(\d+)/g)) {
    ports[m[1]!] = { variable: m[2]!, port: Number(m[3]) };
  }
  return ports;
}
const IMAGE_PORTS = readImagePorts();

/** The status codes /health answers (packages/http/src/health.ts): 503 when unhealthy, else 200. */
function readHealthCodes(): { unhealthy: number; degraded: number } {
  const text = read('packages/http/src/health.ts');
  const m = /res\.status\(\s*status === 'unhealthy' \? (\d{3}) : (\d{3})\s*\)/.exec(text);
  if (!m) throw new Error("packages/http/src/health.ts: res.status(status === 'unhealthy' ? X : Y) not found; update this test");
  return { unhealthy: Number(m[1]), degraded: Number(m[2]) };
}
const HEALTH = readHealthCodes();

/** A number a source file writes as `<pattern> <digits>` (underscores allowed). */
function readNumber(file: string, pattern: RegExp): number {
  const m = pattern.exec(read(file));
  if (!m) throw new Error(`${file}: ${pattern} not found; update this test`);
  return Number(m[1]!.replace(/_/g, ''));
}

/** Kubernetes quantities: 250m, 1, 512Mi, 1Gi... */
function quantity(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(value));
  if (!m) return NaN;
  const units: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * (m[2] ? units[m[2]]! : 1);
}

// ---------------------------------------------------------------- running a probe against a fake /health

const execFileAsync = promisify(execFile);

/** Serves `status` on /health on a free port for the length of `run`. */
async function withHealthServer<T>(status: number, run: (port: number) => Promise<T>): Promise<T> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? status : 404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run((server.address() as AddressInfo).port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Whether the kubelet would count the probe a success, /health answering `status` at `port`. */
async function probeSucceeds(probe: IProbe, status: number | 'refused', port: number): Promise<boolean> {
  if (probe.httpGet) return status !== 'refused' && status >= 200 && status < 400;
  const command = must(probe.exec?.command, 'an httpGet or exec probe');
  if (command[0] !== 'node') throw new Error(`exec probes are expected to run node: ${command.join(' ')}`);
  const args = command.slice(1).map((arg) => arg.replace(/^http:\/\/(127\.0\.0\.1|localhost):\d+\//, `http://127.0.0.1:${port}/`));
  try {
    await execFileAsync(process.execPath, args, { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** The port and path a probe reaches, whether httpGet or an exec that fetches a localhost URL. */
function probeTarget(container: IContainer, probe: IProbe): { port: number | undefined; path: string | undefined } {
  if (probe.httpGet) return { port: containerPort(container, probe.httpGet.port), path: probe.httpGet.path };
  const url = (probe.exec?.command ?? []).map((arg) => /^http:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/\S*)$/.exec(arg)).find(Boolean);
  return { port: url ? containerPort(container, Number(url[1])) : undefined, path: url?.[2] };
}

// ---------------------------------------------------------------- the tests

describe('infra/k8s files', () => {
  test('every YAML file parses, each document a Kubernetes object', () => {
    expect(parseErrors).toEqual([]);
    expect(manifests.length).toBeGreaterThan(0);
    for (const m of manifests) {
      expect({ at: nameOf(m), apiVersion: typeof m.object.apiVersion, kind: typeof m.object.kind, name: typeof m.object.metadata?.name })
        .toEqual({ at: nameOf(m), apiVersion: 'string', kind: 'string', name: 'string' });
    }
  });

  test('every object is a kind this test knows and valid against its Kubernetes schema', () => {
    const problems: string[] = [];
    for (const m of manifests) {
      const Model = MODELS[kindOf(m.object)];
      if (!Model) {
        problems.push(`${nameOf(m)}: no schema for ${kindOf(m.object)} in this test`);
        continue;
      }
      try {
        new Model(m.object as never).validate();
      } catch (error) {
        problems.push(`${nameOf(m)}: ${(error as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test(`every object is in namespace ${NAMESPACE}, which is declared, and names are unique per kind`, () => {
    expect(objects<K8sObject>('v1', 'Namespace').map((n) => n.metadata?.name)).toEqual([NAMESPACE]);
    for (const m of manifests.filter((m) => m.object.kind !== 'Namespace')) {
      expect({ at: nameOf(m), namespace: m.object.metadata?.namespace }).toEqual({ at: nameOf(m), namespace: NAMESPACE });
    }
    const keys = manifests.map((m) => `${kindOf(m.object)}/${m.object.metadata?.name}`);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
  });

  test('kustomization.yaml lists every manifest file, and only those, in namespace crm', () => {
    const kustomization = parse(readFileSync(path.join(K8S_DIR, KUSTOMIZATION), 'utf8')) as {
      apiVersion?: string; kind?: string; namespace?: string; resources?: string[]; images?: { name: string }[];
    };
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.namespace).toBe(NAMESPACE);
    expect([...(kustomization.resources ?? [])].sort()).toEqual(manifestFiles);
    // Its image overrides name images the manifests use (a typo would silently override nothing).
    const used = new Set(workloads.flatMap((w) => containersOf(w.template).map((c) => c.image!.split(':')[0])));
    for (const image of kustomization.images ?? []) expect({ image: image.name, used: used.has(image.name) }).toEqual({ image: image.name, used: true });
  });
});

describe('no object points at nothing', () => {
  test('every Deployment is one of the services; every Service, HPA and PDB reaches a Deployment', () => {
    expect(deployments.map((d) => d.metadata?.name).sort()).toEqual([...SERVICES].sort());
    const reaches = (selector: Parameters<typeof selects>[0]) => deployments.some((d) => selects(selector, podLabels(d)));
    expect(services.filter((s) => !reaches(s.spec?.selector)).map((s) => s.metadata?.name)).toEqual([]);
    expect(budgets.filter((b) => !reaches(b.spec?.selector)).map((b) => b.metadata?.name)).toEqual([]);
    const names = new Set(deployments.map((d) => d.metadata?.name));
    expect(autoscalers.filter((h) => h.spec?.scaleTargetRef.kind !== 'Deployment' || !names.has(h.spec.scaleTargetRef.name)).map((h) => h.metadata?.name)).toEqual([]);
  });
});

describe.each(SERVICES)('%s', (name) => {
  test('a Deployment of at least 2 replicas of the image infra/Dockerfile builds for it', () => {
    const d = deployment(name);
    expect(d.spec?.replicas).toBeGreaterThanOrEqual(2);
    expect(selects(d.spec?.selector, podLabels(d))).toBe(true);
    expect(existsSync(path.join(root, 'services', name, 'package.json'))).toBe(true);
    expect(mainContainer(d).image).toMatch(new RegExp(`^crm/${name}(:[\\w.-]+)?$`));
  });

  test('its container listens on the port the service reads, and the probes reach /health there', () => {
    const container = mainContainer(deployment(name));
    const image = must(IMAGE_PORTS[name], `infra/Dockerfile's svc-${name} stage`);
    const set = container.env?.find((e) => e.name === image.variable)?.value;
    const listening = set === undefined ? image.port : Number(set);
    expect(container.ports?.map((p) => p.containerPort)).toContain(listening);
    for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      const probe = must(container[kind], `${name} ${kind}`);
      expect({ kind, ...probeTarget(container, probe) }).toEqual({ kind, port: listening, path: '/health' });
    }
  });

  test(`readiness: ready when degraded (${HEALTH.degraded}), not when the database is down (${HEALTH.unhealthy}); liveness and startup pass on both`, async () => {
    const container = mainContainer(deployment(name));
    const outcome = async (probe: IProbe) => {
      const [degraded, unhealthy, dead] = await Promise.all([
        withHealthServer(HEALTH.degraded, (port) => probeSucceeds(probe, HEALTH.degraded, port)),
        withHealthServer(HEALTH.unhealthy, (port) => probeSucceeds(probe, HEALTH.unhealthy, port)),
        // A port nobody listens on any more: the process is gone, the probe must fail.
        withHealthServer(200, async (port) => port).then((port) => probeSucceeds(probe, 'refused', port)),
      ]);
      return { degraded, unhealthy, dead };
    };
    // Ready needs the database; alive only needs an answer (a restart brings no database back).
    const [readiness, liveness, startup] = await Promise.all([container.readinessProbe!, container.livenessProbe!, container.startupProbe!].map(outcome));
    expect({ readiness }).toEqual({ readiness: { degraded: true, unhealthy: false, dead: false } });
    expect({ liveness, startup }).toEqual({ liveness: { degraded: true, unhealthy: true, dead: false }, startup: { degraded: true, unhealthy: true, dead: false } });
  });

  test('requests and limits for CPU and memory, requests within limits', () => {
    const { requests = {}, limits = {} } = mainContainer(deployment(name)).resources ?? {};
    for (const resource of ['cpu', 'memory']) {
      const [request, limit] = [quantity(requests[resource]), quantity(limits[resource])];
      expect({ resource, request: request > 0, limit: limit >= request }).toEqual({ resource, request: true, limit: true });
    }
  });

  test('spread across nodes', () => {
    const d = deployment(name);
    const spec = d.spec!.template.spec!;
    const spread = (spec.topologySpreadConstraints ?? []).some((c) => c.topologyKey === 'kubernetes.io/hostname' && selects(c.labelSelector, podLabels(d)));
    const antiAffinity = [
      ...(spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm),
    ].some((t) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector, podLabels(d)));
    expect(spread || antiAffinity).toBe(true);
  });

  test('one ClusterIP Service selects its pods, and only its pods, on its container port', () => {
    const d = deployment(name);
    const matching = services.filter((s) => selects(s.spec?.selector, podLabels(d)));
    expect(matching.map((s) => s.metadata?.name)).toEqual([name]);
    const service = matching[0]!;
    expect(service.spec?.type ?? 'ClusterIP').toBe('ClusterIP');
    for (const other of deployments.filter((o) => o !== d)) expect(selects(service.spec?.selector, podLabels(other))).toBe(false);
    const readinessPort = probeTarget(mainContainer(d), mainContainer(d).readinessProbe!).port;
    for (const port of service.spec?.ports ?? []) {
      expect(containerPort(mainContainer(d), port.targetPort ?? port.port)).toBe(readinessPort);
    }
  });

  test('a CPU HorizontalPodAutoscaler (min 2) targets it', () => {
    const d = deployment(name);
    const matching = autoscalers.filter((h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
    expect(matching).toHaveLength(1);
    const hpa = matching[0]!.spec!;
    expect(hpa.scaleTargetRef.apiVersion).toBe('apps/v1');
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.maxReplicas).toBeGreaterThanOrEqual(hpa.minReplicas!);
    expect(d.spec?.replicas).toBe(hpa.minReplicas);
    const cpu = hpa.metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    expect(cpu?.resource?.target.type).toBe('Utilization');
    // Utilization is a share of the request: without one the HPA cannot compute it.
    expect(quantity(mainContainer(d).resources?.requests?.cpu)).toBeGreaterThan(0);
  });

  test('a PodDisruptionBudget selects its pods, and only its pods, and lets a node drain', () => {
    const d = deployment(name);
    const matching = budgets.filter((b) => selects(b.spec?.selector, podLabels(d)));
    expect(matching).toHaveLength(1);
    const pdb = matching[0]!.spec!;
    for (const other of deployments.filter((o) => o !== d)) expect(selects(pdb.selector, podLabels(other))).toBe(false);
    if (pdb.maxUnavailable !== undefined) expect(Number(pdb.maxUnavailable)).toBeGreaterThanOrEqual(1);
    else expect(Number(pdb.minAvailable)).toBeLessThan(d.spec!.replicas!);
  });

  test('terminationGracePeriodSeconds covers the request drain (and, for the worker, its longest job)', () => {
    const d = deployment(name);
    const drain = readNumber('packages/http/src/server.ts', /drainTimeoutMs \?\? ([\d_]+)/) / 1000;
    const preStop = d.spec!.template.spec!.containers[0]!.lifecycle?.preStop?.exec?.command ?? [];
    const sleep = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
    let needed = sleep + drain;
    if (name === 'cache-worker') {
      // BullMQ's close waits for active jobs; the longest is a warm-up job of TARGETS_PER_JOB GETs.
      const targets = readNumber('services/cache-worker/src/worker.ts', /TARGETS_PER_JOB = ([\d_]+)/);
      const parallel = readNumber('services/cache-worker/src/jobs/warmup.ts', /deps\.parallelism \?\? ([\d_]+)/);
      const timeout = readNumber('services/cache-worker/src/jobs/warmup.ts', /deps\.timeoutMs \?\? ([\d_]+)/) / 1000;
      needed += Math.ceil(targets / parallel) * timeout;
    }
    expect(d.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(needed);
  });
});

describe('pod security', () => {
  test.each(workloads.map((w) => [w.name, w.template] as const))('%s runs as non-root, read-only, without capabilities', (_name, template) => {
    const pod = template.spec?.securityContext ?? {};
    expect(pod.runAsNonRoot).toBe(true);
    // The image's USER is the name `node`: the kubelet can only check runAsNonRoot against a number.
    expect(pod.runAsUser).toBeGreaterThan(0);
    expect(template.spec?.automountServiceAccountToken).toBe(false);
    for (const container of containersOf(template)) {
      const c = container.securityContext ?? {};
      expect({ container: container.name, readOnly: c.readOnlyRootFilesystem, escalation: c.allowPrivilegeEscalation, drop: c.capabilities?.drop })
        .toEqual({ container: container.name, readOnly: true, escalation: false, drop: ['ALL'] });
    }
  });
});

describe('environment', () => {
  const configKeys = configMaps.flatMap((c) => Object.keys(c.data ?? {}));
  const secretEntries = secrets.flatMap((s) => [
    ...Object.entries(s.stringData ?? {}),
    ...Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')] as [string, string]),
  ]);
  const containers = workloads.flatMap((w) => containersOf(w.template).map((c) => ({ workload: w.name, container: c })));

  test('every variable the manifests set is one packages/config/src/env.ts reads', () => {
    const names = [
      ...configKeys,
      ...secretEntries.map(([k]) => k),
      ...containers.flatMap(({ container }) => (container.env ?? []).map((e) => e.name)),
    ];
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !isKnownVariable(n))).toEqual([]);
  });

  test('every ConfigMap and Secret a container refers to exists, with the keys it names', () => {
    const configMap = (n: string) => configMaps.find((c) => c.metadata?.name === n);
    const secret = (n: string) => secrets.find((s) => s.metadata?.name === n);
    const secretKeys = (n: string) => Object.keys({ ...secret(n)?.data, ...secret(n)?.stringData });
    for (const { workload, container } of containers) {
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef) expect({ workload, configMap: from.configMapRef.name, exists: !!configMap(from.configMapRef.name!) }).toEqual({ workload, configMap: from.configMapRef.name, exists: true });
        if (from.secretRef) expect({ workload, secret: from.secretRef.name, exists: !!secret(from.secretRef.name!) }).toEqual({ workload, secret: from.secretRef.name, exists: true });
      }
      for (const e of container.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        const sk = e.valueFrom?.secretKeyRef;
        if (cm) expect(Object.keys(configMap(cm.name!)?.data ?? {})).toContain(cm.key);
        if (sk) expect(secretKeys(sk.name!)).toContain(sk.key);
      }
    }
  });

  test('credentials come from the Secret only, and every container gets them', () => {
    expect(secrets).toHaveLength(1);
    const secretName = secrets[0]!.metadata!.name!;
    const inSecret = secretEntries.map(([k]) => k);
    for (const name of ['JWT_SECRET', 'DATABASE_URL', 'REDIS_URL', 'QUEUE_REDIS_URL']) expect(inSecret).toContain(name);
    expect(configKeys.filter((k) => SECRET_VARIABLES.includes(k))).toEqual([]);
    // No password in a URL of the ConfigMap either.
    expect(configMaps.flatMap((c) => Object.values(c.data ?? {})).filter((v) => /:\/\/[^/\s]*:[^/\s]*@/.test(v))).toEqual([]);
    for (const { workload, container } of containers) {
      // An empty value takes a variable away (the worker's JWT_SECRET: it holds no signing key); any other is a leak.
      const literal = (container.env ?? []).filter((e) => SECRET_VARIABLES.includes(e.name) && e.value !== undefined && e.value !== '').map((e) => e.name);
      expect({ workload, literal }).toEqual({ workload, literal: [] });
      // NODE_ENV=production (the image's) refuses to start without JWT_SECRET: every container needs it.
      const fromSecret = (container.envFrom ?? []).some((f) => f.secretRef?.name === secretName)
        || (container.env ?? []).some((e) => e.name === 'JWT_SECRET' && e.valueFrom?.secretKeyRef?.name === secretName);
      expect({ workload, fromSecret }).toEqual({ workload, fromSecret: true });
    }
  });

  test('the worker gets no JWT_SECRET: it mints and verifies no token', () => {
    const workers = containers.filter(({ container }) => container.name === 'cache-worker');
    expect(workers).toHaveLength(1);
    expect(workers[0]!.container.env).toContainEqual({ name: 'JWT_SECRET', value: '' });
  });

  test('the Secret holds marked placeholders only, and no Secret value appears in any other file', () => {
    for (const [key, value] of secretEntries) expect({ key, placeholder: value.includes('REPLACE-ME') }).toEqual({ key, placeholder: true });
    const secretFiles = new Set(manifests.filter((m) => m.object.kind === 'Secret').map((m) => m.file));
    for (const file of readdirSync(K8S_DIR).filter((f) => !secretFiles.has(f))) {
      const text = readFileSync(path.join(K8S_DIR, file), 'utf8');
      for (const [key, value] of secretEntries) expect({ file, key, leaked: text.includes(value) }).toEqual({ file, key, leaked: false });
    }
  });

  /** The environment a pod gets: the ConfigMaps, then the Secret (as envFrom applies them). */
  const podEnvironment = (secretValue: (key: string, value: string) => string = (_k, v) => v): Record<string, string> => Object.assign(
    {},
    ...configMaps.map((c) => c.data ?? {}),
    Object.fromEntries(secretEntries.map(([k, v]) => [k, secretValue(k, v)])),
  ) as Record<string, string>;

  test('the placeholder Secret is not runnable: production refuses each placeholder, naming the variable', () => {
    expect(podEnvironment().NODE_ENV).toBe('production');
    let refused: string[] = [];
    try {
      parseEnv(podEnvironment());
    } catch (error) {
      refused = (error as { problems?: { variable: string }[] }).problems?.map((p) => p.variable) ?? [];
    }
    expect([...new Set(refused)].sort()).toEqual(secretEntries.map(([k]) => k).sort());
  });

  test('with real values in the Secret, the environment is valid, limits request rates and trusts the ingress hop', () => {
    // What an operator would put there: each placeholder replaced by 32 random bytes.
    const real = (_key: string, value: string) => value.replace(/REPLACE-ME/g, randomBytes(32).toString('hex'));
    const env = parseEnv(podEnvironment(real));
    expect(env.RATE_LIMIT_PER_MINUTE).toBeGreaterThan(0);
    expect(env.RATE_LIMIT_EXPENSIVE_PER_MINUTE).toBeGreaterThan(0);
    expect(env.RATE_LIMIT_EXPENSIVE_PER_MINUTE).toBeLessThan(env.RATE_LIMIT_PER_MINUTE);
    expect(env.TRUST_PROXY).not.toBe(false);
  });

  test('the worker reaches the APIs through their Services', () => {
    const data = Object.assign({}, ...configMaps.map((c) => c.data ?? {})) as Record<string, string>;
    for (const [variable, api] of [['ORGANISATIONS_API_URL', 'organisations-api'], ['PEOPLE_API_URL', 'people-api']] as const) {
      const url = new URL(must(data[variable], `${variable} in a ConfigMap`));
      const service = must(services.find((s) => s.metadata?.name === api), `the ${api} Service`);
      expect(url.hostname).toBe(api);
      expect(service.spec?.ports?.map((p) => p.port)).toContain(Number(url.port));
    }
  });
});

describe('the migration Job', () => {
  test('runs the migration CLI of @crm/database, as docker-compose.yml does, from an image that ships it', () => {
    const job = must(jobs.find((j) => j.metadata?.name === 'db-migrate'), 'the db-migrate Job');
    const container = job.spec!.template.spec!.containers[0]!;
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { command?: string[] }> };
    expect(container.command).toEqual(compose.services.migrate?.command);
    expect(container.command?.join(' ')).toContain('@crm/database/dist/cli/migrate.js');
    expect(existsSync(path.join(root, 'packages/database/src/cli/migrate.ts'))).toBe(true);
    const service = /^crm\/([\w-]+)/.exec(container.image ?? '')?.[1] as ServiceName;
    expect(SERVICES).toContain(service);
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).toContain('@crm/database');
    expect(job.spec?.template.spec?.restartPolicy).not.toBe('Always');
  });
});
