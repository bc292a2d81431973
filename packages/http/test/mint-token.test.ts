import { spawnSync } from 'node:child_process';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { DEV_JWT_SECRET } from '@crm/config';

// The README's `npm run token -- --role editor` runs the built CLI with pnpm's `--` separators passed through.
const CLI = path.resolve(__dirname, '../dist/cli/mint-token.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test' }, encoding: 'utf8' });

describe('the dev token command', () => {
  it('mints an HS256 token for the role, accepted by the APIs\' secret', () => {
    const result = run('--', '--role', 'editor', '--sub', 'alice');
    expect(result.status).toBe(0);
    const claims = jwt.verify(result.stdout.trim(), DEV_JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ role: 'editor', sub: 'alice' });
    expect(claims.exp! - claims.iat!).toBe(24 * 3600);
  });

  it('refuses an unknown role', () => {
    const result = run('--role', 'root');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--role must be one of reader, editor, admin/);
  });
});
