#!/usr/bin/env node
/**
 * Formatting, settled by tools: Prettier for TypeScript and JavaScript (.prettierrc.json),
 * clang-format for C (.clang-format). Both come from devDependencies.
 *
 *   node scripts/format.mjs            rewrite every tracked source file in place
 *   node scripts/format.mjs --check    change nothing; list the files that differ, exit 1 if any
 *   ... --only ts | --only c           one language
 *
 * The files are git's tracked (and untracked, not ignored) ones, so build output and
 * node_modules are never touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
if (only !== undefined && only !== 'ts' && only !== 'c') {
  console.error('format: --only takes ts or c');
  process.exit(2);
}

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const ts = files.filter((f) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(f) && !f.startsWith('test/fixtures/build/'));
const c = files.filter((f) => /\.(c|h)$/.test(f));

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
let failed = false;

function run(command, argv) {
  const r = spawnSync(command, argv, { cwd: root, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r;
}

if (only !== 'c' && ts.length) {
  const r = run(bin('prettier'), [check ? '--list-different' : '--write', ...ts]);
  if (check && r.stdout.trim()) {
    failed = true;
    console.error(`not formatted by prettier (run npm run format):\n${r.stdout.trimEnd()}`);
  } else if (r.status !== 0) {
    failed = true;
    console.error(r.stderr || r.stdout);
  }
}

if (only !== 'ts' && c.length) {
  const r = run(bin('clang-format'), check ? ['--dry-run', '--Werror', ...c] : ['-i', ...c]);
  if (r.status !== 0) {
    failed = true;
    const differ = [...new Set([...r.stderr.matchAll(/^(\S+?):\d+:\d+: error/gm)].map((m) => m[1]))];
    console.error(`not formatted by clang-format (run npm run format):\n${differ.join('\n') || r.stderr}`);
  }
}

process.exit(failed ? 1 : 0);
