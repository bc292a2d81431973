import type { Express } from 'express';
import type { Role } from '../src/auth';

/**
 * What the shared API suites need of an API under test (the APIs' test harness fits): its app, tokens and auth
 * headers by role, and a close.
 */
export interface ApiUnderTest {
  app: Express;
  token: (role: Role) => string;
  auth: (role: Role) => { Authorization: string };
  close: () => Promise<void>;
}

/**
 * Starts the API before the file's tests and closes it after; the returned getter gives it to the tests (jest
 * declares the tests before beforeAll runs).
 */
export function apiForTests<H extends ApiUnderTest>(start: () => Promise<H>): () => H {
  let api: H | undefined;
  beforeAll(async () => { api = await start(); });
  afterAll(() => api?.close());
  return () => {
    if (!api) throw new Error('the API under test has not started');
    return api;
  };
}
