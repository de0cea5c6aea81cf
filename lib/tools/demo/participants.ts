/**
 * The demo's participants: its worker threads and its child processes
 * (`fastipc __demo-child JSON`), each running one role and reporting its hrtime span.
 */
import { parentPort } from 'node:worker_threads';
import { NamedEvent, NamedMutex, NamedSemaphore, SharedMemory } from '../../named';
import { AtomicU32, AtomicU64, Event, FutexWord, Mutex } from '../../primitives';
import {
  now,
  PEER_WAIT_MS,
  SAB_COUNTER,
  SAB_GO,
  SAB_MUTEX,
  SEG_ATOMIC,
  SEG_BARRIER,
  SEG_BYTES,
  SEG_COUNTER,
  type ChildSpec,
  type DemoWorkerData,
} from './common';

export function demoWorker(data: DemoWorkerData): void {
  const mutex = new Mutex(data.sab, SAB_MUTEX);
  const go = new Event(data.sab, SAB_GO);
  const counter = new Int32Array(data.sab, SAB_COUNTER, 1);
  parentPort!.postMessage({ ready: true });
  if (!go.wait({ timeout: PEER_WAIT_MS })) throw new Error('the demo never said go');
  const start = now();
  for (let i = 0; i < data.n; i++) {
    mutex.lock();
    counter[0]++; // a plain read-modify-write: exact only because of the lock
    mutex.unlock();
  }
  parentPort!.postMessage({ span: [start, now()] });
}

// ---- in a child process (`fastipc __demo-child JSON`) -----------------------------

/** Waits until `target` participants have arrived at the barrier word. */
function arrive(count: AtomicU32, word: FutexWord, target: number): void {
  if (count.add(1) + 1 >= target) {
    word.wake(Infinity);
    return;
  }
  const deadline = performance.now() + PEER_WAIT_MS;
  for (let seen = count.load(); seen < target; seen = count.load()) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`waited ${PEER_WAIT_MS / 1000} s for the other processes`);
    word.wait(seen, left);
  }
}

function countRole(spec: Extract<ChildSpec, { role: 'count' }>): unknown {
  const shm = SharedMemory.open(spec.shm, { size: SEG_BYTES, create: false });
  const lock = new NamedMutex(spec.lock);
  try {
    const atomic = new AtomicU64(shm.buffer, SEG_ATOMIC);
    const counter = new Int32Array(shm.buffer, SEG_COUNTER, 1);
    const arrived = new AtomicU32(shm.buffer, SEG_BARRIER);
    const barrier = new FutexWord(shm.buffer, SEG_BARRIER);

    arrive(arrived, barrier, spec.parties);
    const a0 = now();
    for (let i = 0; i < spec.atomicOps; i++) atomic.add(1n);
    const a1 = now();

    arrive(arrived, barrier, 2 * spec.parties);
    const m0 = now();
    for (let i = 0; i < spec.mutexOps; i++) {
      lock.lock();
      counter[0]++;
      lock.unlock();
    }
    return { atomic: [a0, a1], mutex: [m0, now()] };
  } finally {
    lock.close();
    shm.close();
  }
}

function pingPongRole(spec: Extract<ChildSpec, { role: 'ping' | 'pong' }>): unknown {
  const ping = new NamedSemaphore(spec.ping);
  const pong = new NamedSemaphore(spec.pong);
  try {
    const total = spec.warmup + spec.rounds;
    const timeout = { timeout: PEER_WAIT_MS };
    if (spec.role === 'pong') {
      for (let i = 0; i < total; i++) {
        if (!ping.wait(timeout)) throw new Error(`no ping ${i + 1} within ${PEER_WAIT_MS / 1000} s`);
        pong.post();
      }
      return { served: total };
    }
    let start = now();
    for (let i = 0; i < total; i++) {
      if (i === spec.warmup) start = now();
      ping.post();
      if (!pong.wait(timeout)) throw new Error(`no pong ${i + 1} within ${PEER_WAIT_MS / 1000} s`);
    }
    const end = now();
    // The ponger took every ping before its last post, and we took every pong.
    return { span: [start, end], roundTrips: total, unused: ping.value + pong.value };
  } finally {
    ping.close();
    pong.close();
  }
}

function waitRole(spec: Extract<ChildSpec, { role: 'wait' }>): unknown {
  const event = new NamedEvent(spec.event);
  try {
    const ok = event.wait({ timeout: PEER_WAIT_MS });
    return { ok, woke: now() };
  } finally {
    event.close();
  }
}

/** The hidden `__demo-child` command: runs one role, prints `{ result }` or `{ error }`. */
export function demoChild(json: string | undefined): number {
  try {
    const spec = JSON.parse(json ?? '') as ChildSpec;
    const result = spec.role === 'count' ? countRole(spec) : spec.role === 'wait' ? waitRole(spec) : pingPongRole(spec);
    process.stdout.write(JSON.stringify({ result }) + '\n');
    return 0;
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: (err as Error).message ?? String(err) }) + '\n');
    return 1;
  }
}
