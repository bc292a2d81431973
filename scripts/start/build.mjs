// The build step of `npm start`: one line per package as turbo builds it, everything turbo said when it fails.
import { spawn } from 'node:child_process';

// turbo announces each task as `<package>:build: cache miss, executing <hash>` (or `cache hit, ...`).
const TASK_START = /^(\S+):build: cache (miss|hit)/;

/**
 * Runs `turbo run build`, printing `  built <package>` per package compiled (cached ones are counted, not
 * listed) and a total; on failure prints turbo's whole output and exits with its status.
 * `track` receives the child so a stop request can end it.
 */
export function buildWithProgress(root, tty, track = () => undefined) {
  process.stdout.write('> Building\n');
  const started = Date.now();
  const child = spawn('turbo', ['run', 'build', '--output-logs=new-only', '--no-color'], {
    cwd: root,
    env: { ...process.env, TURBO_NO_UPDATE_NOTIFIER: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const output = [];
  let built = 0;
  let cached = 0;
  let partial = '';
  const onData = (chunk) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      output.push(line);
      const match = TASK_START.exec(line);
      if (!match) continue;
      if (match[2] === 'hit') cached += 1;
      else {
        built += 1;
        process.stdout.write(`  building ${match[1]}\n`);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`cannot run turbo: ${error.message}\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      if (partial) output.push(partial);
      if (code !== 0) {
        if (signal) process.exit(0); // stopped while building
        process.stderr.write(`${output.join('\n')}\nThe build failed (exit ${code}).\n`);
        process.exit(code ?? 1);
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`  ${built} package(s) built, ${cached} up to date, in ${seconds} s\n`);
      resolve();
    });
  });
}
