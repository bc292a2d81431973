import { Writable } from 'node:stream';
import type { Span } from '@opentelemetry/api';
import { createLogger, httpInstrumentationConfig, redactUrl } from '../src';

describe('redactUrl', () => {
  it('replaces the value of every token-like parameter, each occurrence, whatever the case or encoding', () => {
    expect(redactUrl('/a?token=s1&x=1&token=s2&Access_Token=s3&%74oken=s4&jwt=s5')).toBe(
      '/a?token=[redacted]&x=1&token=[redacted]&Access_Token=[redacted]&%74oken=[redacted]&jwt=[redacted]');
  });

  it('leaves URLs without such parameters as they are, and survives malformed encoding', () => {
    expect(redactUrl('/api/v1/organisations?limit=5&q=a%20b')).toBe('/api/v1/organisations?limit=5&q=a%20b');
    expect(redactUrl('/a')).toBe('/a');
    expect(redactUrl('/a?%E0%A4%A=1&token=s')).toBe('/a?%E0%A4%A=1&token=[redacted]');
    expect(redactUrl('http://h/a?token=s#frag')).toBe('http://h/a?token=[redacted]');
  });
});

describe('the logger', () => {
  it('redacts tokens from any url field and credential headers from any line', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = createLogger('redact-test', 'info', sink);
    logger.error({ url: '/x?token=secret-1&token=secret-2', headers: { authorization: 'Bearer secret-3', cookie: 's=secret-4', accept: '*/*' } }, 'failed');
    logger.info({ req: { headers: { authorization: 'Bearer secret-5' } }, authorization: 'secret-6' }, 'other');
    const text = lines.join('');
    for (const secret of ['secret-1', 'secret-2', 'secret-3', 'secret-4', 'secret-5', 'secret-6']) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0]!)).toMatchObject({ url: '/x?token=[redacted]&token=[redacted]', headers: { authorization: '[redacted]', accept: '*/*' } });
  });
});

describe('the HTTP instrumentation settings', () => {
  it('record no headers and overwrite url.query with the redacted query', () => {
    const config = httpInstrumentationConfig();
    expect(config.headersToSpanAttributes).toBeUndefined();
    const attributes: Record<string, unknown> = {};
    const span = { setAttribute: (key: string, value: unknown) => { attributes[key] = value; return span; } } as unknown as Span;
    config.requestHook!(span, { url: '/admin/queues?token=s1&token=s2&x=1' } as never);
    expect(attributes).toEqual({ 'url.query': 'token=[redacted]&token=[redacted]&x=1' });
    expect(config.redactedQueryParamsServer).toEqual(expect.arrayContaining(['token', 'access_token']));
  });
});
