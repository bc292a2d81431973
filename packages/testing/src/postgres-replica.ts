// A PostgreSQL primary with a streaming hot-standby replica of its own, for the read-replica tests: started from
// the local server binaries in a temporary directory; the system server and its configuration are not touched.
import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { chown, mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { waitFor } from './wait';

const execFile = promisify(execFileCb);

export interface ReplicaClusterOptions {
  primaryPort?: number;
  replicaPort?: number;
  /** The replica applies each commit this long after the primary made it (`recovery_min_apply_delay`). */
  applyDelayMs?: number;
  /** PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup). */
  binDir?: string;
}

/** A PostgreSQL primary and a streaming hot-standby replica of its own, for tests (see startReplicaCluster). */
export interface ReplicaCluster {
  readonly applyDelayMs: number;
  primaryUrl: (database?: string) => string;
  replicaUrl: (database?: string) => string;
  /** Runs one statement on either server (its own connection). */
  query: <T>(server: 'primary' | 'replica', database: string, sql: string, params?: unknown[]) => Promise<T[]>;
  /** Waits until the replica has replayed all the primary had written when called; resolves with the wait in ms. */
  waitForReplay: (timeoutMs?: number) => Promise<number>;
  /** Stops the replica (fast shutdown) / starts it again. */
  stopReplica: () => Promise<void>;
  startReplica: () => Promise<void>;
  /** Stops both servers and deletes their data. Safe to call twice. */
  stop: () => Promise<void>;
}

const DIR_PREFIX = 'crm-pg-replica-';
/** A server starting up refuses connections: that is "not yet", not a failure. */
const UNTIL_UP = { everyMs: 25, retryErrors: true };
const isRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary; as the `postgres` OS user when we are root (the server refuses to run as root). */
function pgCommand(binDir: string, tool: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args]] : [join(binDir, tool), args];
}

