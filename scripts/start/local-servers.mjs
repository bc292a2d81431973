// Before `npm start` migrates: PostgreSQL and Redis must answer. A local one that does not is started for the life
// of npm start (embedded PostgreSQL, the machine's redis-server), data under CRM_DATA_DIR (default `.data`);
// anything else stops npm start with one message saying what to do. In production nothing is started, only reported.
import path from 'node:path';
import { answers } from './server-process.mjs';
import { cannotRunPostgres, startPostgres } from './embedded-postgres.mjs';
import { findRedisServer, startRedis } from './redis-server.mjs';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** The servers npm start needs, from the parsed configuration: one entry per distinct host:port. */
function neededServers(config) {
  const servers = [];
  const add = (kind, variable, url, defaultPort) => {
    const { hostname, port, username } = new URL(url);
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    const where = { host, port: Number(port || defaultPort) };
    if (!servers.some((s) => s.host === where.host && s.port === where.port)) servers.push({ kind, variable, ...where, user: decodeURIComponent(username) || 'postgres' });
  };
  add('PostgreSQL', 'DATABASE_URL', config.DATABASE_URL, 5432);
  // A Redis Cluster is never started here: it only has to answer.
  if (!config.REDIS_CLUSTER_NODES) add('Redis', 'REDIS_URL', config.REDIS_URL, 6379);
  if (!config.QUEUE_REDIS_CLUSTER_NODES) add('Redis', 'QUEUE_REDIS_URL', config.QUEUE_REDIS_URL, 6379);
  return servers;
}

/** `dir` relative to the working directory when it is inside it (`.data/postgres`), else absolute. */
function shown(dir) {
  const relative = path.relative(process.cwd(), dir);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : dir;
}

const label = (s) => `${s.kind} at ${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port} (${s.variable})`;

/** Why `server` cannot be started here (a sentence), or null when it can. */
async function cannotStart(server, env) {
  if (!LOCAL_HOSTS.has(server.host)) return `${label(server)} does not answer, and it is not on this machine`;
  if (server.kind === 'PostgreSQL') {
    const why = await cannotRunPostgres();
    return why && `${label(server)} does not answer, and ${why}`;
  }
  return findRedisServer(env.PATH) ? null : `${label(server)} does not answer, and redis-server is not installed (apt install redis-server, brew install redis)`;
}

/** Thrown when something does not answer and cannot be started: its message is all the user needs. */
class CannotStartError extends Error {}

/**
 * Starts what is missing, saying so through `log`. `ready` resolves once everything answers, or rejects with
 * the one message to show, having stopped whatever it started. `stop()` stops what was started (call it after the
 * services), waiting for a start under way.
 */
export function startLocalServers(config, { env = process.env, root, log = (line) => process.stdout.write(`${line}\n`) }) {
  const dataDir = path.resolve(root, env.CRM_DATA_DIR || '.data');
  const started = [];
  let stopped = null;
  // Once, however many callers: each of them waits for every server to be down.
  const stop = () => {
    stopped ??= ready.catch(() => undefined).then(() => Promise.all(started.splice(0).map((server) => server.stop())));
    return stopped;
  };
  const ready = (async () => {
    const checks = await Promise.all(neededServers(config).map(async (s) => ((await answers(s.host, s.port)) ? null : s)));
    const missing = checks.filter(Boolean);
    if (missing.length === 0) return;
    if (config.NODE_ENV === 'production') {
      for (const server of missing) log(`${label(server)} does not answer (nothing is started in production)`);
      return;
    }
    const problems = (await Promise.all(missing.map((s) => cannotStart(s, env)))).filter(Boolean);
    if (problems.length > 0) {
      throw new CannotStartError(`Cannot start: ${problems.join('; ')}. Start it, change the URL, or run \`docker compose up\`.`);
    }
    for (const server of missing) {
      if (stopped) return;
      if (server.kind === 'PostgreSQL') {
        const pgData = path.join(dataDir, 'postgres');
        const as = process.getuid?.() === 0 ? ', as the postgres user' : '';
        log(`${label(server)} does not answer: running an embedded PostgreSQL there (data in ${shown(pgData)}${as})`);
        started.push(await startPostgres({ dataDir: pgData, port: server.port, user: server.user }));
      } else {
        log(`${label(server)} does not answer: running redis-server there until npm start stops (nothing saved)`);
        started.push(await startRedis({ binary: findRedisServer(env.PATH), dataDir: path.join(dataDir, 'redis'), port: server.port }));
      }
    }
  })();
  // A server that failed to start took itself down; the ones before it are stopped here.
  const done = ready.catch(async (error) => {
    await Promise.all(started.splice(0).map((server) => server.stop()));
    throw error instanceof CannotStartError ? error : new CannotStartError(`${error.message}\nOr run \`docker compose up\`.`);
  });
  return { ready: done, stop };
}
