// Issue 3's ping-pong figures, µs per round trip.
//   3. two Semaphores (A posts s1 and waits s2; B waits s1 and posts s2):
//      between two workers over a SharedArrayBuffer, against a MessagePort ping-pong
//      between two workers (target ≥ 20× faster); between two processes over a
//      SharedMemory segment, against child_process.fork IPC (send / 'message') between
//      the bench process and an echo child (target ≥ 50× faster).
//   4. the same Semaphore ping-pongs with both parties pinned to CPU 0 (processes: both
//      started as `taskset -c 0 node ...`; workers: the whole worker pair in a child
//      process started under `taskset -c 0`), against the same pinned ping-pong with no
//      spinning at all: two sequence words, store + wake, then sleep at once while the
//      peer's word is not there yet (anchors 2a / 3), with Atomics.wait/notify between
//      workers and FutexWord (futex backend) between processes. Target ≤ 1.1×: spinning
//      must not cost anything when the peer cannot run meanwhile.
// Every pair is started once and reused for all its runs; only the round trips are timed.
// Iteration counts adapt: the warm-up run sizes the timed ones to ~0.2 s × BENCH_SCALE (at most 30k round trips).
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TASKSET, adaptive, hr, reap, startChild, startPair } from './fixtures/pair.mjs';
import { compare, skipped } from './lib.mjs';

const SECONDS = 0.2; // per timed run
const MAX_ROUND_TRIPS = 30000; // per timed run: ≤ ~1.5 s even at 50 µs a round trip
const ECHO = fileURLToPath(new URL('./fixtures/echo.mjs', import.meta.url));
const HOST = fileURLToPath(new URL('./fixtures/worker-host.mjs', import.meta.url));

/** A pair op as a compare() function: µs per round trip from A's clock. */
const pairRoundTrip = (pair, op, n0) =>
  adaptive(
    async (n) => {
      const { a } = await pair.run(op, n);
      const ns = a.t1 - a.t0;
      return { value: ns / n / 1e3, seconds: ns / 1e9 };
    },
    { n0, seconds: SECONDS, max: MAX_ROUND_TRIPS },
  );

/** fork() IPC ping-pong with the echo child (m = 0 is the untimed first ping). */
function ipcPingPong(child, n) {
  return new Promise((resolve) => {
    let t0 = 0;
    const on = (m) => {
      if (m === 0) t0 = hr();
      if (m === n) {
        child.off('message', on);
        const ns = hr() - t0;
        resolve({ value: ns / n / 1e3, seconds: ns / 1e9 });
      } else child.send(m + 1);
    };
    child.on('message', on);
    child.send(0);
  });
}

export async function run() {
  // 3. workers: Semaphores vs MessagePort
  const workers = await startPair({ processes: false, ports: true });
  try {
    await compare(
      'ping-pong, 2 workers: Semaphores vs MessagePort',
      {
        'MessagePort postMessage': pairRoundTrip(workers, 'port-pingpong', 2000),
        'fastipc 2 Semaphores (SAB, hybrid backend)': pairRoundTrip(workers, 'sem-pingpong', 5000),
      },
      { mode: 'value', unit: 'µs/round trip', target: { speedup: 20 } },
    );
  } finally {
    await workers.close();
  }

  // 3. processes: Semaphores vs fork() IPC
  const procs = await startPair({ processes: true });
  const echo = fork(ECHO, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const echoExited = new Promise((r) => echo.once('exit', r));
  try {
    await new Promise((resolve, reject) => {
      echo.once('spawn', resolve);
      echo.once('error', reject);
    });
    await compare(
      'ping-pong, 2 processes: Semaphores vs fork() IPC',
      {
        'child_process.fork IPC send/message': adaptive((n) => ipcPingPong(echo, n), {
          n0: 1000,
          seconds: SECONDS,
          max: MAX_ROUND_TRIPS,
        }),
        'fastipc 2 Semaphores (SharedMemory, futex)': pairRoundTrip(procs, 'sem-pingpong', 5000),
      },
      { mode: 'value', unit: 'µs/round trip', target: { speedup: 50 } },
    );
  } finally {
    echo.disconnect();
    await echoExited;
    await procs.close();
  }

  // 4. pinned to one CPU: Semaphores vs a ping-pong that never spins
  if (!fs.existsSync(TASKSET)) {
    skipped('ping-pong pinned to CPU 0 (processes and workers)', `${TASKSET} not found (util-linux)`);
    return;
  }
  const pinned = await startPair({ processes: true, pin: true });
  try {
    await compare(
      'ping-pong, 2 processes, both on CPU 0 (taskset -c 0): Semaphores vs no-spin',
      {
        'FutexWord wait/wake, no spin (SharedMemory)': pairRoundTrip(pinned, 'raw-futexword-pingpong', 2000),
        'fastipc 2 Semaphores (SharedMemory, futex)': pairRoundTrip(pinned, 'sem-pingpong', 2000),
      },
      { mode: 'value', unit: 'µs/round trip', target: { max: 1.1 } },
    );
  } finally {
    await pinned.close();
  }

  const host = startChild(HOST, { pin: true }, 'worker host (taskset -c 0)');
  try {
    const info = await host.call({ op: 'setup' });
    if (info.cpus !== 1) throw new Error(`worker host: expected 1 usable CPU under taskset -c 0, got ${info.cpus}`);
    const hostRoundTrip = (op, n0) =>
      adaptive(
        async (n) => {
          const { a } = await host.call({ op, n });
          const ns = a.t1 - a.t0;
          return { value: ns / n / 1e3, seconds: ns / 1e9 };
        },
        { n0, seconds: SECONDS, max: MAX_ROUND_TRIPS },
      );
    await compare(
      'ping-pong, 2 workers, process on CPU 0 (taskset -c 0): Semaphores vs no-spin',
      {
        'Atomics.wait/notify, no spin (SAB)': hostRoundTrip('raw-atomics-pingpong', 2000),
        'fastipc 2 Semaphores (SAB, hybrid backend)': hostRoundTrip('sem-pingpong', 2000),
      },
      { mode: 'value', unit: 'µs/round trip', target: { max: 1.1 } },
    );
  } finally {
    host.post({ op: 'exit' });
    await reap(host);
  }
}
