import { spawnSync } from 'node:child_process';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '@crm/config';

// The README's `npm run -s token -- reader` runs the built CLI with the `--` separators passed through.
const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.resolve(__dirname, '../dist/cli/mint-token.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test' }, encoding: 'utf8' });

/** A usage error: exit 2, one line on stderr that says what is wrong, nothing on stdout, no stack trace. */
function expectUsageError(result: ReturnType<typeof run>, message: RegExp): void {
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
}

describe('the dev token command', () => {
  it('mints an HS256 token for the role, accepted by the APIs\' secret', () => {
    const result = run('--', '--role', 'editor', '--sub', 'alice');
    expect(result.status).toBe(0);
    const claims = jwt.verify(result.stdout.trim(), DEV_JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ role: 'editor', sub: 'alice' });
    expect(claims.exp! - claims.iat!).toBe(24 * 3600);
  });

  it('takes the role as its first argument', () => {
    const result = run('--', 'admin', '--hours', '2');
    expect(result.status).toBe(0);
    const claims = jwt.verify(result.stdout.trim(), DEV_JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ role: 'admin' });
    expect(claims.exp! - claims.iat!).toBe(2 * 3600);
  });

  it('prints its usage for --help and exits 0', () => {
    const result = run('--', '--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run -s token -- \[role\]/);
    expect(result.stdout).toMatch(/--hours N/);
    expect(result.stderr).toBe('');
  });

  it('refuses an unknown role', () => {
    expectUsageError(run('--role', 'root'), /--role must be one of reader, editor, admin/);
    expectUsageError(run('root'), /--role must be one of reader, editor, admin/);
  });

  it('refuses a lifetime that is not a positive number', () => {
    expectUsageError(run('--', '--hours', '-1'), /--hours must be a number greater than 0 \(got "-1"\)/);
    expectUsageError(run('--hours', '0'), /--hours must be a number greater than 0/);
    expectUsageError(run('--hours', 'soon'), /--hours must be a number greater than 0/);
    expectUsageError(run('--hours'), /'--hours <value>' argument missing/);
  });

  it('refuses an unknown flag and a second role', () => {
    expectUsageError(run('--bogus'), /Unknown option '--bogus'/);
    expectUsageError(run('reader', 'editor'), /unexpected argument "editor"/);
  });

  it('`npm run -s token -- reader` prints only the token', () => {
    const result = spawnSync('npm', ['run', '-s', 'token', '--', 'reader'], {
      cwd: ROOT, env: { ...process.env, NODE_ENV: 'test' }, encoding: 'utf8', timeout: 120_000,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(jwt.verify(result.stdout.trim(), DEV_JWT_SECRET, { algorithms: ['HS256'] })).toMatchObject({ role: 'reader' });
  }, 130_000);
});
