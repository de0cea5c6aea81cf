#!/usr/bin/env node
// npm test: two jest phases, then the plain closing line "N passed, N failed" for both.
//  1. every *.test.ts but the quiet and stress ones, in parallel (jest.config.js);
//  2. the *.quiet.test.ts files, one at a time with nothing else running
//     (jest.quiet.config.js): the tests whose upper bounds on time (wake latency, waits
//     across slices, late lost-wakeup rounds) must measure fastipc, not the load of other
//     test files on 2 cores. The no-waitv suite re-runs both phases' files there.
// Arguments are passed to both phases (e.g. `npm test -- -t Mutex`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
let status = 0;
try {
  for (const [name, config] of [
    ['parallel', 'jest.config.js'],
    ['quiet', 'jest.quiet.config.js'],
  ]) {
    process.stdout.write(`\n== npm test, ${name} phase (${config})\n`);
    const report = path.join(dir, `${name}.json`);
    const r = spawnSync(
      process.execPath,
      [jest, '--config', config, '--reporters=default', '--json', `--outputFile=${report}`, ...process.argv.slice(2)],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    if (r.status !== 0) status = r.status ?? 1;
    try {
      const j = JSON.parse(fs.readFileSync(report, 'utf8'));
      totals.passed += j.numPassedTests;
      totals.failed += j.numFailedTests + j.numRuntimeErrorTestSuites;
      totals.skipped += j.numPendingTests + j.numTodoTests;
    } catch {
      totals.failed += 1; // the phase did not even report: count it as a failure
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(
  `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`,
);
process.exit(status || (totals.failed ? 1 : 0));
