// `npm start` with nothing on its PostgreSQL or Redis port: a local one is started (embedded PostgreSQL, the
// machine's redis-server) and stopped with npm start; anything else stops it with one message. Each test uses
// free ports and a temporary CRM_DATA_DIR, and leaves no process or directory behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { cannotRunPostgres } from '../start/embedded-postgres.mjs';
import { startLocalServers } from '../start/local-servers.mjs';
import { databaseUrl, groupPids, npmStart, portOpen, ports, ROOT, waitAllStopped, waitFor, waitReady } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { freePort } = require('@crm/testing');
const { parseEnv } = require(path.join(ROOT, 'packages/config/dist/index.js'));
const pg = createRequire(path.join(ROOT, 'packages/database/package.json'))('pg');
const SLOT = 3;
// Runs here (Linux x64, as root through the postgres user); a machine where it cannot says why.
const noPostgres = (await cannotRunPostgres()) ?? false;

/** Kills what a failed test may have left: they run in process groups of their own (redis-server names its port). */
function killLeftovers(marks) {
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    if (marks.some((mark) => line.includes(mark))) try { process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL'); } catch { /* gone */ }
  }
}

let dataDir;
const marks = [];
beforeEach(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'crm-data-'));
  chmodSync(dataDir, 0o755); // as root, PostgreSQL runs as the postgres user, who must reach its data directory
});
afterEach(() => {
  killLeftovers([dataDir, ...marks.splice(0)]);
  rmSync(dataDir, { recursive: true, force: true });
});

/** A free port, whose redis-server (if any) a failed test's cleanup can find. */
async function nextPort() {
  const free = await freePort();
  marks.push(`redis-server 127.0.0.1:${free}`);
  return free;
}

/** The start logic on its own, with this environment (what loadEnv would parse) and the test's data directory. */
function start(vars, { PATH = process.env.PATH } = {}) {
  const lines = [];
  const servers = startLocalServers(parseEnv(vars), { env: { PATH, CRM_DATA_DIR: dataDir }, root: ROOT, log: (line) => lines.push(line) });
  return { ...servers, lines };
}

/** Redis's reply to PING on 127.0.0.1:port, asked by redis-cli (not by the code under test). */
function ping(port) {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'PING'], { encoding: 'utf8' }).trim();
}

/** Kills whatever still runs from `dir` (a server a failed test left; they run in process groups of their own). */
function killServersIn(dir) {
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    if (line.includes(dir)) try { process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL'); } catch { /* gone */ }
  }
}

describe('the local servers of npm start', { timeout: 60_000 }, () => {
  test('a local Redis URL where nothing answers: redis-server runs there, answers PING, and is gone once stopped', async () => {
    const port = await nextPort();
    const servers = start({ REDIS_URL: `redis://127.0.0.1:${port}/0` });
    await servers.ready;
    try {
      assert.equal(ping(port), 'PONG');
      assert.match(servers.lines.join('\n'), new RegExp(`Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\) does not answer: running redis-server there`));
      assert.ok(existsSync(path.join(dataDir, 'redis')));
    } finally {
      await servers.stop();
    }
    assert.equal(await portOpen(port), false);
  });

  test('a local DATABASE_URL where nothing answers: an embedded PostgreSQL runs there and answers a query', { skip: noPostgres }, async () => {
    const port = await nextPort();
    const servers = start({ DATABASE_URL: `postgres://postgres@localhost:${port}/postgres` });
    await servers.ready;
    try {
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await client.connect();
      const { rows } = await client.query('SELECT current_setting($1) AS version', ['server_version']);
      await client.end();
      assert.match(rows[0].version, /^17\./);
      assert.match(servers.lines.join('\n'), /PostgreSQL at localhost:\d+ \(DATABASE_URL\) does not answer: running an embedded PostgreSQL there \(data in .*postgres/);
    } finally {
      await servers.stop();
    }
    assert.equal(await portOpen(port), false);
  });

  test('nothing can be started (a remote host, no redis-server on the PATH): one message, and nothing runs', async () => {
    const port = await nextPort();
    const servers = start(
      { DATABASE_URL: 'postgres://postgres@db.invalid:5432/crm', REDIS_URL: `redis://127.0.0.1:${port}/0` },
      { PATH: dataDir }, // a directory without redis-server
    );
    await assert.rejects(servers.ready, (error) => {
      assert.match(error.message, /^Cannot start: PostgreSQL at db\.invalid:5432 \(DATABASE_URL\) does not answer, and it is not on this machine; /);
      assert.match(error.message, new RegExp(`Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\) does not answer, and redis-server is not installed`));
      assert.match(error.message, /run `docker compose up`\.$/);
      return true;
    });
    assert.deepEqual(servers.lines, []);
    assert.equal(await portOpen(port), false);
  });

  test('a start that fails midway (redis-server exits at once) stops the PostgreSQL it had started', { skip: noPostgres }, async () => {
    const [pgPort, redisPort] = [await nextPort(), await nextPort()];
    writeFileSync(path.join(dataDir, 'redis-server'), '#!/bin/sh\necho "bad config" >&2\nexit 1\n', { mode: 0o755 });
    const servers = start(
      { DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/postgres`, REDIS_URL: `redis://127.0.0.1:${redisPort}/0` },
      { PATH: dataDir },
    );
    await assert.rejects(servers.ready, /redis-server exited \(exit 1\):\n {2}bad config/);
    assert.match(servers.lines[0], /running an embedded PostgreSQL there/);
    assert.equal(await portOpen(pgPort), false);
    assert.ok(!existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'PostgreSQL shut down cleanly');
  });

  test('in production nothing is started: what does not answer is only reported', async () => {
    const port = await nextPort();
    const servers = start({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) + 'production-only-secret', REDIS_URL: `redis://127.0.0.1:${port}/0` });
    await servers.ready;
    assert.deepEqual(servers.lines, [`Redis at 127.0.0.1:${port} (REDIS_URL) does not answer (nothing is started in production)`]);
    assert.equal(await portOpen(port), false);
    await servers.stop();
  });
});

test('npm start with nothing on its PostgreSQL and Redis ports starts both, and SIGTERM to npm stops everything', { timeout: 180_000, skip: noPostgres }, async () => {
  const pgPort = await nextPort();
  const database = new URL(databaseUrl('local_servers'));
  database.host = `127.0.0.1:${pgPort}`;
  marks.push(`redis-server 127.0.0.1:${ports(SLOT).redis}`);
  // A data directory that does not exist yet, as `.data` in a fresh clone.
  const run = npmStart(ROOT, { slot: SLOT, database: database.toString(), env: { CRM_DATA_DIR: path.join(dataDir, 'data') } });
  try {
    await waitReady(run, 150_000);
    assert.match(run.output(), /PostgreSQL at 127\.0\.0\.1:\d+ \(DATABASE_URL\) does not answer: running an embedded PostgreSQL/);
    assert.match(run.output(), /Redis at 127\.0\.0\.1:\d+ \(REDIS_URL\) does not answer: running redis-server there/);
    process.kill(run.child.pid, 'SIGTERM');
    await waitAllStopped(run, 20_000);
    await waitFor(async () => !(await portOpen(pgPort)) && !(await portOpen(run.ports.redis)), 'PostgreSQL and Redis to stop', 20_000);
    assert.deepEqual(await run.exited, { code: 0, signal: null });
  } finally {
    try { process.kill(-run.child.pid, 'SIGKILL'); } catch { /* already gone */ }
    for (const pid of groupPids(run.child.pid)) assert.fail(`left running: ${pid}`);
  }
});
