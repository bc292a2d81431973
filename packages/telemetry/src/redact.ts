/**
 * Query parameters that carry credentials. Tokens never belong in URLs (the services accept none there), but
 * a client may still send one: it must not reach a log line or a span either way.
 */
export const SENSITIVE_QUERY_PARAMS = ['token', 'access_token', 'id_token', 'refresh_token', 'jwt', 'api_key', 'apikey', 'key', 'password', 'secret'] as const;

/** Headers that carry credentials: never logged, never recorded on spans. */
export const SENSITIVE_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization'] as const;

export const REDACTED = '[redacted]';

const sensitive = new Set<string>(SENSITIVE_QUERY_PARAMS);

/**
 * The URL (a path with its query, or an absolute URL) with the value of every sensitive query parameter
 * replaced, each occurrence, whatever the name's case or percent-encoding. Everything else is kept as sent.
 */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return url;
  const hashAt = url.indexOf('#', queryAt);
  const query = url.slice(queryAt + 1, hashAt === -1 ? undefined : hashAt);
  const redacted = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    return sensitive.has(decodeName(name).toLowerCase()) ? `${name}=${REDACTED}` : pair;
  }).join('&');
  // A fragment never reaches a server, but a logged URL could carry one: drop it rather than parse it.
  return `${url.slice(0, queryAt)}?${redacted}`;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name; // malformed percent-encoding: compare as sent
  }
}
