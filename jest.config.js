/**
 * Unit specs sit beside the code; integration suites (real PostgreSQL, real sockets) live in test/.
 * ts-jest transpiles only (isolatedModules): type checking is `npm run typecheck`, run by `npm test`.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: false }] };
// The embedded database (no TEST_DATABASE_URL) is one database: integration files then run one at a time.
module.exports = {
  maxWorkers: process.env.TEST_DATABASE_URL ? 2 : 1,
  // Integration suites start real servers and processes.
  testTimeout: 120000,
  projects: [
    { displayName: 'unit', transform, testEnvironment: 'node', roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    {
      displayName: 'integration',
      transform,
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFiles: ['<rootDir>/test/support/setup-env.ts'],
    },
  ],
};
