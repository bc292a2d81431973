// Shared jest settings: TypeScript through SWC, workspace packages loaded from their sources.
const path = require('node:path');

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
  // By absolute path: packages sit at different depths (packages/*, services/*, system-tests).
  reporters: ['default', [path.join(__dirname, 'scripts', 'jest-summary-reporter.cjs'), {}]],
};
