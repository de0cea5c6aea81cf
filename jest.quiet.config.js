/**
 * The quiet phase of `npm test` (test/run.mjs): the tests that bound how late something may
 * be (wake latency, waits across slices, late lost-wakeup rounds), one file at a time with
 * nothing else running, after the parallel phase. Their bounds then measure fastipc, not
 * the load of other test files on a 2-core machine.
 */
const base = require('./jest.config.js');
module.exports = {
  ...base,
  testMatch: ['**/*.quiet.test.ts'],
  testPathIgnorePatterns: [],
  maxWorkers: 1,
};
