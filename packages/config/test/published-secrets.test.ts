import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from '../src/env';
import { DEV_JWT_SECRET, PUBLISHED_SECRETS, isPublishedSecret } from '../src/published-secrets';

const root = path.resolve(__dirname, '..', '..', '..');

/** Every file of the repository that could show a secret to a reader: docs, infra, compose, examples. */
function publishedFiles(): string[] {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n');
  return tracked.filter((file) => /^(docs\/|infra\/|README\.md$|docker-compose[^/]*\.ya?ml$)|(^|\/)\.env[^/]*$/.test(file) && !/\.(json|svg|png|ts|cjs|js)$/.test(file));
}

/** The secrets production checks against the list: the JWT secret and the Redis password. */
const SECRET_NAMES = 'JWT_SECRET|REDIS_PASSWORD';

/** The literal values a file assigns to a secret (`JWT_SECRET=x`, `JWT_SECRET: x`, `:-x}` defaults). */
function secretsIn(text: string): string[] {
  const values = new Set<string>();
  for (const m of text.matchAll(new RegExp(`(?<!\\{)(?:${SECRET_NAMES})["']?\\s*[:=][ \\t]*["']?([^\\s"'\`,]+)`, 'g'))) values.add(m[1]!);
  for (const m of text.matchAll(new RegExp(`\\$\\{(?:${SECRET_NAMES}):-([^}]+)\\}`, 'g'))) values.add(m[1]!);
  // Interpolations and shell substitutions (`${JWT_SECRET:?...}`, `$(openssl rand -hex 32)`) are not values.
  return [...values].filter((v) => !v.startsWith('$') && !v.startsWith('<') && !/^\|/.test(v));
}

describe('the secrets this repository publishes', () => {
  it('are listed in one place, the dev default and the old compose default included', () => {
    expect(PUBLISHED_SECRETS).toEqual(expect.arrayContaining([DEV_JWT_SECRET, 'compose-local-jwt-secret-change-me-7f3a9c2e', 'REPLACE-ME']));
  });

  it('are each refused as JWT_SECRET in production, however long', () => {
    for (const secret of PUBLISHED_SECRETS) {
      expect(() => parseEnv({ NODE_ENV: 'production', JWT_SECRET: secret })).toThrow(/JWT_SECRET/);
    }
  });

  it('include every JWT_SECRET or REDIS_PASSWORD value a file of the repository shows (docs, examples, compose, k8s)', () => {
    const files = publishedFiles();
    expect(files).toEqual(expect.arrayContaining(['docker-compose.yml', 'infra/k8s/secret.yaml']));
    const shown = files.flatMap((file) => secretsIn(readFileSync(path.join(root, file), 'utf8')).map((value) => ({ file, value })));
    // The k8s Secret shows its placeholder: the scan must see at least that one.
    expect(shown.map((s) => s.file)).toContain('infra/k8s/secret.yaml');
    expect(shown.filter((s) => !isPublishedSecret(s.value))).toEqual([]);
  });

  it('finds values in the shapes files write them', () => {
    expect(secretsIn('JWT_SECRET=abc123\n  JWT_SECRET: "def"\n x: ${JWT_SECRET:-ghi}\nJWT_SECRET=$(openssl rand -hex 32)\nJWT_SECRET: ${JWT_SECRET:?set it}\nREDIS_PASSWORD=jkl'))
      .toEqual(['abc123', 'def', 'jkl', 'ghi']);
  });
});
