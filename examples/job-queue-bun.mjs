// The job queue of job-queue.mjs with its consumers under Bun and its producer under Node:
// one NamedChannel between two runtimes. Bun comes from $BUN, else `bun` on the PATH, else
// the @oven/bun-linux-x64 package (a devDependency of this repository).
//
//   node examples/job-queue-bun.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

function findBun() {
  if (process.env.BUN) return process.env.BUN;
  try {
    execFileSync('bun', ['--version'], { stdio: 'ignore' });
    return 'bun';
  } catch {}
  try {
    const pkg = createRequire(import.meta.url).resolve('@oven/bun-linux-x64/package.json');
    return pkg.replace(/package\.json$/, 'bin/bun');
  } catch {}
  return undefined;
}

const bun = findBun();
if (!bun) {
  console.error('no Bun found: set BUN=/path/to/bun, or install it (npm install @oven/bun-linux-x64)');
  process.exit(2);
}
const queue = fileURLToPath(new URL('./job-queue.mjs', import.meta.url));
const r = spawnSync(process.execPath, [queue, bun], { stdio: 'inherit' });
process.exit(r.status ?? 1);
