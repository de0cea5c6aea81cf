// A pool of worker threads on one SharedArrayBuffer: the main thread puts jobs in a
// Channel, four workers take them, add their results into an AtomicU64 and count down a
// Latch that the main thread awaits without blocking its event loop.
//
//   node examples/worker-pool.mjs
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { AtomicU64, Channel, Latch, codecs } from 'fastipc';

const JOBS = 1000;
const WORKERS = 4;
const shape = { capacity: 64, maxMessageBytes: 64, codec: codecs.json };
// where each primitive lives in the buffer (each starts on a 64-byte line of its own)
const SUM_AT = 0;
const LATCH_AT = 64;
const QUEUE_AT = 128;

if (isMainThread) {
  const sab = new SharedArrayBuffer(QUEUE_AT + Channel.bytesFor(shape));
  const sum = new AtomicU64(sab, SUM_AT);
  const done = new Latch(sab, LATCH_AT, { count: JOBS });
  const queue = new Channel(sab, QUEUE_AT, shape);
  // (each exit is listened for from the start: a worker may be gone before we look)
  const exited = Array.from({ length: WORKERS }, () => {
    const worker = new Worker(new URL(import.meta.url), { workerData: sab });
    return new Promise((resolve) => worker.once('exit', resolve));
  });

  for (let n = 1; n <= JOBS; n++) await queue.sendAsync({ n }); // waits while the queue is full
  queue.end(); // no more jobs: the workers' loops end once it is drained
  await done.waitAsync(); // every job counted down
  await Promise.all(exited);

  const expected = (JOBS * (JOBS + 1) * (2 * JOBS + 1)) / 6; // the sum of n² for n = 1..JOBS
  console.log(`sum of squares 1..${JOBS} = ${sum.load()} (expected ${expected})`);
  if (sum.load() !== BigInt(expected)) process.exit(1);
} else {
  const sab = workerData;
  const sum = new AtomicU64(sab, SUM_AT);
  const done = new Latch(sab, LATCH_AT, { count: JOBS });
  const queue = new Channel(sab, QUEUE_AT, shape);
  for await (const job of queue) {
    sum.add(BigInt(job.n * job.n));
    done.countDown();
  }
}
