// Issue 15's C baselines (bench/c/native.c, compiled here with the system's cc; the rows
// are skipped with a line saying why when it cannot be):
//   1. uncontended lock+unlock in one thread: fastipc Mutex (SharedArrayBuffer) against a
//      C 3-state futex mutex and a process-shared pthread_mutex_t: reported (V8's
//      Atomics against C's inline atomics: the JS floor is the raw-Atomics row of the
//      mutex bench);
//   2. ping-pong between 2 processes both on CPU 0 (taskset -c 0): fastipc 2 Semaphores
//      against a C sleeping futex ping-pong: target ≤ 1.2×;
//   3. producer/consumer between 2 processes, a ring of 8 counted by two semaphores:
//      fastipc Semaphores (SharedMemory) against process-shared sem_t: target ≥ 3×;
//   4. 64-byte messages one way between 2 processes: NamedChannel against a POSIX message
//      queue (mq_send/mq_receive): reported.
import fs from 'node:fs';
import { fork } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mutex, NamedChannel } from '../dist/index.mjs';
import { drain, oneWay } from './channel.bench.mjs';
import { SHAPE } from './fixtures/channel-peer.mjs';
import { TASKSET, adaptive, startPair } from './fixtures/pair.mjs';
import { buildC, runC, runNode } from './pthread.bench.mjs';
import { compare, scaled, skipped } from './lib.mjs';

const PEER = fileURLToPath(new URL('./fixtures/channel-peer.mjs', import.meta.url));
const hr = () => performance.now();

export async function run() {
  const bin = buildC('native');
  if (!bin) {
    skipped('C baselines (bench/c/native.c)', 'cc could not compile bench/c/native.c');
    return;
  }
  try {
    const N = scaled(5e6);
    const m = new Mutex(new SharedArrayBuffer(64), 0);
    const mutexNs = () => {
      const t0 = hr();
      for (let i = 0; i < N; i++) {
        m.lock();
        m.unlock();
      }
      return ((hr() - t0) * 1e6) / N;
    };
    for (const [impl, label] of [
      ['futex', 'C 3-state futex mutex'],
      ['pthread', 'C pthread_mutex_t (pshared)'],
    ]) {
      await compare(
        `uncontended lock+unlock, one thread: Mutex vs ${label}`,
        { [label]: () => runC(bin, ['mutex', String(N), impl]).perSecond, 'fastipc Mutex (SAB)': mutexNs },
        { mode: 'value', unit: 'ns/op', runs: 5, note: 'reported' },
      );
    }

    if (fs.existsSync(TASKSET)) {
      const pinned = await startPair({ processes: true, pin: true });
      const n = scaled(20000);
      try {
        await compare(
          'ping-pong, 2 processes, both on CPU 0 (taskset -c 0): Semaphores vs C futex',
          {
            'C futex, sleeping (store + wake, wait)': () =>
              Number(
                execFileSync(TASKSET, ['-c', '0', bin, 'pingpong', String(n)], { encoding: 'utf8' }).split(' ')[0],
              ),
            'fastipc 2 Semaphores (SharedMemory, futex)': adaptive(
              async (k) => {
                const { a } = await pinned.run('sem-pingpong', k);
                const ns = a.t1 - a.t0;
                return { value: ns / k / 1e3, seconds: ns / 1e9 };
              },
              { n0: 2000, seconds: 0.2, max: 30000 },
            ),
          },
          { mode: 'value', unit: 'µs/round trip', runs: 5, target: { max: 1.2 }, note: 'issue 15: ≤ 1.2×' },
        );
      } finally {
        await pinned.close();
      }
    } else skipped('ping-pong pinned to CPU 0 vs C futex', `${TASKSET} not found (util-linux)`);

    const nq = scaled(1e5);
    const wantSum = (nq * (nq + 1)) / 2;
    await compare(
      'producer/consumer, ring of 8 counted by 2 semaphores, 2 processes',
      {
        'C sem_t (pshared)': () => {
          const r = runC(bin, ['semq', String(nq)]);
          if (r.check !== wantSum) throw new Error(`C semq: sum ${r.check}, expected ${wantSum}`);
          return r.perSecond;
        },
        'fastipc 2 Semaphores (SharedMemory)': async () => {
          const r = await runNode('semq', ['producer', 'consumer'], nq, nq);
          if (r.checks[1] !== wantSum) throw new Error(`fastipc semq: sum ${r.checks[1]}, expected ${wantSum}`);
          return r.perSecond;
        },
      },
      {
        mode: 'value',
        unit: 'M items/s',
        runs: 5,
        target: { min: 3 },
        note: `issue 15: ≥ 3×; ${nq} items, sum checked`,
      },
    );

    const nMq = scaled(200_000);
    const nCh = scaled(1_000_000);
    const name = `bench-native-${process.pid}`;
    const ch = new NamedChannel(name, SHAPE);
    try {
      await compare(
        'messages one way, 2 processes, 64 bytes: NamedChannel vs POSIX mq',
        {
          'POSIX mq_send/mq_receive (C)': () => {
            const r = runC(bin, ['mq', String(nMq)]);
            if (r.check !== nMq) throw new Error(`C mq: ${r.check} of ${nMq} came`);
            return r.perSecond;
          },
          NamedChannel: async () =>
            nCh /
            (await oneWay(
              () => fork(PEER, ['channel', nCh, name]),
              () => () => drain(ch, nCh),
            )),
        },
        { mode: 'value', unit: 'k msgs/s', runs: 5, note: 'reported' },
      );
    } finally {
      ch.close();
    }
  } finally {
    fs.rmSync(bin.replace(/\/native$/, ''), { recursive: true, force: true });
  }
}
