// Where a contended Mutex's time goes (issue 11): two workers each do N x (lock;
// counter++; unlock) on one SharedArrayBuffer Mutex (atomics backend), and the same with
// the minimal 3-state mutex of bench/fixtures (the bench's baseline). Counted per 1 M
// operations, from a copy of dist/index.mjs with counters patched in: spins that found
// the lock free (spin exit "got it") and that ran out ("slept"), and sleeps (Atomics.wait
// calls by the wait driver). Run it under `strace -f -c -e trace=futex` for the kernel's
// futex calls (V8's Atomics.wait/notify sleep on a futex of its own):
//   node bench/profile/mutex-contended.mjs [N]            counters
//   strace -f -c -e trace=futex node bench/profile/mutex-contended.mjs [N] mutex
//   strace -f -c -e trace=futex node bench/profile/mutex-contended.mjs [N] minimal
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

const here = path.dirname(fileURLToPath(import.meta.url));
const patched = path.join(here, '../../dist/profile-counters.mjs');

if (isMainThread) {
  const N = Number(process.argv[2] ?? 1e6);
  const only = process.argv[3];
  let src = fs.readFileSync(path.join(here, '../../dist/index.mjs'), 'utf8');
  const patches = [
    ['  succeeded() {', '  succeeded() { globalThis.__c.spinOk++;'],
    ['  failed() {', '  failed() { globalThis.__c.spinFail++;'],
    ['const result = impl.wait(view, index', 'globalThis.__c.sleeps++; const result = impl.wait(view, index'],
    // the starvation mode: a waiter asks for a handoff; an unlock hands the lock on
    [
      'Atomics.or(this.view, 2 /* STATE */, 1073741824 /* WAITERS */ | 268435456 /* HANDOFF */)',
      '(globalThis.__c.starves++, Atomics.or(this.view, 2, 1073741824 | 268435456))',
    ],
    // a handoff wakes the starving waiters' queue first, and the state's only if that woke nobody
    [
      'if (next !== 0 /* UNLOCKED */ && wakeStarvers(this.impl, this.view, 8 /* STARVERS */, 1) > 0) return;',
      'if (next !== 0) globalThis.__c.handoffs++; ' +
        'if (next !== 0 && wakeStarvers(this.impl, this.view, 8, 1) > 0) ' +
        'return void globalThis.__c.starverWakes++;',
    ],
    [
      'const woken = this.impl.wake(this.view, 2 /* STATE */, 1);',
      'const woken = this.impl.wake(this.view, 2, 1); globalThis.__c.wakes++; ' +
        'if (!woken) globalThis.__c.emptyWakes++;',
    ],
    // a lock taken by another thread than its last holder rewrites the owner record
    ['  write() {', '  write() { globalThis.__c.recordWrites++;'],
  ];
  for (const [find, repl] of patches) {
    if (src.split(find).length !== 2) throw new Error(`patch target not found once: ${find}`);
    src = src.replace(find, repl);
  }
  fs.writeFileSync(patched, src);
  try {
    for (const impl of only ? [only] : ['minimal', 'mutex']) {
      const sab = new SharedArrayBuffer(256);
      const counters = new Int32Array(new SharedArrayBuffer(64));
      const workers = [0, 1].map(
        () => new Worker(new URL(import.meta.url), { workerData: { sab, counters, N, impl } }),
      );
      const t0 = performance.now();
      const done = await Promise.all(
        workers.map((w) => new Promise((res, rej) => (w.on('message', res), w.on('error', rej)))),
      );
      const ms = performance.now() - t0;
      const count = new Int32Array(sab)[32];
      if (count !== 2 * N) throw new Error(`counter ${count}, expected ${2 * N}`);
      const per = (x) => ((x / (2 * N)) * 1e6).toFixed(0);
      const sum = (k) => done.reduce((s, d) => s + d[k], 0);
      console.log(
        `${impl}: ${((2 * N) / ms / 1e3).toFixed(2)} M ops/s; per 1 M ops: spins that got it ${per(sum('spinOk'))}, ` +
          `spins that slept ${per(sum('spinFail'))}, sleeps ${per(sum('sleeps'))}` +
          (impl === 'mutex'
            ? `; starving waiters ${per(sum('starves'))}, unlock wakes ${per(sum('wakes'))} ` +
              `(woke none ${per(sum('emptyWakes'))}), handoffs ${per(sum('handoffs'))} ` +
              `(to a starving waiter ${per(sum('starverWakes'))}), owner record writes ${per(sum('recordWrites'))}`
            : ''),
      );
    }
  } finally {
    fs.rmSync(patched, { force: true });
  }
} else {
  const { sab, counters, N, impl } = workerData;
  globalThis.__c = {
    spinOk: 0,
    spinFail: 0,
    sleeps: 0,
    starves: 0,
    wakes: 0,
    emptyWakes: 0,
    handoffs: 0,
    starverWakes: 0,
    recordWrites: 0,
  };
  const i32 = new Int32Array(sab);
  const C = 32; // the counter: its own line
  const { Mutex } = await import(patched);
  const m = new Mutex(sab, 0);
  // start together (both loaded and ready)
  Atomics.add(counters, 0, 1);
  while (Atomics.load(counters, 0) < 2);
  if (impl === 'mutex') {
    for (let i = 0; i < N; i++) {
      m.lock();
      i32[C]++;
      m.unlock();
    }
  } else {
    // the bench's minimal 3-state mutex, spin 100 (bench/fixtures/peer.mjs lockA/unlockA)
    const W = 16; // its word: byte 64
    for (let i = 0; i < N; i++) {
      let c = Atomics.compareExchange(i32, W, 0, 1);
      if (c !== 0) {
        let got = false;
        for (let s = 0; s < 100; s++) {
          if (Atomics.load(i32, W) === 0 && (c = Atomics.compareExchange(i32, W, 0, 1)) === 0) {
            got = true;
            break;
          }
        }
        if (got) globalThis.__c.spinOk++;
        else {
          globalThis.__c.spinFail++;
          if (c !== 2) c = Atomics.exchange(i32, W, 2);
          while (c !== 0) {
            globalThis.__c.sleeps++;
            Atomics.wait(i32, W, 2);
            c = Atomics.exchange(i32, W, 2);
          }
        }
      }
      i32[C]++;
      if (Atomics.exchange(i32, W, 0) === 2) Atomics.notify(i32, W, 1);
    }
  }
  parentPort.postMessage(globalThis.__c);
}
