// Issue 15: syscalls per uncontended operation, every primitive, on a SharedMemory segment
// with the futex backend (how processes share them). The primitives make no syscall of
// their own but futex(2) on the shared memory (FUTEX_WAIT/WAKE without _PRIVATE: V8's and
// glibc's own futexes are all _PRIVATE, but for pthread_join's, which the subtraction
// removes), so `strace -f -e trace=futex` counts those of a process that runs the
// operation N times (bench/fixtures/syscall-ops.mjs), minus a run of the same set-up with
// N = 0. Target: none on the uncontended path (≤ 0.001 per operation); a raw
// FutexWord.wake makes one by design and is reported as such. (Counting every syscall
// instead, `strace -c`, adds 0.0001-0.002 per operation of the runtime's own: JIT code
// pages (mprotect), the heap (brk, mmap, madvise), GC threads (private futexes).)
// Skipped without strace.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCALE, figure, scaled, skipped } from './lib.mjs';

const OPS = fileURLToPath(new URL('./fixtures/syscall-ops.mjs', import.meta.url));
const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => fs.existsSync(p));

/** futex(2) calls on shared memory (not _PRIVATE) of `node syscall-ops.mjs kind n`, every thread. */
function calls(kind, n) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-strace-')), 'trace');
  try {
    execFileSync(STRACE, ['-f', '-e', 'trace=futex', '-o', out, process.execPath, OPS, kind, String(n)], {
      stdio: 'ignore',
    });
    return fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.includes('futex(0x') && !l.includes('_PRIVATE')).length;
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

export async function run() {
  if (!STRACE) {
    skipped('syscalls per uncontended operation', 'strace not found');
    return;
  }
  const kinds = JSON.parse(execFileSync(process.execPath, [OPS, '--list'], { encoding: 'utf8' }));
  const n = scaled(200_000);
  for (const kind of kinds) {
    // the smaller of 3 differences (start-up's own count may vary by a call or two); one in
    // a quick run (each is two node processes under strace)
    const diffs = Array.from({ length: SCALE < 0.5 ? 1 : 3 }, () => calls(kind, n) - calls(kind, 0));
    const perOp = Math.max(0, Math.min(...diffs)) / n;
    const raw = kind.startsWith('FutexWord wake');
    figure(
      'syscalls per uncontended operation (futex on shared memory, strace, start-up subtracted)',
      kind,
      perOp,
      'syscalls/op',
      {
        target: raw ? undefined : { max: 0.001 },
        note: `${n} operations, SharedMemory, futex backend`,
      },
    );
  }
}
