// Issue 2's figures: the wrappers' cost against the raw Atomics call on the same memory.
//   1. AtomicU32.add(1) vs Atomics.add(u32, 0, 1): SharedArrayBuffer, SharedMemory segment
//   2. FutexWord.load() vs Atomics.load(i32, 0): SharedArrayBuffer, SharedMemory segment
//   3. a wake with nobody asleep: FutexWord.wake() on a segment (futex backend, one
//      FUTEX_WAKE syscall) and on a SharedArrayBuffer (atomics backend) vs Atomics.notify
//      on a SharedArrayBuffer; reported, no target (the syscall is the cost).
// Env: N_ATOMIC (default 10M ops per run), N_WAKE (1M), both times BENCH_SCALE.
//
// Each loop is its own function literal, so the call site inside it sees one receiver
// shape and one function; each returns a sum of the results, which compare() consumes.
import { AtomicU32, FutexWord, SharedMemory } from '../dist/index.mjs';
import { compare, envNumber, scaled } from './lib.mjs';

const N_ATOMIC = scaled(envNumber('N_ATOMIC', 10e6));
const N_WAKE = scaled(envNumber('N_WAKE', 1e6));

function rawAddSab(u32, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + Atomics.add(u32, 0, 1)) | 0;
  return s;
}
function wrapAddSab(c, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + c.add(1)) | 0;
  return s;
}
function rawAddShm(u32, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + Atomics.add(u32, 0, 1)) | 0;
  return s;
}
function wrapAddShm(c, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + c.add(1)) | 0;
  return s;
}
function rawLoadSab(i32, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + Atomics.load(i32, 0)) | 0;
  return s;
}
function wrapLoadSab(w, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + w.load()) | 0;
  return s;
}
function rawLoadShm(i32, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + Atomics.load(i32, 0)) | 0;
  return s;
}
function wrapLoadShm(w, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + w.load()) | 0;
  return s;
}
function rawNotify(i32, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += Atomics.notify(i32, 0, 1);
  return s;
}
function wakeSab(w, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += w.wake();
  return s;
}
function wakeFutex(w, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += w.wake();
  return s;
}

export async function run() {
  const sab = new SharedArrayBuffer(4096);
  const name = `bench-atomics-${process.pid}`;
  const shm = SharedMemory.open(name, { size: 4096 });
  try {
    // the counter at byte 0, the futex word at byte 64 (Int32 index 16): separate cache lines
    const sabU32 = new Uint32Array(sab),
      shmU32 = new Uint32Array(shm.buffer);
    const sabI32 = new Int32Array(sab),
      shmI32 = new Int32Array(shm.buffer);
    const counterSab = new AtomicU32(sab, 0);
    const counterShm = new AtomicU32(shm.buffer, 0);
    const wordSab = new FutexWord(sab, 64);
    const wordShm = new FutexWord(shm.buffer, 64);
    if (wordSab.backend !== 'atomics' || wordShm.backend !== 'futex') {
      throw new Error(`unexpected backends: SAB ${wordSab.backend}, segment ${wordShm.backend}`);
    }

    const opts = { iterations: N_ATOMIC, target: { max: 1.2 } };
    await compare(
      'AtomicU32.add(1) vs Atomics.add, SharedArrayBuffer',
      { 'Atomics.add(u32, 0, 1)': (n) => rawAddSab(sabU32, n), 'AtomicU32.add(1)': (n) => wrapAddSab(counterSab, n) },
      opts,
    );
    await compare(
      'AtomicU32.add(1) vs Atomics.add, SharedMemory segment',
      { 'Atomics.add(u32, 0, 1)': (n) => rawAddShm(shmU32, n), 'AtomicU32.add(1)': (n) => wrapAddShm(counterShm, n) },
      opts,
    );
    await compare(
      'FutexWord.load() vs Atomics.load, SharedArrayBuffer',
      { 'Atomics.load(i32, 16)': (n) => rawLoadSab(sabI32, n), 'FutexWord.load()': (n) => wrapLoadSab(wordSab, n) },
      opts,
    );
    await compare(
      'FutexWord.load() vs Atomics.load, SharedMemory segment',
      { 'Atomics.load(i32, 16)': (n) => rawLoadShm(shmI32, n), 'FutexWord.load()': (n) => wrapLoadShm(wordShm, n) },
      opts,
    );

    await compare(
      'wake with no sleeper vs Atomics.notify',
      {
        'Atomics.notify(i32, 16, 1), SAB': (n) => rawNotify(sabI32, n),
        'FutexWord.wake(), SAB (atomics backend)': (n) => wakeSab(wordSab, n),
        'FutexWord.wake(), segment (futex backend)': (n) => wakeFutex(wordShm, n),
      },
      { iterations: N_WAKE, note: 'reported, no target' },
    );
  } finally {
    // unlink first: a close() that is the segment's last may already unlink it
    try {
      shm.unlink();
    } finally {
      shm.close();
    }
  }
}
