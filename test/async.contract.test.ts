// Async waits (waitAsync, lockAsync, acquireAsync, withLockAsync): one contract suite
// over every backend and memory.
import { AtomicU32, Event, FutexWord, Mutex, Semaphore } from '../lib';
import { type Setup, variants } from './backends';
import { inProcess, inWorker, killAll, removeSegments, until } from './helpers';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { TASK } from './helpers';
import { native } from '../lib/core/native';

afterAll(async () => {
  await killAll();
  removeSegments();
});

/** Whether thread `tid` of this process is blocked in the futex syscall now (/proc/.../syscall). */
function inFutexWait(tid: number): boolean {
  const FUTEX = process.arch === 'arm64' ? 98 : 202;
  try {
    return fs.readFileSync(`/proc/${process.pid}/task/${tid}/syscall`, 'utf8').startsWith(`${FUTEX} `);
  } catch {
    return false;
  }
}

const aborted = (reason?: unknown) => {
  const ac = new AbortController();
  ac.abort(reason);
  return ac.signal;
};

// test/no-waitv.quiet.test.ts runs this file again with futex_waitv refused (a seccomp filter,
// as on Linux < 5.16) and FASTIPC_EXPECT_ASYNC_MODE=futex_wait.
test('async waits on the futex backend sleep as this kernel allows', () => {
  expect(native()!.waitAsyncMode()).toBe(process.env.FASTIPC_EXPECT_ASYNC_MODE ?? 'futex_waitv');
});

