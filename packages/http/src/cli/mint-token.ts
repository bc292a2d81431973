import { parseArgs } from 'node:util';
import { loadEnv } from '@crm/config';
import { mintToken, ROLES, type Role } from '../auth';
import { jwtPolicy } from '../security';

// `npm run token -- --role editor [--sub alice] [--hours 24]`: prints a bearer token signed with JWT_SECRET.
// pnpm passes the `--` separators through: drop them before parsing.
const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { role: { type: 'string', default: 'reader' }, sub: { type: 'string' }, hours: { type: 'string', default: '24' } },
  strict: true,
});
const role = values.role as Role;
const hours = Number(values.hours);
if (!ROLES.includes(role)) {
  process.stderr.write(`--role must be one of ${ROLES.join(', ')}\n`);
  process.exit(2);
}
if (!Number.isFinite(hours) || hours <= 0) {
  process.stderr.write('--hours must be a positive number\n');
  process.exit(2);
}
const env = loadEnv();
// The APIs refuse a token that lives longer than JWT_MAX_LIFETIME_SECONDS: never mint one.
if (hours * 3600 > env.JWT_MAX_LIFETIME_SECONDS) {
  process.stderr.write(`--hours may be at most ${env.JWT_MAX_LIFETIME_SECONDS / 3600} (JWT_MAX_LIFETIME_SECONDS=${env.JWT_MAX_LIFETIME_SECONDS})\n`);
  process.exit(2);
}
process.stdout.write(`${mintToken(jwtPolicy(env), role, { sub: values.sub, expiresInSeconds: Math.round(hours * 3600) })}\n`);