async function run(binDir: string, tool: string, args: string[]): Promise<string> {
  const [command, argv] = pgCommand(binDir, tool, args);
  try {
    const { stdout } = await execFile(command, argv, { timeout: 60_000 });
    return stdout;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function stopSync(binDir: string, dataDir: string): void {
  const [command, argv] = pgCommand(binDir, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
  spawnSync(command, argv, { stdio: 'ignore', timeout: 30_000 });
}

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Clusters left by test processes that died without cleaning up (their owner's pid is gone). */
async function reapLeftovers(binDir: string): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = Number(await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
    if (owner && alive(owner)) continue;
    for (const server of ['replica', 'primary']) stopSync(binDir, join(dir, server));
    await rm(dir, { recursive: true, force: true });
  }
}

async function postgresOwner(): Promise<{ uid: number; gid: number } | null> {
  if (!isRoot) return null;
  const [uid, gid] = await Promise.all([execFile('id', ['-u', 'postgres']), execFile('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

/** The newest PostgreSQL installed the Debian way (/usr/lib/postgresql/<major>/bin). */
function defaultBinDir(): string {
  const majors = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (!majors[0]) throw new Error('no PostgreSQL under /usr/lib/postgresql: set PG_BIN_DIR');
  return `/usr/lib/postgresql/${majors[0]}/bin`;
}

/**
 * Starts a PostgreSQL primary and a streaming replica of it from the local binaries, in a temporary directory,
 * without touching the system's server or its configuration: primary on `primaryPort` (wal_level replica, trust
 * authentication for local connections and replication, fsync off), replica made with `pg_basebackup -R` on
 * `replicaPort`, applying each commit `applyDelayMs` late so its lag is real. Everything is removed by `stop()`,
 * also when starting fails half-way.
 */
export async function startReplicaCluster(options: ReplicaClusterOptions = {}): Promise<ReplicaCluster> {
  const binDir = options.binDir ?? process.env.PG_BIN_DIR ?? defaultBinDir();
  const primaryPort = options.primaryPort ?? 5441;
  const replicaPort = options.replicaPort ?? 5442;
  const applyDelayMs = options.applyDelayMs ?? 1_500;
  await reapLeftovers(binDir);
  for (const port of [primaryPort, replicaPort]) {
    if (await portInUse(port)) throw new Error(`port ${port} is in use: cannot start the test's PostgreSQL there`);
  }

  const base = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const primaryDir = join(base, 'primary');
  const replicaDir = join(base, 'replica');
  await writeFile(join(base, 'owner.pid'), String(process.pid));
  const owner = await postgresOwner();
  if (owner) await chown(base, owner.uid, owner.gid);

  const url = (port: number, database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let stopped = false;
  const stopAllSync = () => {
    if (stopped) return;
    stopped = true;
    stopSync(binDir, replicaDir);
    stopSync(binDir, primaryDir);
    rmSync(base, { recursive: true, force: true });
  };
  // Last resort if the test process exits without calling stop().
  process.once('exit', stopAllSync);

  const startServer = async (dir: string, port: number) => {
    await run(binDir, 'pg_ctl', ['-D', dir, '-l', join(base, `${port}.log`), '-w', '-t', '60', 'start']);
    await waitFor(async () => (await query(url(port, 'postgres'), 'select 1')).length === 1, `PostgreSQL on port ${port}`, 30_000, UNTIL_UP);
  };

  try {
    await run(binDir, 'initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await appendFile(join(primaryDir, 'postgresql.conf'), [
      '', `port = ${primaryPort}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${base}'`,
      'wal_level = replica', 'max_wal_senders = 4', 'wal_keep_size = 64MB', 'fsync = off', 'full_page_writes = off',
      'synchronous_commit = on', 'shared_buffers = 16MB', 'max_connections = 50', '',
    ].join('\n'));
    await writeFile(join(primaryDir, 'pg_hba.conf'), [
      'local all all trust', 'host all all 127.0.0.1/32 trust',
      'local replication all trust', 'host replication all 127.0.0.1/32 trust', '',
    ].join('\n'));
    await startServer(primaryDir, primaryPort);

    await run(binDir, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    // -R wrote standby.signal and primary_conninfo; this file is read last, so these win over the copied postgresql.conf.
    await appendFile(join(replicaDir, 'postgresql.auto.conf'), `port = ${replicaPort}\nrecovery_min_apply_delay = '${applyDelayMs}ms'\nhot_standby = on\n`);
    await startServer(replicaDir, replicaPort);
    await waitFor(async () => (await query<{ standby: boolean }>(url(replicaPort, 'postgres'), 'select pg_is_in_recovery() as standby'))[0]!.standby,
      'the replica to be in recovery', 30_000, UNTIL_UP);
  } catch (error) {
    stopAllSync();
    process.removeListener('exit', stopAllSync);
    const log = await readFile(join(base, `${replicaPort}.log`), 'utf8').catch(() => '');
    throw new Error(`${(error as Error).message}${log ? `\nreplica log:\n${log.slice(-2_000)}` : ''}`);
  }

  return {
    applyDelayMs,
    primaryUrl: (database = 'postgres') => url(primaryPort, database),
    replicaUrl: (database = 'postgres') => url(replicaPort, database),
    query: (server, database, sql, params) => query(url(server === 'primary' ? primaryPort : replicaPort, database), sql, params),
    waitForReplay: async (timeoutMs = applyDelayMs + 30_000) => {
      const started = Date.now();
      const [{ lsn }] = await query<{ lsn: string }>(url(primaryPort, 'postgres'), 'select pg_current_wal_lsn()::text as lsn') as [{ lsn: string }];
      await waitFor(async () => (await query<{ done: boolean }>(url(replicaPort, 'postgres'),
        'select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [lsn]))[0]!.done, `the replica to replay ${lsn}`, timeoutMs, UNTIL_UP);
      return Date.now() - started;
    },
    stopReplica: async () => {
      await run(binDir, 'pg_ctl', ['-D', replicaDir, '-m', 'fast', '-w', 'stop']);
    },
    startReplica: () => startServer(replicaDir, replicaPort),
    stop: async () => {
      if (stopped) return;
      for (const dir of [replicaDir, primaryDir]) {
        await run(binDir, 'pg_ctl', ['-D', dir, 'status']).then(
          () => run(binDir, 'pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']),
          () => undefined, // not running
        ).catch(() => stopSync(binDir, dir));
      }
      stopped = true;
      process.removeListener('exit', stopAllSync);
      await rm(base, { recursive: true, force: true });
    },
  };
}
