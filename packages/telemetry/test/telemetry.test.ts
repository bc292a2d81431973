import { Writable } from 'node:stream';
import pino from 'pino';
import { ServiceMetrics, trace } from '../src';
import { createLogger } from '../src/logger';

describe('metrics', () => {
  it('exposes the contract metric names as Prometheus text, labelled by service', async () => {
    const metrics = new ServiceMetrics('test-service');
    metrics.countQuery();
    metrics.countQuery();
    metrics.httpRequestDuration.observe({ method: 'GET', route: '/x', status_code: '200' }, 0.01);
    const { contentType, body } = await metrics.expose();
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toMatch(/^db_queries_total\{service="test-service"\} 2$/m);
    expect(body).toMatch(/^http_request_duration_seconds_count\{service="test-service",method="GET",route="\/x",status_code="200"\} 1$/m);
  });
});

describe('logger', () => {
  it('adds the active trace and span ids to every line', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    trace.setReader(() => ({ trace_id: 'abc', span_id: 'def' }));
    const logger = pino({ mixin: () => trace.currentIds() }, sink);
    logger.info('hello');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'hello', trace_id: 'abc', span_id: 'def' });
    trace.setReader(() => ({}));
  });

  it('creates a JSON logger with the service name', () => {
    const logger = createLogger('svc', 'silent');
    expect(logger.level).toBe('silent');
    expect(logger.bindings()).toMatchObject({ service: 'svc' });
  });
});
