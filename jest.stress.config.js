/** `npm run stress`: the long hammering and chaos runs, kept out of `npm test`. */
const base = require('./jest.config.js');
module.exports = {
  ...base,
  testMatch: ['**/*.stress.test.ts'],
  testPathIgnorePatterns: [],
  testTimeout: 600000,
  maxWorkers: 1,
};
