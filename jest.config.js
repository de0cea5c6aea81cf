/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/property-tests'],
  testMatch: ['**/*.test.ts'],
  // stress: `npm run stress`; quiet: the second, serial phase of `npm test` (test/run.mjs)
  testPathIgnorePatterns: ['\\.stress\\.test\\.ts$', '\\.quiet\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // 2 cores: the tests start their own workers and processes.
  maxWorkers: 2,
};
