import { config as loadDotenv } from 'dotenv';
import { parseEnv, type Env, InvalidEnvironmentError } from './env';

export {
  parseEnv, envSchema, InvalidEnvironmentError, DEV_JWT_SECRET, MIN_PRODUCTION_SECRET_BYTES, PRODUCTION_RATE_LIMIT_PER_MINUTE,
  type Env, type RedisNode, type RedisTarget, type TrustProxy,
} from './env';
export { PUBLISHED_SECRETS, PLACEHOLDER_MARKER, isPublishedSecret } from './published-secrets';

let cached: Env | undefined;

/**
 * The process's configuration: `.env` is honoured (real environment variables win), parsed once.
 * A bad value stops the process with a message naming the variable.
 */
export function loadEnv(): Env {
  if (cached) return cached;
  loadDotenv({ quiet: true });
  try {
    cached = parseEnv(process.env);
  } catch (error) {
    if (error instanceof InvalidEnvironmentError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // `npm start` prints it once for all its processes and sets CRM_DEV_JWT_WARNED for them.
  if (cached.usingDevJwtSecret && cached.NODE_ENV !== 'test' && process.env.CRM_DEV_JWT_WARNED !== '1') {
    process.stderr.write('WARNING: JWT_SECRET is not set; using the dev-only default secret. Never do this in production.\n');
  }
  return cached;
}
