// Formatting is settled by the tools (Prettier for TS/JS, clang-format for C), as
// `npm run format:check` checks it; lines stay within 120 columns.
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

test('npm run format:check passes: every source file is as the formatters write it', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'format.mjs'), '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
});

test('no line of code is longer than 120 columns', () => {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => /\.(ts|mjs|cjs|js|c|h)$/.test(f) && fs.existsSync(path.join(ROOT, f)));
  const long: string[] = [];
  for (const f of tracked) {
    fs.readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > 120 && !/https?:\/\//.test(line)) long.push(`${f}:${i + 1} (${line.length})`);
      });
  }
  expect(long).toEqual([]);
});