describe.each(variants)('async contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });
  const sleepers = () => Atomics.load(new Int32Array(s.memory, 12, 1), 0);

  test("FutexWord.waitAsync: 'not-equal' at once, 'timed-out' no earlier than asked, 'ok' on wake", async () => {
    const w = new FutexWord(s.memory, 0, opts());
    expect(await w.waitAsync(1)).toBe('not-equal');
    const t0 = performance.now();
    expect(await w.waitAsync(0, { timeout: 25 })).toBe('timed-out');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    const p = w.waitAsync(0);
    let woken = 0;
    await until(() => (woken += w.wake()) > 0, 5000, 'the async waiter to be woken');
    expect(await p).toBe('ok');
  });

  test('10,000 waitAsync on one word: all resolve on one wake(Infinity), memory stays bounded', async () => {
    const w = new FutexWord(s.memory, 0, opts());
    const before = process.memoryUsage().rss;
    const all = Array.from({ length: 10_000 }, () => w.waitAsync(0, { timeout: 30000 }));
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 2 ** 20);
    w.store(1);
    w.wake(Infinity);
    const results = await Promise.all(all);
    expect(results.every((r) => r === 'ok' || r === 'not-equal')).toBe(true);
  });

  test(
    'waits on 300 different words (more than one waiter thread serves): ' +
      'each resolves on its own wake, timeouts on time',
    async () => {
      const words = Array.from({ length: 300 }, (_, i) => new FutexWord(s.memory, i * 4, opts()));
      const waits = words.map((w) => w.waitAsync(0, { timeout: 30000 }));
      const timed = new FutexWord(s.memory, 1200, opts());
      const t0 = performance.now();
      const short = timed.waitAsync(0, { timeout: 40 });
      for (let i = 299; i >= 0; i -= 2) {
        words[i].store(1);
        words[i].wake();
      }
      expect(await short).toBe('timed-out');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
      const odd = await Promise.all(waits.filter((_, i) => i % 2 === 1));
      expect(odd.every((r) => r === 'ok')).toBe(true);
      for (let i = 0; i < 300; i += 2) {
        words[i].store(1);
        words[i].wake();
      }
      expect((await Promise.all(waits)).every((r) => r === 'ok')).toBe(true);
    },
  );

  test('Semaphore.waitAsync: 1000 pending, post(1000) from a worker resolves all', async () => {
    const sem = new Semaphore(s.memory, 0, opts());
    const all = Array.from({ length: 1000 }, () => sem.waitAsync({ timeout: 30000 }));
    expect(
      await inWorker({ task: 'semPostWhenWaiting', memory: s.spec, backend: s.backend, n: 1000, waiting: 1000 }),
    ).toBe('posted');
    expect((await Promise.all(all)).every(Boolean)).toBe(true);
    expect([sem.value, sleepers()]).toEqual([0, 0]);
  });

  if (variant.crossProcess) {
    test('Semaphore.waitAsync: 1000 pending, post(1000) from another process resolves all', async () => {
      const sem = new Semaphore(s.memory, 0, opts());
      const all = Array.from({ length: 1000 }, () => sem.waitAsync({ timeout: 30000 }));
      expect(
        await inProcess({ task: 'semPostWhenWaiting', memory: s.spec, backend: s.backend, n: 1000, waiting: 1000 }),
      ).toBe('posted');
      expect((await Promise.all(all)).every(Boolean)).toBe(true);
      expect([sem.value, sleepers()]).toEqual([0, 0]);
    });
  }

  test('timeouts resolve false no earlier than asked and restore the sleepers count', async () => {
    const sem = new Semaphore(s.memory, 0, opts());
    const ev = new Event(s.memory, 64, opts());
    const m = new Mutex(s.memory, 128, opts());
    m.lock();
    const t0 = performance.now();
    const results = await Promise.all([
      sem.waitAsync({ timeout: 30 }),
      ev.waitAsync({ timeout: 30 }),
      m.lockAsync({ timeout: 30 }),
    ]);
    expect(results).toEqual([false, false, false]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30);
    expect([sleepers(), Atomics.load(new Int32Array(s.memory, 64 + 12, 1), 0)]).toEqual([0, 0]);
    expect(await sem.waitAsync({ timeout: 0 })).toBe(false);
    m.unlock();
  });

  test('an AbortSignal rejects with its reason and restores state; an aborted one rejects at once', async () => {
    const sem = new Semaphore(s.memory, 0, opts());
    const w = new FutexWord(s.memory, 64, opts());
    const m = new Mutex(s.memory, 128, opts());
    await expect(sem.waitAsync({ signal: aborted('stop') })).rejects.toBe('stop');
    await expect(w.waitAsync(0, { signal: aborted() })).rejects.toMatchObject({ name: 'AbortError' });
    const ac = new AbortController();
    const p = sem.waitAsync({ signal: ac.signal });
    await until(() => sleepers() === 1, 5000, 'the waiter to register');
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(sleepers()).toBe(0);
    sem.post(1); // the aborted wait did not take it
    expect(sem.value).toBe(1);
    m.lock();
    const ac2 = new AbortController();
    const lp = m.lockAsync({ signal: ac2.signal });
    ac2.abort(new Error('give up'));
    await expect(lp).rejects.toThrow('give up');
    m.unlock();
    expect(m.isLocked).toBe(false);
  });

  // At the backend itself, below the primitives' own pass-ons (which would mask a wake
  // swallowed here): an async wait that the wake reached first, aborted at once, must hand
  // the wake to the sync sleeper behind it. The word never changes, so nothing else (no
  // slice's re-check) can end the sleeper's wait. Aborting in the same tick as the wake
  // lands either before the waiter thread completes the wait (the shim drops its slot and
  // passes the wake on) or after (the JS side passes it on): rounds see both.
  test('a wake taken by an async wait that is then aborted goes on to the next sleeper', async () => {
    const w = new FutexWord(s.memory, 0, opts());
    const arrived = new AtomicU32(s.memory, 64);
    for (let round = 0; round < 12; round++) {
      arrived.store(0);
      const ac = new AbortController();
      const first = w.waitAsync(0, { signal: ac.signal }).catch(() => 'aborted'); // queued first
      await new Promise((r) => setTimeout(r, 5));
      const sleeper = inWorker<{ result: string; elapsed: number }>({
        task: 'wait',
        memory: s.spec,
        backend: s.backend,
        expected: 0,
        timeout: 4000,
        arrivedOffset: 64,
        tidOffset: 68,
      });
      await until(() => arrived.load() === 1, 10000, 'the sleeper to arrive');
      // A wake sent before it sleeps would reach nobody, rightly: wait until the thread is in
      // the futex syscall (Atomics.wait too sleeps in one), as /proc shows it.
      const tid = new AtomicU32(s.memory, 68).load();
      await until(() => inFutexWait(tid), 10000, 'the sleeper to sleep');
      w.wake(1); // the first in line: the async wait
      ac.abort();
      expect(await first).toBe('aborted');
      const r = await sleeper;
      // 'timed-out' after 4 s: the wake was swallowed
      expect({ round, result: r.result }).toEqual({ round, result: 'ok' });
    }
  }, 120_000);

  test('an abort never swallows a wake: post(1) right after aborting one of two waiters', async () => {
    for (let round = 0; round < 50; round++) {
      const sem = new Semaphore(s.memory, 0, opts());
      const ac = new AbortController();
      const first = sem.waitAsync({ signal: ac.signal }).catch(() => 'aborted');
      const second = sem.waitAsync({ timeout: 5000 });
      await until(() => sleepers() === 2, 5000, 'two sleepers');
      sem.post(1);
      ac.abort();
      const results = await Promise.all([first, second]);
      // Whoever got the token, nobody sleeps on while it sits there.
      expect(results.filter((r) => r === true)).toHaveLength(1);
      expect(sem.value).toBe(0);
      new Int32Array(s.memory, 0, 16).fill(0);
    }
  });

  test('Event.waitAsync: true at once when set; set() resolves pending waits', async () => {
    const ev = new Event(s.memory, 0, opts());
    const pending = Array.from({ length: 50 }, () => ev.waitAsync({ timeout: 30000 }));
    await until(() => sleepers() === 50, 5000, 'the waiters');
    ev.set();
    expect((await Promise.all(pending)).every(Boolean)).toBe(true);
    expect(await ev.waitAsync()).toBe(true);
  });

  test(
    `lockAsync resolves when ${variant.crossProcess ? 'another process' : 'a worker'} releases; ` +
      'tasks of one thread queue up',
    async () => {
      const m = new Mutex(s.memory, 0, opts());
      const held = new AtomicU32(s.memory, 68);
      const go = new FutexWord(s.memory, 64, opts());
      const holder = (variant.crossProcess ? inProcess : inWorker)({
        task: 'holdMutex',
        memory: s.spec,
        backend: s.backend,
      });
      await until(() => held.load() === 1, 10000, 'the holder');
      const got = m.lockAsync();
      go.store(1);
      go.wake(Infinity);
      expect(await got).toBe(true);
      expect(m.ownerPid).toBe(process.pid); // this thread resolved it, this thread owns it
      const second = m.lockAsync(); // another task of this thread waits for the first
      let secondDone = false;
      void second.then(() => (secondDone = true));
      await new Promise((r) => setImmediate(r));
      expect(secondDone).toBe(false);
      m.unlock();
      expect(await second).toBe(true);
      m.unlock();
      await holder;
      {
        using _held = await m.acquireAsync();
        expect(m.isLocked).toBe(true);
      }
      expect(m.isLocked).toBe(false);
      expect(await m.withLockAsync(async () => 7)).toBe(7);
      await expect(
        m.withLockAsync(async () => {
          throw new Error('x');
        }),
      ).rejects.toThrow('x');
      expect(m.isLocked).toBe(false);
    },
  );

  test('exclusion holds when sync and async lockers mix: 3 workers x 3 tasks', async () => {
    const n = 6000;
    const runs = Array.from({ length: 3 }, () =>
      inWorker({ task: 'asyncHammer', memory: s.spec, backend: s.backend, n }),
    );
    expect(await Promise.all(runs)).toEqual([n, n, n]);
    expect(new Int32Array(s.memory, 64, 1)[0]).toBe(3 * n);
  });

  if (variant.crossProcess) {
    test('exclusion holds when sync and async lockers mix: 3 processes x 3 tasks', async () => {
      const n = 6000;
      const runs = Array.from({ length: 3 }, () =>
        inProcess({ task: 'asyncHammer', memory: s.spec, backend: s.backend, n }),
      );
      expect(await Promise.all(runs)).toEqual([n, n, n]);
      expect(new Int32Array(s.memory, 64, 1)[0]).toBe(3 * n);
    });
  }

  test('a worker terminated while awaiting a lock holds nothing afterwards', async () => {
    const m = new Mutex(s.memory, 0, opts());
    m.lock();
    const worker = new Worker(TASK, { workerData: { task: 'lockAsyncAndHold', memory: s.spec, backend: s.backend } });
    const pending = new AtomicU32(s.memory, 72);
    await until(() => pending.load() === 1, 10000, 'the worker to wait');
    await worker.terminate();
    m.unlock();
    expect(m.tryLock()).toBe(true); // the dead worker's wait did not take it
    expect(new AtomicU32(s.memory, 68).load()).toBe(0);
    m.unlock();
  });
});
