// Issue 15: fastipc's Channel against the `multithreading` package's MPMC channel, the
// other shared-memory channel on npm. It needs Node >= 22 (navigator, Promise.withResolvers),
// so both sides run under Bun (the devDependency @oven/bun-linux-x64, $BUN, or bun on the
// PATH): JSON objects of about 64 bytes one way between two threads, capacity 64, each run a
// fresh Bun process (bench/fixtures/multithreading-bun.mjs). Reported; skipped with a line
// saying why without Bun or the package.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { compare, scaled, skipped } from './lib.mjs';

const SCRIPT = fileURLToPath(new URL('./fixtures/multithreading-bun.mjs', import.meta.url));
const require = createRequire(import.meta.url);
const NAME = 'messages one way, 2 threads under Bun, JSON objects: Channel vs multithreading';

function findBun() {
  if (process.env.BUN) return process.env.BUN;
  try {
    const bin = require.resolve('@oven/bun-linux-x64/package.json').replace(/package\.json$/, 'bin/bun');
    if (fs.existsSync(bin)) return bin;
  } catch {}
  try {
    execFileSync('bun', ['--version'], { stdio: 'ignore' });
    return 'bun';
  } catch {}
  return undefined;
}

export async function run() {
  const bun = findBun();
  if (!bun) return skipped(NAME, 'no Bun (set BUN=/path/to/bun or install @oven/bun-linux-x64)');
  try {
    import.meta.resolve('multithreading'); // (its exports map has no ./package.json)
  } catch {
    return skipped(NAME, 'the multithreading package is not installed');
  }
  const n = scaled(100_000);
  const one = (kind) => () => {
    const out = execFileSync(bun, [SCRIPT, kind, String(n)], { encoding: 'utf8', timeout: 120000 });
    return JSON.parse(out.trim().split('\n').pop()).kmsgs;
  };
  await compare(
    NAME,
    {
      'multithreading channel (blockingSend/blockingRecv)': one('multithreading'),
      'fastipc Channel, codecs.json': one('fastipc'),
    },
    { mode: 'value', unit: 'k msgs/s', runs: 5, note: `reported; ${n} messages per run` },
  );
}
