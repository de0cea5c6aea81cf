// Condition, model-checked with fast-check: random bounded queues (capacity, producers,
// consumers, items, sync or async waits, notifyOne or notifyAll) run as async tasks of
// this thread over one SharedArrayBuffer, against the model of a FIFO queue: every item
// is received exactly once, each producer's items in order, and nobody waits for ever
// (each wait has a deadline, and a wait that times out fails the property). A lost notify
// or a wait that does not give the mutex back shows as a timeout or a hang.
import fc from 'fast-check';
import { Condition, Mutex } from '../../lib';

interface Plan {
  capacity: number;
  items: number[]; // items per producer
  consumers: number;
  notifyAll: boolean;
  yields: number[]; // how many event-loop turns a party yields between operations
}

async function runQueue(p: Plan): Promise<{ got: number[][]; timeouts: number }> {
  const sab = new SharedArrayBuffer(256);
  const m = new Mutex(sab, 0);
  const notEmpty = new Condition(sab, 64);
  const notFull = new Condition(sab, 128);
  const queue: number[] = []; // guarded by m (one thread: the model's own array)
  let done = 0;
  let timeouts = 0;
  const pause = async (k: number) => {
    for (let i = 0; i < p.yields[k % p.yields.length]; i++) await new Promise((r) => setImmediate(r));
  };
  const wake = (c: Condition) => (p.notifyAll ? c.notifyAll() : c.notifyOne());
  const producers = p.items.map(async (n, id) => {
    for (let i = 0; i < n; i++) {
      await m.lockAsync();
      if (!(await notFull.waitForAsync(m, () => queue.length < p.capacity, { timeout: 5000 }))) timeouts++;
      queue.push(id * 1000 + i);
      wake(notEmpty);
      m.unlock();
      await pause(id + i);
    }
    await m.withLockAsync(() => {
      done++;
      notEmpty.notifyAll();
    });
  });
  const got: number[][] = [];
  const consumers = Array.from({ length: p.consumers }, async (_, k) => {
    const mine: number[] = [];
    got.push(mine);
    for (;;) {
      await m.lockAsync();
      if (!(await notEmpty.waitForAsync(m, () => queue.length > 0 || done === p.items.length, { timeout: 5000 }))) {
        timeouts++;
      }
      if (queue.length === 0 && done === p.items.length) {
        m.unlock();
        return;
      }
      mine.push(queue.shift()!);
      wake(notFull);
      m.unlock();
      await pause(k);
    }
  });
  await Promise.all([...producers, ...consumers]);
  if (m.isLocked) throw new Error('the mutex was left locked');
  return { got, timeouts };
}

test('a bounded queue on Condition + Mutex delivers as a FIFO queue would, whatever the interleaving', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        capacity: fc.integer({ min: 1, max: 4 }),
        items: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 3 }),
        consumers: fc.integer({ min: 1, max: 3 }),
        notifyAll: fc.boolean(),
        yields: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
      }),
      async (plan) => {
        const { got, timeouts } = await runQueue(plan);
        expect(timeouts).toBe(0);
        const all = got.flat().sort((a, b) => a - b);
        const want = plan.items.flatMap((n, id) => Array.from({ length: n }, (_, i) => id * 1000 + i));
        expect(all).toEqual(want); // every item exactly once
        for (const mine of got) {
          for (let id = 0; id < plan.items.length; id++) {
            const fromId = mine.filter((x) => Math.floor(x / 1000) === id);
            expect(fromId).toEqual([...fromId].sort((a, b) => a - b)); // in order per producer
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});
