// Stopping `npm start` however a user or a supervisor does it: every service ends gracefully within 10 s and
// nothing is left running or listening. Runs in this checkout (already built by `npm test`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { databaseUrl, groupPids, npmStart, ports, ROOT, startRedis, waitAllStopped, waitFor, waitQuiet, waitReady } from './helpers.mjs';

const SLOT = 2;
const READY_WITHIN_MS = 300_000;
const database = databaseUrl('npm_start');
let stopRedis;

before(async () => { stopRedis = await startRedis(ports(SLOT).redis); });
after(async () => { await stopRedis?.(); });

/** Runs `npm start` to ready, hands it to `stop`, and always leaves nothing behind. */
async function withStart(stop) {
  const start = npmStart(ROOT, { slot: SLOT, database });
  try {
    await waitReady(start, READY_WITHIN_MS);
    await stop(start);
  } finally {
    try { process.kill(-start.child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

/** The pid of the process in the group that runs `script` (the launcher's own arguments name start.mjs too). */
function pidOf(start, script) {
  for (const pid of groupPids(start.child.pid)) {
    const args = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
    if (args[1]?.endsWith(script)) return pid;
  }
  throw new Error(`no ${script} process in:\n${start.output()}`);
}

describe('stopping npm start', { timeout: 5 * (READY_WITHIN_MS + 30_000) }, () => {
  test('SIGINT to the npm process (what `kill -INT` does) stops every service gracefully', async () => {
    await withStart(async (start) => {
      process.kill(start.child.pid, 'SIGINT');
      await waitAllStopped(start, 10_000);
      assert.match(start.output(), /organisations-api\s+\|.*stopped/);
      assert.match(start.output(), /cache-worker\s+\|.*stopped/);
    });
  });

  test('SIGTERM to the whole process group (Ctrl-C, a supervisor) stops every service gracefully', async () => {
    await withStart(async (start) => {
      process.kill(-start.child.pid, 'SIGTERM');
      await waitAllStopped(start, 10_000);
      assert.doesNotMatch(start.output(), /exited \(SIGTERM\)|killed/, 'no service died of the signal: each drained and exited');
      assert.equal(start.output().match(/\|.*"msg":"stopped"/g)?.length, 3);
    });
  });

  test('SIGKILL to npm: the launcher notices and stops everything', async () => {
    await withStart(async (start) => {
      process.kill(start.child.pid, 'SIGKILL');
      await waitAllStopped(start, 10_000);
    });
  });

  test('SIGKILL to the launcher: start.mjs notices and stops everything', async () => {
    await withStart(async (start) => {
      process.kill(pidOf(start, 'scripts/launch.cjs'), 'SIGKILL');
      await waitAllStopped(start, 10_000);
    });
  });

  // The services' output goes to start.mjs: once it is gone, a written line fails, and pino's flush at exit would
  // retry it for ever. Each service watches its parent and, when it is gone, writes nothing more and stops.
  test('SIGKILL to start.mjs: the services notice their parent is gone and stop', async () => {
    await withStart(async (start) => {
      // Idle services: nothing but the parent watch tells them.
      await waitQuiet(start, 3_000);
      const services = ['organisations-api', 'people-api', 'cache-worker'].map((name) => pidOf(start, `services/${name}/dist/server.js`));
      process.kill(pidOf(start, 'scripts/start.mjs'), 'SIGKILL');
      await waitFor(() => services.every((pid) => !groupPids(start.child.pid).includes(pid)), 'the services to exit', 10_000);
      await waitAllStopped(start, 10_000);
    });
  });
});
