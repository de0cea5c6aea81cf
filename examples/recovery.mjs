// Recovery after a crashed holder: a process takes a NamedMutex, starts updating a record
// in shared memory and dies (SIGKILL) half-way. The next locker is not wedged: it takes
// the lock over within about 200 ms and is told so (`recovered`), repairs the record, and
// goes on.
//
//   node examples/recovery.mjs
import { fork } from 'node:child_process';
import { NamedMutex, SharedMemory } from 'fastipc';

const name = process.argv[2] === 'crash' ? process.argv[3] : `example-recovery-${process.pid}`;
const shm = SharedMemory.open(name, { size: 4096 });
const lock = new NamedMutex(name);
// the record: two halves that must always be equal
const record = new Int32Array(shm.buffer, 0, 2);

if (process.argv[2] === 'crash') {
  lock.lock();
  record[0] += 1; // first half updated...
  process.kill(process.pid, 'SIGKILL'); // ...and the holder dies before the second half
} else {
  const child = fork(new URL(import.meta.url), ['crash', name]);
  const [, signal] = await new Promise((resolve) => child.once('exit', (...a) => resolve(a)));
  console.log(`the holder died (${signal}) holding the lock, record = [${record[0]}, ${record[1]}]`);

  const t0 = performance.now();
  if (!lock.lock({ timeout: 5000 })) throw new Error('the lock was not taken over');
  const ms = Math.round(performance.now() - t0);
  if (lock.recovered) {
    console.log(`took the lock over in ${ms} ms: recovered = true, repairing the record`);
    record[1] = record[0]; // the repair: the second half catches up
  }
  lock.unlock();
  console.log(`record = [${record[0]}, ${record[1]}]`);
  if (record[0] !== 1 || record[1] !== 1) process.exitCode = 1;
}
lock.close();
shm.close();
