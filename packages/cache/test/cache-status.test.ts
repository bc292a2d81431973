import { CACHE_STATUS_NAME, formatCacheStatus, freshnessLeft, type CacheStatus } from '../src/express/cache-status';
import { parseCacheStatus } from './parse-cache-status';

describe('the Cache-Status header value', () => {
  const cases: [CacheStatus, Record<string, unknown>][] = [
    [{ hit: true, ttl: 297 }, { hit: true, ttl: 297 }],
    [{ hit: true, ttl: -12, detail: 'stale' }, { hit: true, ttl: -12, detail: 'stale' }],
    [{ fwd: 'uri-miss', stored: true }, { fwd: 'uri-miss', stored: true }],
    [{ fwd: 'miss', stored: true }, { fwd: 'miss', stored: true }],
    [{ fwd: 'uri-miss', collapsed: true }, { fwd: 'uri-miss', collapsed: true }],
    [{ fwd: 'miss', stored: false }, { fwd: 'miss' }],
    [{ fwd: 'bypass' }, { fwd: 'bypass' }],
    [{ fwd: 'miss', detail: 'cache-unavailable' }, { fwd: 'miss', detail: 'cache-unavailable' }],
  ];

  it.each(cases)('%j parses back as an RFC 8941 list member named crm-cache', (status, params) => {
    const header = formatCacheStatus(status);
    const parsed = parseCacheStatus(header);
    expect(parsed).toEqual({ name: CACHE_STATUS_NAME, params });
    // The order RFC 9211's examples use: the name, then hit or fwd first.
    expect(header).toMatch(/^crm-cache; (hit|fwd=)/);
  });

  it('sends whole seconds of freshness: rounded down, negative once past', () => {
    expect(freshnessLeft(10_999, 0)).toBe(10);
    expect(freshnessLeft(0, 0)).toBe(0);
    expect(freshnessLeft(0, 1)).toBe(-1);
    expect(formatCacheStatus({ hit: true, ttl: 1.7 })).toBe('crm-cache; hit; ttl=1');
  });
});
