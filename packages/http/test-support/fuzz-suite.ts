import { fuzzEveryRoute, tableDigest } from './fuzz';
import { apiForTests, type ApiUnderTest } from './api';

/** One API's fuzz suite: how to start it, put its rows back, read its tables, and what the run must reach. */
export interface FuzzSuite<H extends ApiUnderTest> {
  service: string;
  /** Without a response cache: the properties are about input handling (see the APIs' fuzz tests). */
  start: () => Promise<H>;
  /** Runs one SQL statement on the API's database. */
  execute: (h: H) => (sql: string) => Promise<Record<string, unknown>[]>;
  /** Empties the database and inserts known rows (ids 1, 2, 3 ...), so generated ids reach real rows. */
  reset: (h: H, execute: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<void>;
  /** Operations the run must have reached (`METHOD /path`), a sample of the document's. */
  operations: string[];
}

/** Hostile requests to every route of an API (fuzzEveryRoute): no 5xx, every 4xx problem+json and writing nothing. */
export function fuzzSuite<H extends ApiUnderTest>(suite: FuzzSuite<H>): void {
  const api = apiForTests(suite.start);

  describe(`hostile requests to every ${suite.service} route`, () => {
    it('never answer 5xx; every 4xx is problem+json and writes nothing', async () => {
      const h = api();
      const execute = suite.execute(h);
      const report = await fuzzEveryRoute({
        app: h.app,
        tokens: { reader: h.token('reader'), editor: h.token('editor'), admin: h.token('admin') },
        reset: () => suite.reset(h, execute),
        snapshot: tableDigest(execute),
      });
      // The run reached every part of the contract: the routes from the document, successes and each kind of refusal.
      expect(report.operations).toEqual(expect.arrayContaining(suite.operations));
      expect(Object.keys(report.statuses).map(Number)).toEqual(expect.arrayContaining([200, 201, 204, 400, 401, 403, 404, 415]));
    }, 120_000);
  });
}
