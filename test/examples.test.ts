// Every file of examples/ runs as a user would run it (node examples/<file>), and says what
// it checked: an example that rots fails here.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { leftSegments } from './helpers';

const DIR = path.join(__dirname, '..', 'examples');
const run = (file: string) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [path.join(DIR, file)], { timeout: 120000 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { message: `${err.message}\n${stdout}${stderr}` })) : resolve(stdout),
    ),
  );

// the last line each prints, with the figures it computed and checked (it exits 1 if they
// are wrong)
const expected: Record<string, RegExp> = {
  'worker-pool.mjs': /^sum of squares 1\.\.1000 = 333833500 \(expected 333833500\)$/,
  'cross-process-counter.mjs': /^counter = 40000 \(expected 40000\)$/,
  'job-queue.mjs': /^3000 jobs done by 3 consumers \(Node\), 36000 words \(expected 3000 jobs, 36000 words\)$/,
  'job-queue-bun.mjs': /^3000 jobs done by 3 consumers \(Bun\), 36000 words \(expected 3000 jobs, 36000 words\)$/,
  'http-locks.mjs': /^ledger = 200 after 200 requests to 2 servers \(expected 200\)$/,
  'recovery.mjs': /^record = \[1, 1\]$/,
};

test('every example is listed here', () => {
  expect(
    fs
      .readdirSync(DIR)
      .filter((f) => f.endsWith('.mjs'))
      .sort(),
  ).toEqual(Object.keys(expected).sort());
});

test.each(Object.keys(expected))(
  'examples/%s runs and gets its result',
  async (file) => {
    const before = new Set(fs.readdirSync('/dev/shm'));
    const out = await run(file);
    const lines = out.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(expected[file]);
    if (file === 'recovery.mjs') expect(out).toContain('recovered = true');
    // nothing left behind in /dev/shm (the examples use their own names, not the tests')
    expect(fs.readdirSync('/dev/shm').filter((f) => !before.has(f) && f.includes('example'))).toEqual([]);
    expect(leftSegments()).toEqual([]);
  },
  150000,
);
