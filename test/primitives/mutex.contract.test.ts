// Mutex: its contract, run against every backend and memory (test/backends.ts).
// Hammering across workers and processes, misuse, timeouts.
import { AtomicU32, Event, FutexWord, Mutex, Semaphore } from '../../lib';
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

  describe('Mutex', () => {
    test.each([
      ['lock', 100_000],
      ['using', 25_000],
      ['withLock', 25_000],
      ['tryLock', 25_000],
    ])('4 workers x %s/increment/unlock (%d each): exact total', async (mode, n) => {
      const runs = Array.from({ length: 4 }, () =>
        inWorker({ task: 'mutexHammer', memory: s.spec, backend: s.backend, n, mode }),
      );
      expect(await Promise.all(runs)).toEqual([n, n, n, n]);
      expect(new Int32Array(s.memory, 64, 1)[0]).toBe(4 * n);
      expect(new Mutex(s.memory, 0, opts()).isLocked).toBe(false);
    });

    if (variant.crossProcess) {
      test.each(['lock', 'using', 'withLock'])(
        '4 processes x 25,000 %s/increment/unlock: exact total',
        async (mode) => {
          const n = 25_000;
          const runs = Array.from({ length: 4 }, () =>
            inProcess({ task: 'mutexHammer', memory: s.spec, backend: s.backend, n, mode }),
          );
          expect(await Promise.all(runs)).toEqual([n, n, n, n]);
          expect(new Int32Array(s.memory, 64, 1)[0]).toBe(4 * n);
        },
      );
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
      expect(() => m.unlock()).toThrow(
        expect.objectContaining({ code: 'ERR_FASTIPC_NOT_OWNER', message: expect.stringMatching(/not locked/) }),
      );
      m.lock();
      expect(() => m.lock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
      expect(() => m.lock({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
      expect(() => m.tryLock()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_RECURSIVE' }));
      expect(await inWorker({ task: 'foreignUnlock', memory: s.spec, backend: s.backend })).toBe(
        'ERR_FASTIPC_NOT_OWNER',
      );
      expect(m.ownerPid).toBe(process.pid); // the failed attempts changed nothing
      m.unlock();
    });

    test('a held lock: tryLock fails, a timed lock returns false not early, release lets us in', async () => {
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

    test('a free lock with WAITERS set (as a sleeping loop leaves it) is taken by every lock call', async () => {
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
      expect(() =>
        m.withLock(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
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
      expect(() => new Semaphore(s.memory, 0, opts())).toThrow(
        new TypeError('memory at byteOffset 0 holds a Mutex, not a Semaphore'),
      );
      expect(() => new Event(s.memory, 0, opts())).toThrow('memory at byteOffset 0 holds a Mutex, not an Event');
    });

    test('a newer layout version is a TypeError that says so', () => {
      new Mutex(s.memory, 0, opts());
      new Int32Array(s.memory, 0, 2)[1] = 3; // (the Mutex's layout is version 2: HANDOFF)
      expect(() => new Mutex(s.memory, 0, opts())).toThrow(/layout version 3, newer than this fastipc's 2/);
    });
  });
});
