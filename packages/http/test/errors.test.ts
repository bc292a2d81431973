import { ZodError, z } from 'zod';
import { isDatabaseUnavailable, toProblem } from '../src/errors';
import { likeContains, orderBy, pageOf } from '../src/validation';
import { HttpProblem } from '../src/problem';

describe('toProblem', () => {
  it('maps known failures to their status', () => {
    const zodError = z.strictObject({ a: z.number() }).safeParse({ a: 'x', b: 1, c: 2 }).error as ZodError;
    expect(toProblem(zodError).toJSON()).toMatchObject({ status: 400, errors: [{ path: 'a' }, { path: 'b', message: 'unknown field: b' }, { path: 'c', message: 'unknown field: c' }] });
    expect(toProblem({ type: 'entity.parse.failed' }).status).toBe(400);
    expect(toProblem({ type: 'entity.too.large' }).status).toBe(413);
    expect(toProblem({ name: 'UniqueConstraintViolationException' }).status).toBe(409);
    expect(toProblem({ name: 'ForeignKeyConstraintViolationException' }).status).toBe(400);
    expect(toProblem(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })).status).toBe(503);
    const internal = toProblem(new Error('secret detail'));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(internal.toJSON())).not.toMatch(/secret detail/);
  });

  it('keeps an HttpProblem as it is', () => {
    const problem = new HttpProblem('conflict', 'taken');
    expect(toProblem(problem)).toBe(problem);
    expect(problem.toJSON()).toEqual({ type: 'urn:crm:problem:conflict', title: 'Conflict', status: 409, detail: 'taken' });
  });

  it('recognises an unreachable database through error causes', () => {
    expect(isDatabaseUnavailable({ cause: { code: '57P01' } })).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('syntax error'))).toBe(false);
  });
});

describe('query helpers', () => {
  it('escapes LIKE wildcards', () => {
    expect(likeContains('100%_a\\b')).toBe('%100\\%\\_a\\\\b%');
  });
  it('sorts with an id tie-breaker in the same direction (one index serves both directions)', () => {
    expect(orderBy('-name')).toEqual({ name: 'desc', id: 'desc' });
    expect(orderBy('id')).toEqual({ id: 'asc' });
  });
  it('computes the page count', () => {
    expect(pageOf([1, 2], 5, { page: 1, limit: 2, sort: 'id', offset: 0, after: null }, null))
      .toEqual({ items: [1, 2], total: 5, page: 1, limit: 2, pages: 3, nextCursor: null });
  });
});
