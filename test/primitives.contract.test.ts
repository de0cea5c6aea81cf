// Mutex, Semaphore and Event: one contract suite, run against every backend and memory
// (test/backends.ts). Hammering across workers and processes, misuse, timeouts.
import { AtomicU32, Event, FutexWord, Mutex, Semaphore } from '../lib';
import { type Setup, variants } from './backends';
import { inProcess, inWorker, killAll, removeSegments, until } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

describe.each(variants)('primitives contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });

  describe('Mutex', () => {
    test.each([
      ['lock', 100_000],
      ['using', 25_000],
      ['withLock', 25_000],
      ['tryLock', 25_000],
    ])('4 workers x %s/increment/unlock (%d each): exact total', async (mode, n) => {
      const runs = Array.from({ length: 4 }, () => inWorker({ task: 'mutexHammer', memory: s.spec, backend: s.backend, n, mode }));
      expect(await Promise.all(runs)).toEqual([n, n, n, n]);
      expect(new Int32Array(s.memory, 64, 1)[0]).toBe(4 * n);
      expect(new Mutex(s.memory, 0, opts()).isLocked).toBe(false);
    });

    if (variant.crossProcess) {
      test.each(['lock', 'using', 'withLock'])('4 processes x 25,000 %s/increment/unlock: exact total', async (mode) => {
        const n = 25_000;
        const runs = Array.from({ length: 4 }, () => inProcess({ task: 'mutexHammer', memory: s.spec, backend: s.backend, n, mode }));
        expect(await Promise.all(runs)).toEqual([n, n, n, n]);
        expect(new Int32Array(s.memory, 64, 1)[0]).toBe(4 * n);
      });
    }

    test('lock, tryLock, ownership and unlock', () => {
      const m = new Mutex(s.memory, 0, opts());
      expect(m.initialized).toBe(true);
      expect([m.isLocked, m.ownerPid, m.ownerTid]).toEqual([false, 0, 0]);
      expect(m.lock()).toBe(true);
      expect(m.isLocked).toBe(true);
      expect(m.ownerPid).toBe(process.pid);
      expect(m.ownerTid).toBeGreaterThan(0);
      expect(m.recovered).toBe(false);
      m.unlock();
      expect(m.tryLock()).toBe(true);
      m.unlock();
      expect([m.isLocked, m.ownerPid]).toEqual([false, 0]);
    });

    test('misuse is an Error: unlock when unlocked, recursion, unlock from another worker', async () => {
      const m = new Mutex(s.memory, 0, opts());
      expect(() => m.unlock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_NOT_OWNER', message: expect.stringMatching(/not locked/) }));
      m.lock();
      expect(() => m.lock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
      expect(() => m.lock({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
      expect(() => m.tryLock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
      expect(await inWorker({ task: 'foreignUnlock', memory: s.spec, backend: s.backend })).toBe('ERR_FASTIPC_NOT_OWNER');
      expect(m.ownerPid).toBe(process.pid); // the failed attempts changed nothing
      m.unlock();
    });

    test('a held lock: tryLock fails, a timed lock returns false no earlier than asked, release lets us in', async () => {
      const m = new Mutex(s.memory, 0, opts());
      const held = new AtomicU32(s.memory, 68);
      const go = new FutexWord(s.memory, 64, opts());
      const holder = inWorker({ task: 'holdMutex', memory: s.spec, backend: s.backend });
      const release = () => {
        go.store(1);
        go.wake(Infinity);
      };
      try {
        await until(() => held.load() === 1, 10000, 'the holder');
        expect(m.tryLock()).toBe(false);
        expect(m.lock({ timeout: 0 })).toBe(false);
        expect(await m.lockAsync({ timeout: 0 })).toBe(false);
        expect(new Int32Array(s.memory, 8, 1)[0] & (1 << 30)).toBe(0); // none of them set WAITERS
        const start = performance.now();
        expect(m.lock({ timeout: 30 })).toBe(false);
        expect(performance.now() - start).toBeGreaterThanOrEqual(30);
        expect(() => m.acquire({ timeout: 1 })).toThrow(expect.objectContaining({ code: 'ETIMEDOUT' }));
        expect(() => m.withLock(() => 1, { timeout: 1 })).toThrow(expect.objectContaining({ code: 'ETIMEDOUT' }));
        expect(m.ownerPid).toBe(process.pid); // a worker of this process
      } catch (err) {
        release(); // a failed check must not leave the holder waiting, or its rejection loose
        await holder.catch(() => {});
        throw err;
      }
      release();
      expect(m.lock({ timeout: 10000 })).toBe(true);
      expect(await holder).toBe('released');
      m.unlock();
    });

    test('a free lock with WAITERS set (as a sleeping loop may leave it) is taken by every kind of lock, keeping WAITERS', async () => {
      const m = new Mutex(s.memory, 0, opts());
      const state = new Int32Array(s.memory, 8, 1); // the state word
      const WAITERS = 1 << 30;
      const takes: Array<[string, () => boolean | Promise<boolean>]> = [
        ['lock()', () => m.lock()],
        ['tryLock()', () => m.tryLock()],
        ['lock({ timeout: 0 })', () => m.lock({ timeout: 0 })],
        ['lock({ timeout: 50 })', () => m.lock({ timeout: 50 })],
        ['lockAsync()', () => m.lockAsync()],
      ];
      for (const [name, take] of takes) {
        state[0] = WAITERS;
        expect([name, m.isLocked, m.ownerTid, m.ownerPid]).toEqual([name, false, 0, 0]);
        expect([name, await take()]).toEqual([name, true]);
        expect([name, state[0]]).toEqual([name, (WAITERS | m.ownerTid) >>> 0]);
        expect(m.ownerPid).toBe(process.pid);
        m.unlock();
        expect([name, state[0]]).toEqual([name, 0]);
      }
    });

    test('withLock returns the value and unlocks when fn throws; acquire disposes once', () => {
      const m = new Mutex(s.memory, 0, opts());
      expect(m.withLock(() => 42)).toBe(42);
      expect(() => m.withLock(() => { throw new Error('boom'); })).toThrow('boom');
      expect(m.isLocked).toBe(false);
      const held = m.acquire();
      expect(m.isLocked).toBe(true);
      held[Symbol.dispose]();
      held[Symbol.dispose]();
      expect(m.isLocked).toBe(false);
    });

    test('forceUnlock releases a lock held by another thread', async () => {
      const m = new Mutex(s.memory, 0, opts());
      const held = new AtomicU32(s.memory, 68);
      const holder = inWorker({ task: 'holdMutex', memory: s.spec, backend: s.backend });
      await until(() => held.load() === 1, 10000, 'the holder');
      m.forceUnlock();
      expect(m.tryLock()).toBe(true);
      m.unlock();
      const go = new FutexWord(s.memory, 64, opts());
      go.store(1);
      go.wake(Infinity);
      // The holder's own unlock now fails: it no longer holds the lock.
      await expect(holder).rejects.toMatchObject({ code: 'ERR_FASTIPC_NOT_OWNER' });
    });

    test('attaching: a second handle shares the state; the wrong primitive is a TypeError naming both', () => {
      const a = new Mutex(s.memory, 0, opts());
      const b = new Mutex(s.memory, 0, opts());
      expect([a.initialized, b.initialized]).toEqual([true, false]);
      a.lock();
      expect(b.isLocked).toBe(true);
      a.unlock();
      expect(() => new Semaphore(s.memory, 0, opts())).toThrow(new TypeError('memory at byteOffset 0 holds a Mutex, not a Semaphore'));
      expect(() => new Event(s.memory, 0, opts())).toThrow('memory at byteOffset 0 holds a Mutex, not an Event');
    });

    test('a newer layout version is a TypeError that says so', () => {
      new Mutex(s.memory, 0, opts());
      new Int32Array(s.memory, 0, 2)[1] = 2;
      expect(() => new Mutex(s.memory, 0, opts())).toThrow(/layout version 2, newer than this fastipc's 1/);
    });
  });

  describe('Semaphore', () => {
    test('initial applies only to the initialiser; post, wait, tryWait and value', () => {
      const a = new Semaphore(s.memory, 0, { ...opts(), initial: 3 });
      const b = new Semaphore(s.memory, 0, { ...opts(), initial: 100 });
      expect([a.value, b.value]).toEqual([3, 3]);
      expect(b.wait()).toBe(true);
      expect(a.tryWait()).toBe(true);
      expect(a.wait({ timeout: 0 })).toBe(true);
      expect(a.tryWait()).toBe(false);
      expect(a.wait({ timeout: 0 })).toBe(false);
      a.post(5);
      expect(b.value).toBe(5);
    });

    test('post past 2^31-1 is a RangeError and changes nothing; bad n is rejected', () => {
      const sem = new Semaphore(s.memory, 0, { ...opts(), initial: Semaphore.MAX - 1 });
      expect(() => sem.post(2)).toThrow(RangeError);
      expect(sem.value).toBe(Semaphore.MAX - 1);
      sem.post(1);
      expect(() => sem.post()).toThrow(/would pass the maximum/);
      expect(sem.value).toBe(Semaphore.MAX);
      for (const bad of [0, -1, 1.5, NaN, 2 ** 31]) expect(() => sem.post(bad)).toThrow(RangeError);
      expect(() => sem.post('1' as never)).toThrow(TypeError);
      expect(sem.value).toBe(Semaphore.MAX);
    });

    test('a timed wait on an empty semaphore returns false no earlier than asked, and leaves no sleeper', () => {
      const sem = new Semaphore(s.memory, 0, opts());
      const start = performance.now();
      expect(sem.wait({ timeout: 25 })).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(25);
      expect(new Int32Array(s.memory, 12, 1)[0]).toBe(0); // sleepers restored
    });

    test('conservation: 4 posters and 4 takers; posted = taken + value, no taker starves', async () => {
      const sem = new Semaphore(s.memory, 0, opts());
      const per = 20_000;
      const take = 19_000; // 4,000 tokens stay
      const run = variant.crossProcess ? inProcess : inWorker;
      const takers = Array.from({ length: 4 }, () => run<{ taken: number; timedOut: number }>({ task: 'semTake', memory: s.spec, backend: s.backend, n: take }));
      const posters = Array.from({ length: 4 }, () => run({ task: 'semPost', memory: s.spec, backend: s.backend, n: per }));
      expect(await Promise.all(posters)).toEqual([per, per, per, per]);
      const taken = await Promise.all(takers);
      expect(taken).toEqual(Array(4).fill({ taken: take, timedOut: 0 }));
      expect(new AtomicU32(s.memory, 64).load()).toBe(4 * per);
      expect(sem.value).toBe(4 * per - 4 * take);
      expect(new Int32Array(s.memory, 12, 1)[0]).toBe(0);
    });

  });

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
      const done = inWorker<{ ok: boolean; elapsed: number }>({ task: 'eventWait', memory: s.spec, backend: s.backend, timeout: 400 });
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
      const waits = Array.from({ length: 4 }, () => run<{ ok: boolean }>({ task: 'eventWait', memory: s.spec, backend: s.backend }));
      const arrived = new AtomicU32(s.memory, 64);
      await until(() => arrived.load() === 4, 15000, 'all waiters');
      e.set();
      const results = await Promise.all(waits);
      expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    });

    test('a set() then clear() pulse still releases the waiters that slept through it', async () => {
      const e = new Event(s.memory, 0, opts());
      const waits = Array.from({ length: 2 }, () => inWorker<{ ok: boolean }>({ task: 'eventWait', memory: s.spec, backend: s.backend }));
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
