// Issue 5's async-wait figures.
//   5. wake latency of an async wait across processes: a ping-pong between two processes
//      over a SharedMemory segment (futex backend) where A waits with waitAsync and B
//      with a sync wait, against the same ping-pong with both sync; µs per round trip,
//      target async/sync ≤ 2×. Twice: with two Semaphores (the sync side spins before it
//      sleeps, as Semaphore.wait does) and with two raw FutexWords (no spin on either
//      side: the sleeping wake path alone).
//   6. event-loop lag while 1000 Semaphore.waitAsync() are pending (on a SharedMemory
//      segment, futex backend; on a SharedArrayBuffer, hybrid: Atomics.waitAsync) against an idle
//      loop: the lateness of a 1 ms setInterval (each tick's interval minus 1 ms), mean
//      and p99 over TICKS ticks, the first 20 dropped. Target: no worse than idle
//      (≤ 1.1×; these are fractions of a ms, so look at the paired range for noise).
//      After each run the 1000 waits are released with post(1000) and all must resolve
//      true.
// Env: TICKS (default 1500 per run, times BENCH_SCALE), PENDING (default 1000).
import { Semaphore, SharedMemory } from '../dist/index.mjs';
import { adaptive, startPair } from './fixtures/pair.mjs';
import { compare, envNumber, scaled } from './lib.mjs';

const SECONDS = 0.2; // per timed run
const MAX_ROUND_TRIPS = 30000; // per timed run: ≤ ~1.5 s even at 50 µs a round trip
const TICKS = scaled(envNumber('TICKS', 1500));
const PENDING = Math.round(envNumber('PENDING', 1000));
const SKIP = 20;

const pairRoundTrip = (pair, op, n0) =>
  adaptive(
    async (n) => {
      const { a } = await pair.run(op, n);
      const ns = a.t1 - a.t0;
      return { value: ns / n / 1e3, seconds: ns / 1e9 };
    },
    { n0, seconds: SECONDS, max: MAX_ROUND_TRIPS },
  );

/** Lateness of a 1 ms setInterval over TICKS ticks, in µs: { mean, p99 }. */
function intervalLateness() {
  return new Promise((resolve) => {
    const late = [];
    let last = -1;
    let ticks = 0;
    const t = setInterval(() => {
      const now = performance.now();
      if (ticks++ > SKIP) late.push((now - last - 1) * 1e3);
      last = now;
      if (late.length >= TICKS) {
        clearInterval(t);
        late.sort((x, y) => x - y);
        const mean = late.reduce((s, x) => s + x, 0) / late.length;
        resolve({ mean, p99: late[Math.min(late.length - 1, Math.floor(late.length * 0.99))] });
      }
    }, 1);
  });
}

/** One lag run with PENDING waits on `sem` (or none): { mean, p99 } lateness in µs. */
async function lagRun(sem) {
  const waits = [];
  if (sem) {
    if (sem.value !== 0) throw new Error(`semaphore holds ${sem.value} tokens before the run`);
    for (let i = 0; i < PENDING; i++) waits.push(sem.waitAsync());
  }
  const r = await intervalLateness();
  if (sem) {
    sem.post(PENDING);
    const got = await Promise.all(waits);
    if (!got.every((x) => x === true)) throw new Error('a waitAsync did not resolve true after post()');
    if (sem.value !== 0) throw new Error(`semaphore holds ${sem.value} tokens after the run`);
  }
  return r;
}

export async function run() {
  // 5. async vs sync wake latency across processes
  const procs = await startPair({ processes: true });
  try {
    await compare(
      'ping-pong, 2 processes: Semaphore.waitAsync vs wait (SharedMemory, futex)',
      {
        'both sync: post + wait': pairRoundTrip(procs, 'sem-pingpong', 2000),
        'A waitAsync, B wait': pairRoundTrip(procs, 'sem-async-pingpong', 2000),
      },
      { mode: 'value', unit: 'µs/round trip', target: { max: 2 }, note: 'the sync side spins before sleeping' },
    );
    await compare(
      'ping-pong, 2 processes: FutexWord.waitAsync vs wait, no spin (SharedMemory, futex)',
      {
        'both sync: store + wake + wait': pairRoundTrip(procs, 'raw-futexword-pingpong', 2000),
        'A waitAsync, B wait': pairRoundTrip(procs, 'raw-futexword-async-pingpong', 2000),
      },
      { mode: 'value', unit: 'µs/round trip', target: { max: 2 }, note: 'sleep and wake only' },
    );
  } finally {
    await procs.close();
  }

  // 6. event-loop lag with PENDING waits pending
  const sab = new SharedArrayBuffer(64);
  const name = `bench-async-${process.pid}`;
  const shm = SharedMemory.open(name, { size: 4096 });
  try {
    const semShm = new Semaphore(shm.buffer, 0);
    const semSab = new Semaphore(sab, 0);
    if (semShm.backend !== 'futex' || semSab.backend !== 'hybrid')
      throw new Error(`unexpected backends ${semShm.backend}, ${semSab.backend}`);
    const p99 = { idle: [], futex: [], atomics: [] };
    const lag = (key, sem) => async (k) => {
      const r = await lagRun(sem);
      if (k >= 0) p99[key][k] = r.p99;
      return r.mean;
    };
    const labels = {
      idle: 'idle: no wait pending',
      futex: `${PENDING} Semaphore.waitAsync pending, segment (futex)`,
      atomics: `${PENDING} Semaphore.waitAsync pending, SAB (hybrid: Atomics.waitAsync)`,
    };
    await compare(
      `event-loop lag: mean lateness of a 1 ms setInterval, ${PENDING} waitAsync pending vs idle`,
      {
        [labels.idle]: lag('idle', null),
        [labels.futex]: lag('futex', semShm),
        [labels.atomics]: lag('atomics', semSab),
      },
      { mode: 'value', unit: 'µs late per tick', target: { max: 1.1 }, note: `${TICKS} ticks per run` },
    );
    // the p99 of the same runs (measured above, interleaved); reported, same target
    await compare(
      `event-loop lag: p99 lateness of a 1 ms setInterval, ${PENDING} waitAsync pending vs idle`,
      {
        [labels.idle]: (k) => p99.idle[k],
        [labels.futex]: (k) => p99.futex[k],
        [labels.atomics]: (k) => p99.atomics[k],
      },
      { mode: 'value', unit: 'µs late (p99)', warmup: 0, target: { max: 1.1 }, note: 'same runs as the mean' },
    );
  } finally {
    try {
      shm.unlink(); // first: a close() that is the segment's last may already unlink it
    } finally {
      shm.close();
    }
  }
}
