// A fresh clone's first `npm start`, from a shell whose `node` is the machine's own (Node 20 here): every
// process must run on the pinned Node 24 from that very first run, and SIGTERM to npm must stop them all.
// Slow (install + a full build): it reuses this checkout's pnpm store, so the install is offline.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { databaseUrl, machinePath, npmStart, ports, ROOT, startRedis, waitAllStopped, waitReady } from './helpers.mjs';

const SLOT = 1;
const READY_WITHIN_MS = Number(process.env.TEST_FIRST_RUN_TIMEOUT_MS ?? 900_000); // a loaded CI machine builds slowly
let clone;
let stopRedis;

before(async () => {
  clone = mkdtempSync(path.join(os.tmpdir(), 'crm-first-run-'));
  // The committed HEAD, as a user's `git clone` gets it: nothing installed, nothing built.
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
  stopRedis = await startRedis(ports(SLOT).redis);
});

after(async () => {
  await stopRedis?.();
  if (clone) rmSync(clone, { recursive: true, force: true });
});

test('the first `npm start` of a fresh clone runs every service on Node 24, and SIGTERM to npm stops them all', { timeout: READY_WITHIN_MS + 60_000 }, async () => {
  const machineNode = execFileSync('node', ['-p', 'process.version'], { env: { PATH: machinePath() }, encoding: 'utf8' }).trim();
  const start = npmStart(clone, { slot: SLOT, database: databaseUrl('first_run') });
  try {
    const healths = await waitReady(start, READY_WITHIN_MS);
    for (const h of healths) assert.match(h.body.runtime, /^v24\./, `${h.body.service} runs on ${h.body.runtime} (the shell's node is ${machineNode})`);
    assert.match(start.output(), /^Ready \(Node v24\.\d+\.\d+\):$/m);
    assert.doesNotMatch(start.output(), /Reinstall pnpm/);
    assert.equal(start.output().match(/JWT_SECRET is not set/g)?.length, 1, 'the dev JWT warning is printed once');

    process.kill(start.child.pid, 'SIGTERM');
    await waitAllStopped(start, 10_000);
    assert.deepEqual(await start.exited, { code: 0, signal: null });
  } finally {
    try { process.kill(-start.child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});
