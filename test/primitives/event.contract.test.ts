// Event: its contract, run against every backend and memory (test/backends.ts).
// Hammering across workers and processes, misuse, timeouts.
import { AtomicU32, Event, FutexWord } from '../../lib';
import { type Setup, variants } from '../backends';
import { inProcess, inWorker, killAll, removeSegments, until } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

describe.each(variants)('primitives contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });

  describe('Event', () => {
    test('set, clear and isSet through two handles; wait on a set event returns at once', () => {
      const a = new Event(s.memory, 0, opts());
      const b = new Event(s.memory, 0, opts());
      expect(b.isSet).toBe(false);
      expect(b.wait({ timeout: 0 })).toBe(false);
      a.set();
      expect(b.isSet).toBe(true);
      expect(b.wait()).toBe(true);
      expect(b.wait({ timeout: 0 })).toBe(true);
      a.set(); // idempotent
      b.clear();
      expect(a.isSet).toBe(false);
      const start = performance.now();
      expect(a.wait({ timeout: 20 })).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(20);
    });

    test('a wake that is not a set() does not end a wait: the waiter re-checks and times out', async () => {
      const ev = new Event(s.memory, 0, opts());
      const done = inWorker<{ ok: boolean; elapsed: number }>({
        task: 'eventWait',
        memory: s.spec,
        backend: s.backend,
        timeout: 400,
      });
      await until(() => Atomics.load(new Int32Array(s.memory, 12, 1), 0) === 1, 10000, 'the waiter to sleep');
      const state = new FutexWord(s.memory, 8, opts()); // the event's state word, unchanged
      const spurious = setInterval(() => state.wake(Infinity), 20);
      try {
        const r = await done;
        expect(r.ok).toBe(false);
        expect(r.elapsed).toBeGreaterThanOrEqual(400);
      } finally {
        clearInterval(spurious);
      }
      expect(ev.isSet).toBe(false);
    });

    test('one set() wakes 4 waiters in other threads or processes', async () => {
      const e = new Event(s.memory, 0, opts());
      const run = variant.crossProcess ? inProcess : inWorker;
      const waits = Array.from({ length: 4 }, () =>
        run<{ ok: boolean }>({ task: 'eventWait', memory: s.spec, backend: s.backend }),
      );
      const arrived = new AtomicU32(s.memory, 64);
      await until(() => arrived.load() === 4, 15000, 'all waiters');
      e.set();
      const results = await Promise.all(waits);
      expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    });

    test('a set() then clear() pulse still releases the waiters that slept through it', async () => {
      const e = new Event(s.memory, 0, opts());
      const waits = Array.from({ length: 2 }, () =>
        inWorker<{ ok: boolean }>({ task: 'eventWait', memory: s.spec, backend: s.backend }),
      );
      // sleepers (+12) counts waiters that have read the state and are going to sleep
      const sleepers = new Int32Array(s.memory, 12, 1);
      await until(() => Atomics.load(sleepers, 0) === 2, 15000, 'both waiters to sleep');
      e.set();
      e.clear();
      expect((await Promise.all(waits)).map((r) => r.ok)).toEqual([true, true]);
      expect(e.isSet).toBe(false);
    });
  });
});
