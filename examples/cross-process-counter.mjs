// A counter in a named shared-memory segment, incremented by four processes under a
// NamedMutex: no increment is lost.
//
//   node examples/cross-process-counter.mjs
import { fork } from 'node:child_process';
import { NamedMutex, SharedMemory } from 'fastipc';

const PROCESSES = 4;
const ROUNDS = 10000;
const name = process.argv[2] === 'child' ? process.argv[3] : `example-counter-${process.pid}`;

// every process opens the same segment and mutex by name (the first one creates them)
const shm = SharedMemory.open(name, { size: 4096 });
const lock = new NamedMutex(name);
const counter = new Uint32Array(shm.buffer, 0, 1);

if (process.argv[2] === 'child') {
  for (let i = 0; i < ROUNDS; i++) {
    lock.lock();
    counter[0] = counter[0] + 1; // a read-modify-write that would lose updates without the lock
    lock.unlock();
  }
} else {
  const exited = Array.from({ length: PROCESSES }, () => {
    const child = fork(new URL(import.meta.url), ['child', name]);
    return new Promise((resolve) => child.once('exit', resolve));
  });
  await Promise.all(exited);
  console.log(`counter = ${counter[0]} (expected ${PROCESSES * ROUNDS})`);
  if (counter[0] !== PROCESSES * ROUNDS) process.exitCode = 1;
}
// the last process to close a name removes its segment
lock.close();
shm.close();
