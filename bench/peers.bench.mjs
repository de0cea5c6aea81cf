// Issue 15's peer figures: fastipc against the packages a Node user would pick instead
// (devDependencies of this repository; a row whose peer is missing is skipped).
//   1. uncontended lock+unlock in one thread: Mutex (SharedArrayBuffer) against
//      async-mutex (`await acquire()` + release) and await-lock (`await acquireAsync()` +
//      release): target ≥ 40× faster. NamedMutex against proper-lockfile (lockSync +
//      release on a file in os.tmpdir()): target ≥ 10,000× faster.
//   2. async lock, one thread, 50 tasks × 20 rounds each, holding the lock across one
//      `await` (a resolved promise): Mutex.withLockAsync against async-mutex
//      runExclusive: throughput (k lock rounds/s) and p99 of the wait for the lock (ms).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Mutex, NamedMutex } from '../dist/index.mjs';
import { compare, envNumber, scaled, skipped, stats } from './lib.mjs';

const require = createRequire(import.meta.url);
const peer = (name) => {
  try {
    return require(name);
  } catch {
    return undefined;
  }
};
const asyncMutex = peer('async-mutex');
const awaitLock = await import('await-lock').catch(() => undefined); // (ESM only)
const lockfile = peer('proper-lockfile');
const hr = () => performance.now();
const N = scaled(envNumber('N_PEERS', 2e5));

/** ns per op of `n` rounds of `op` (sync or async), timed here. */
async function nsPerOp(n, op) {
  const t0 = hr();
  const r = op(n);
  if (r && typeof r.then === 'function') await r;
  return ((hr() - t0) * 1e6) / n;
}

function mutexLoop(m, n) {
  for (let i = 0; i < n; i++) {
    m.lock();
    m.unlock();
  }
}

export async function run() {
  const sab = new SharedArrayBuffer(64);
  const m = new Mutex(sab, 0);
  const fast = { 'fastipc Mutex lock()+unlock() (SAB)': () => nsPerOp(N * 10, (n) => mutexLoop(m, n)) };
  if (asyncMutex) {
    const am = new asyncMutex.Mutex();
    await compare(
      'uncontended lock+unlock, one thread: Mutex vs async-mutex',
      {
        'async-mutex await acquire() + release()': () =>
          nsPerOp(N, async (n) => {
            for (let i = 0; i < n; i++) (await am.acquire())();
          }),
        ...fast,
      },
      { mode: 'value', unit: 'ns/op', runs: 5, target: { speedup: 40 }, note: 'issue 15: ≥ 40× faster' },
    );
  } else skipped('uncontended lock+unlock, one thread: Mutex vs async-mutex', 'async-mutex is not installed');
  if (awaitLock) {
    const AwaitLock = awaitLock.default ?? awaitLock;
    const al = new AwaitLock();
    await compare(
      'uncontended lock+unlock, one thread: Mutex vs await-lock',
      {
        'await-lock await acquireAsync() + release()': () =>
          nsPerOp(N, async (n) => {
            for (let i = 0; i < n; i++) {
              await al.acquireAsync();
              al.release();
            }
          }),
        ...fast,
      },
      { mode: 'value', unit: 'ns/op', runs: 5, target: { speedup: 40 }, note: 'issue 15: ≥ 40× faster' },
    );
  } else skipped('uncontended lock+unlock, one thread: Mutex vs await-lock', 'await-lock is not installed');

  if (lockfile) {
    const file = path.join(os.tmpdir(), `fastipc-bench-lockfile-${process.pid}`);
    fs.writeFileSync(file, '');
    const named = new NamedMutex(`bench-peers-${process.pid}`);
    try {
      await compare(
        'uncontended lock+unlock, one process: NamedMutex vs proper-lockfile',
        {
          'proper-lockfile lockSync() + release()': () =>
            nsPerOp(scaled(500), (n) => {
              for (let i = 0; i < n; i++) lockfile.lockSync(file, { realpath: false })();
            }),
          'fastipc NamedMutex lock()+unlock()': () => nsPerOp(N * 10, (n) => mutexLoop(named, n)),
        },
        { mode: 'value', unit: 'ns/op', runs: 5, target: { speedup: 10000 }, note: 'issue 15: ≥ 10,000× faster' },
      );
    } finally {
      named.close();
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.lock`, { recursive: true, force: true });
    }
  } else
    skipped('uncontended lock+unlock, one process: NamedMutex vs proper-lockfile', 'proper-lockfile is not installed');

  if (!asyncMutex) {
    skipped('async lock, one thread, 50 tasks', 'async-mutex is not installed');
    return;
  }
  // 50 tasks × 20 rounds; each round waits for the lock (timed), then holds it across an await
  const TASKS = 50;
  const ROUNDS = 20;
  const tasks = async (withLock) => {
    const waits = [];
    const t0 = hr();
    await Promise.all(
      Array.from({ length: TASKS }, async () => {
        for (let r = 0; r < ROUNDS; r++) {
          const asked = hr();
          await withLock(async () => {
            waits.push(hr() - asked);
            await null;
          });
        }
      }),
    );
    const ms = hr() - t0;
    waits.sort((a, b) => a - b);
    return { perSec: (TASKS * ROUNDS) / ms, p99: waits[Math.floor(waits.length * 0.99)] };
  };
  const am = new asyncMutex.Mutex();
  const fm = new Mutex(new SharedArrayBuffer(64), 0);
  const impls = {
    'async-mutex runExclusive': () => tasks((fn) => am.runExclusive(fn)),
    'fastipc Mutex.withLockAsync (SAB)': () => tasks((fn) => fm.withLockAsync(fn)),
  };
  const p99 = { 'async-mutex runExclusive': [], 'fastipc Mutex.withLockAsync (SAB)': [] };
  await compare(
    'async lock, one thread, 50 tasks × 20 rounds holding across an await: throughput',
    Object.fromEntries(
      Object.entries(impls).map(([label, fn]) => [
        label,
        async (k) => {
          const r = await fn();
          if (k >= 0) p99[label].push(r.p99);
          return r.perSec;
        },
      ]),
    ),
    { mode: 'value', unit: 'k rounds/s', runs: 7, note: 'reported' },
  );
  await compare(
    'async lock, one thread, 50 tasks × 20 rounds: p99 wait for the lock (same runs)',
    Object.fromEntries(Object.entries(p99).map(([label, v]) => [label, (k) => v[k] ?? stats(v).median])),
    { mode: 'value', unit: 'ms (p99 wait)', runs: 7, warmup: 0, note: 'reported' },
  );
}
