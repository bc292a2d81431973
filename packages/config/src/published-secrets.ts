/** The dev-only JWT secret: accepted outside production, with a loud warning. */
export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

/** Marks every placeholder in infra/k8s/secret.yaml: a credential containing it was never replaced. */
export const PLACEHOLDER_MARKER = 'REPLACE-ME';

/**
 * Every secret this repository has ever published (code defaults, compose defaults, docs examples,
 * placeholders). Anyone can read them, so anyone could sign tokens or log in with them: production refuses
 * them. Add here any example value a file of the repository shows (packages/config/test/published-secrets.test.ts
 * scans the repository for them).
 */
export const PUBLISHED_SECRETS: readonly string[] = [
  DEV_JWT_SECRET,
  // docker-compose.yml's default until the compose file required JWT_SECRET.
  'compose-local-jwt-secret-change-me-7f3a9c2e',
  PLACEHOLDER_MARKER,
];

/** Whether a secret is one anybody can read in this repository (exactly, or a placeholder left in place). */
export function isPublishedSecret(value: string): boolean {
  return PUBLISHED_SECRETS.includes(value) || value.toUpperCase().includes(PLACEHOLDER_MARKER);
}
