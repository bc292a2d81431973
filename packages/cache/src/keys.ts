import { createHash } from 'node:crypto';

/** Serialises with sorted object keys, so parameter order never changes a key. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The contract's key: `<prefix>:<operation>:<hash of the validated, normalised parameters>`.
 * Parameters are validated (unknown ones rejected) before they get here, so keys are bounded.
 */
export function cacheKey(prefix: string, operation: string, params: unknown): string {
  const hash = createHash('sha256').update(canonicalJson(params)).digest('base64url').slice(0, 22);
  return `${prefix}:${operation}:${hash}`;
}
