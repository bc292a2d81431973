import { parseArgs } from 'node:util';
import { loadEnv } from '@crm/config';
import { mintToken, ROLES, type Role } from '../auth';
import { jwtPolicy } from '../security';

const USAGE = `Usage: npm run -s token -- [role] [--role reader|editor|admin] [--sub NAME] [--hours N]

Prints a bearer token signed with JWT_SECRET (the dev default when unset), for a role:
  reader   GET only (the default)
  editor   GET and writes
  admin    everything, the cache admin routes included

Options:
  --role ROLE   the role, also accepted as the first argument
  --sub NAME    the token's subject (default: dev-<role>)
  --hours N     lifetime in hours, more than 0 (default: 24)
  -h, --help    this text
`;

/** A bad command line: one line on stderr and exit 2 (the shell's usage error), never a stack trace. */
class UsageError extends Error {}

interface Request {
  role: Role;
  sub: string | undefined;
  hours: number;
}

/**
 * pnpm and npm pass the `--` separators through: dropped. A negative number after an option stays its value
 * (`--hours -1` becomes `--hours=-1`), so it is refused as out of range rather than as an ambiguous flag.
 */
function normalise(argv: string[]): string[] {
  const args = argv.filter((arg) => arg !== '--');
  return args.flatMap((arg, i) => {
    if (/^-\d/.test(arg) && /^--[a-z]+$/.test(args[i - 1] ?? '')) return [];
    const next = args[i + 1];
    return /^--[a-z]+$/.test(arg) && next !== undefined && /^-\d/.test(next) ? [`${arg}=${next}`] : [arg];
  });
}

/** Reads the command line: `null` for --help. Throws UsageError for anything it cannot use. */
function parse(argv: string[]): Request | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: normalise(argv),
      options: {
        role: { type: 'string' },
        sub: { type: 'string' },
        hours: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length > 1 || (positionals.length === 1 && values.role !== undefined)) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals.at(-1))}: give the role once`);
  }
  const role = values.role ?? positionals[0] ?? 'reader';
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(role)})`);
  const hours = values.hours === undefined ? 24 : Number(values.hours);
  if (!Number.isFinite(hours) || hours <= 0) throw new UsageError(`--hours must be a number greater than 0 (got ${JSON.stringify(values.hours)})`);
  if (values.sub !== undefined && values.sub.trim() === '') throw new UsageError('--sub must not be empty');
  return { role: role as Role, sub: values.sub, hours };
}

/** Runs the CLI: prints the token (only the token, so `$(npm run -s token -- reader)` works) or usage. */
function main(argv: string[]): number {
  let request: Request | null;
  try {
    request = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}. See --help.\n`);
    return 2;
  }
  if (!request) {
    process.stdout.write(USAGE);
    return 0;
  }
  const env = loadEnv();
  // The APIs refuse a token that lives longer than JWT_MAX_LIFETIME_SECONDS: never mint one.
  if (request.hours * 3600 > env.JWT_MAX_LIFETIME_SECONDS) {
    process.stderr.write(`token: --hours may be at most ${env.JWT_MAX_LIFETIME_SECONDS / 3600} (JWT_MAX_LIFETIME_SECONDS=${env.JWT_MAX_LIFETIME_SECONDS}). See --help.\n`);
    return 2;
  }
  const token = mintToken(jwtPolicy(env), request.role, { sub: request.sub, expiresInSeconds: Math.round(request.hours * 3600) });
  process.stdout.write(`${token}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
