// Kernels without futex_waitv (Linux < 5.16, or a seccomp profile that refuses it): the
// suites run again (in the quiet phase of npm test, test/run.mjs) under a seccomp filter
// that answers syscall 449 with ENOSYS, exactly as such a kernel does, and async waits on
// the futex backend must keep working through the waiter threads' plain FUTEX_WAIT
// fallback (shim/sys/waiter*.c).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
let dir: string;
let launcher: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-no-waitv-'));
  launcher = path.join(dir, 'no-waitv');
  execFileSync('cc', ['-O2', '-o', launcher, path.join(__dirname, 'fixtures', 'no-waitv.c')]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('the launcher refuses futex_waitv with ENOSYS and nothing else', async () => {
  const script = `const b = require('node-gyp-build')(${JSON.stringify(ROOT)}); console.log(b.waitAsyncMode());`;
  const refused = await run(launcher, [process.execPath, '-e', script]);
  expect(refused).toEqual({ code: 0, out: 'futex_wait\n' });
  const plain = await run(process.execPath, ['-e', script]);
  expect(plain).toEqual({ code: 0, out: 'futex_waitv\n' });
});

test('every suite that waits passes with futex_waitv refused', async () => {
  const report = path.join(dir, 'report.json');
  const { code, out } = await run(
    launcher,
    [
      process.execPath,
      path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--ci',
      '--runInBand', // this file runs in the quiet phase: alone, so one process more is all
      '--json',
      `--outputFile=${report}`,
      // every suite of both phases but this file, the packaging, CLI and structure suites
      // (no waits of their own) and the stress suites (npm run stress)
      '--config',
      JSON.stringify({
        ...require('../jest.config.js'),
        rootDir: ROOT,
        testPathIgnorePatterns: [
          'no-waitv\\.quiet\\.test\\.ts$',
          'package\\.test\\.ts$',
          'cli\\.test\\.ts$',
          '/structure/',
          '\\.stress\\.test\\.ts$',
        ],
        reporters: ['default'],
      }),
    ],
    { FASTIPC_EXPECT_ASYNC_MODE: 'futex_wait' },
  );
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  const failures = r.testResults.flatMap((f: { assertionResults: { status: string; fullName: string }[] }) =>
    f.assertionResults.filter((a) => a.status !== 'passed').map((a) => a.fullName),
  );
  if (code !== 0) console.log(out.slice(-4000));
  expect({ code, failures, suitesFailed: r.numFailedTestSuites }).toEqual({ code: 0, failures: [], suitesFailed: 0 });
  const names: string[] = r.testResults.flatMap((f: { assertionResults: { status: string; fullName: string }[] }) =>
    f.assertionResults.map((a) => a.fullName),
  );
  expect(names).toContain('async waits on the futex backend sleep as this kernel allows');
  // (the SharedMemory variant's: on a SharedArrayBuffer, only a FutexWord's async waits use the addon)
  expect(names.filter((n) => n.startsWith('async contract: futex over SharedMemory')).length).toBeGreaterThanOrEqual(
    14,
  );
  expect(r.numPassedTests).toBeGreaterThanOrEqual(200);
}, 300_000);
