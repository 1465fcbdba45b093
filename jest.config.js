/** Unit specs sit beside the code; integration suites (real PostgreSQL, real sockets) live in test/. */
const transform = { '^.+\\.ts$': ['@swc/jest'] };
module.exports = {
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
      testTimeout: 120000,
    },
  ],
};
