#!/usr/bin/env node
// `npm test` (through scripts/launch.cjs, so on the pinned Node 24): builds, runs each package's jest tests,
// the Redis Cluster tests, then the root-level tests (scripts/test/: a fresh clone's first start, stopping
// `npm start`), and ends with one `N passed, N failed` line. `node scripts/test.mjs test:cluster` runs one part.
// Every part runs even if an earlier one failed; the exit status is non-zero if any did.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { summarise } = createRequire(import.meta.url)('./test-summary.cjs');
const rootTests = path.join(root, 'scripts', 'test');

const PARTS = {
  test: ['turbo', ['run', 'test', '--concurrency=1', '--continue', '--output-logs=new-only']],
  'test:cluster': ['turbo', ['run', 'test:cluster', '--concurrency=1', '--continue', '--output-logs=new-only']],
  root: [process.execPath, [
    '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'scripts', 'node-test-summary-reporter.mjs')}`, '--test-reporter-destination=stderr',
    ...readdirSync(rootTests).filter((f) => f.endsWith('.test.mjs')).map((f) => path.join(rootTests, f)),
  ]],
};
const wanted = process.argv.slice(2);
const unknown = wanted.filter((part) => !(part in PARTS));
if (unknown.length > 0) {
  process.stderr.write(`unknown part(s) ${unknown.join(', ')}: choose from ${Object.keys(PARTS).join(', ')}\n`);
  process.exit(2);
}

// .ci/run passes its own file and prints the line itself (TEST_SUMMARY=off), as its last line.
const ownFile = !process.env.JEST_SUMMARY_FILE;
const tmp = ownFile ? mkdtempSync(path.join(os.tmpdir(), 'crm-test-')) : null;
const summaryFile = process.env.JEST_SUMMARY_FILE ?? path.join(tmp, 'summary.jsonl');
const env = { ...process.env, JEST_SUMMARY_FILE: summaryFile };

let current = null;
let stopped = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopped = true;
    current?.kill(signal);
  });
}

function run(command, args) {
  return new Promise((resolve) => {
    current = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
    current.on('error', (error) => {
      process.stderr.write(`cannot run ${command}: ${error.message}\n`);
      resolve(1);
    });
    current.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let status = await run('turbo', ['run', 'build', '--output-logs=errors-only']);
if (status === 0) {
  for (const part of wanted.length > 0 ? wanted : Object.keys(PARTS)) {
    if (stopped) break;
    const [command, args] = PARTS[part];
    if ((await run(command, args)) !== 0) status = 1;
  }
}
if (stopped && status === 0) status = 130;

if (process.env.TEST_SUMMARY !== 'off') {
  let text = '';
  try {
    text = (await import('node:fs')).readFileSync(summaryFile, 'utf8');
  } catch {
    // nothing reported: the status decides
  }
  process.stdout.write(`${summarise(text, status)}\n`);
}
if (tmp) rmSync(tmp, { recursive: true, force: true });
process.exit(status);
