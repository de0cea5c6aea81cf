// The fairness mechanism never leaves a free lock or a token unusable: a reservation for
// sleepers that are gone is voided; a queued wait keeps a long timeout.
import { Mutex, Semaphore } from '../../lib';
import { variants } from '../backends';

describe.each(variants.filter((v) => !v.crossProcess))('handoff: $name', (variant) => {
  test('a Semaphore that a long timed-out wait asked to reserve for gives its token to a newcomer', () => {
    const s = variant.setup();
    try {
      const sem = new Semaphore(s.memory, 0, { backend: s.backend as never });
      expect(sem.wait({ timeout: 30 })).toBe(false); // slept 30 ms: it starved, then left
      sem.post();
      expect(sem.tryWait()).toBe(true); // nobody waits: nothing is reserved
      expect(Array.from(new Int32Array(s.memory, 8, 4))).toEqual([0, 0, 0, 0]); // count, sleepers, handoff, starving
    } finally {
      s.close();
    }
  });

  test('a free Mutex reserved for sleepers that are gone is taken by tryLock() and lock({ timeout: 0 })', () => {
    const s = variant.setup();
    try {
      const m = new Mutex(s.memory, 0, { backend: s.backend as never });
      const state = new Int32Array(s.memory, 8, 1);
      const RESERVED = 0x10000000 | 0x40000000; // HANDOFF | WAITERS, no holder
      state[0] = RESERVED;
      expect(m.tryLock()).toBe(true);
      m.unlock();
      state[0] = RESERVED;
      expect(m.lock({ timeout: 0 })).toBe(true);
      m.unlock();
      expect(state[0]).toBe(0);
    } finally {
      s.close();
    }
  });

  test('a queued lockAsync with a timeout past 2^31 ms does not time out at once', async () => {
    const s = variant.setup();
    try {
      const m = new Mutex(s.memory, 0, { backend: s.backend as never });
      m.lock();
      const first = m.lockAsync({ timeout: 3e9 }); // the head of this thread's queue
      let settled: boolean | undefined;
      const second = m.lockAsync({ timeout: 3e9 }).then((r) => (settled = r)); // queued behind it
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBeUndefined();
      m.unlock();
      expect(await first).toBe(true);
      m.unlock();
      await second;
      expect(settled).toBe(true);
      m.unlock();
    } finally {
      s.close();
    }
  });
});
