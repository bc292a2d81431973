import { InvalidEnvironmentError, parseEnv } from '@crm/config';
import { loadWorkerEnv, workerSettings } from '../src/env';

// The worker's settings: its own credentials, validated at start, and never the APIs' signing secret.
const WARMUP = 'warmup-credential-0123456789abcdef-0123456789';

describe('the worker configuration', () => {
  it('defaults to no warm-up, no dashboard, and failed jobs kept a week, 10,000 at most', () => {
    expect(workerSettings(parseEnv({}))).toEqual({ warmupToken: null, adminQueuesToken: null, failedJobs: { age: 7 * 24 * 3_600, count: 10_000 } });
  });

  it('takes WARMUP_TOKEN, ADMIN_QUEUES_TOKEN and the failed-job bounds', () => {
    const dashboard = 'd'.repeat(40);
    expect(workerSettings(parseEnv({ WARMUP_TOKEN: WARMUP, ADMIN_QUEUES_TOKEN: dashboard, FAILED_JOBS_MAX_AGE_HOURS: '1.5', FAILED_JOBS_MAX_COUNT: '50' })))
      .toEqual({ warmupToken: WARMUP, adminQueuesToken: dashboard, failedJobs: { age: 5_400, count: 50 } });
  });

  it.each([
    ['WARMUP_TOKEN', 'too-short'],
    ['WARMUP_TOKEN', `${'w'.repeat(32)} with spaces`],
    ['ADMIN_QUEUES_TOKEN', 'REPLACE-ME'],
    ['FAILED_JOBS_MAX_AGE_HOURS', '0'],
    ['FAILED_JOBS_MAX_COUNT', '-1'],
  ])('refuses a bad %s, naming it', (variable, value) => {
    const parse = () => parseEnv({ [variable]: value });
    expect(parse).toThrow(InvalidEnvironmentError);
    expect(parse).toThrow(new RegExp(`^Invalid environment: ${variable} `));
  });

  it('never uses JWT_SECRET: one in the environment (production) is replaced by a random key of the process', () => {
    const saved = { ...process.env };
    try {
      process.env.NODE_ENV = 'production';
      process.env.JWT_SECRET = 'the-apis-signing-secret-0123456789';
      const { env } = loadWorkerEnv();
      expect(env.JWT_SECRET).not.toBe('the-apis-signing-secret-0123456789');
      expect(env.JWT_SECRET).toHaveLength(43); // 32 random bytes, base64url
      expect(process.env.JWT_SECRET).not.toContain('the-apis-signing-secret');
    } finally {
      process.env = saved;
    }
  });
});
