// Shared jest settings: TypeScript through SWC, workspace packages loaded from their sources.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // Workspace packages export a `source` condition pointing at src/, so tests never need a build.
  testEnvironmentOptions: { customExportConditions: ['source', 'node', 'require', 'default'] },
  // Integration tests share one PostgreSQL database and one Redis: run files one at a time.
  maxWorkers: 1,
  testTimeout: 30_000,
  reporters: ['default', ['<rootDir>/../../scripts/jest-summary-reporter.cjs', {}]],
};
