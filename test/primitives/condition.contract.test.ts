// Condition: its contract, run against every backend and memory (test/backends.ts): a
// bounded queue between 2 producers and 2 consumers (every item once, in order per
// producer), no lost notify between unlock and sleep, notifyAll, timeouts with the mutex
// held again, misuse, and a mutex whose holder dies while a waiter waits.
import { Condition, FastipcError, Mutex } from '../../lib';
import { type Setup, variants } from '../backends';
import { QUEUE } from '../fixtures/tasks-condition';
import { inProcess, inWorker, killAll, removeSegments, until } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

describe.each(variants)('Condition contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup(65536)));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });
  const run = variant.crossProcess ? inProcess : inWorker;

  test('a wait times out with the mutex held again; a notify with nobody waiting is not remembered', async () => {
    const m = new Mutex(s.memory, 0, opts());
    const c = new Condition(s.memory, 64, opts());
    c.notifyOne();
    c.notifyAll();
    m.lock();
    const start = performance.now();
    expect(c.wait(m, { timeout: 30 })).toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(30);
    expect(m.isLocked).toBe(true);
    expect(c.wait(m, { timeout: 0 })).toBe(false);
    expect(await c.waitAsync(m, { timeout: 20 })).toBe(false);
    expect(m.isLocked).toBe(true);
    expect(c.waitFor(m, () => false, { timeout: 20 })).toBe(false);
    expect(c.waitFor(m, () => true)).toBe(true);
    m.unlock(); // the calling thread still held it
    expect(m.isLocked).toBe(false);
  });

  test('misuse is refused and changes nothing', async () => {
    const m = new Mutex(s.memory, 0, opts());
    const c = new Condition(s.memory, 64, opts());
    const words = () => Array.from(new Int32Array(s.memory, 64, 4));
    const before = words();
    let err: unknown;
    try {
      c.wait(m, { timeout: 10 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FastipcError);
    expect((err as FastipcError).code).toBe('ERR_FASTIPC_NOT_OWNER');
    await expect(c.waitAsync(m, { timeout: 10 })).rejects.toMatchObject({ code: 'ERR_FASTIPC_NOT_OWNER' });
    expect(() => c.wait({} as Mutex)).toThrow(TypeError);
    expect(() => c.wait(null as unknown as Mutex)).toThrow(TypeError);
    m.lock();
    expect(() => c.wait(m, { timeout: -1 })).toThrow(RangeError);
    expect(() => c.waitFor(m, 1 as unknown as () => boolean)).toThrow(TypeError);
    expect(m.isLocked).toBe(true); // a refused wait released nothing
    m.unlock();
    expect(words()).toEqual(before);
    expect(() => new Mutex(s.memory, 64, opts())).toThrow(TypeError); // a Condition is there
  });

  test('an aborted waitAsync rejects with the reason, holding the mutex again', async () => {
    const m = new Mutex(s.memory, 0, opts());
    const c = new Condition(s.memory, 64, opts());
    await m.lockAsync();
    const ac = new AbortController();
    const p = c.waitAsync(m, { signal: ac.signal });
    await until(() => Atomics.load(new Int32Array(s.memory, 76, 1), 0) === 1, 5000, 'the waiter to sleep');
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(m.isLocked).toBe(true);
    m.unlock();
    expect(Atomics.load(new Int32Array(s.memory, 76, 1), 0)).toBe(0); // no sleeper left counted
  });

  test('notifyAll wakes every waiter: 2 sync and 2 async, in other threads or processes', async () => {
    const m = new Mutex(s.memory, 0, opts());
    const c = new Condition(s.memory, 64, opts());
    const waits = [false, false, true, true].map((async) =>
      run<{ ok: boolean; held: boolean }>({ task: 'condWaitOnce', memory: s.spec, backend: s.backend, async }),
    );
    const arrived = new Int32Array(s.memory, 192, 1);
    // each counts itself and reads seq holding the mutex, and releases it only inside wait()
    await until(() => m.withLock(() => arrived[0]) === 4, 20000, 'all 4 waiters');
    m.withLock(() => c.notifyAll());
    const results = await Promise.all(waits);
    expect(results).toEqual(Array(4).fill({ ok: true, held: true }));
  });

  test('a bounded queue, 2 producers and 2 consumers (one async each), delivers each item once, in order', async () => {
    const perProducer = 3000;
    const producers = [0, 1].map((p) =>
      run<number>({
        task: 'condProduce',
        memory: s.spec,
        backend: s.backend,
        first: p * perProducer,
        n: perProducer,
        async: p === 1,
      }),
    );
    const consumers = [0, 1].map((k) =>
      run<{ taken: number; ordered: boolean }>({
        task: 'condConsume',
        memory: s.spec,
        backend: s.backend,
        producers: 2,
        perProducer,
        async: k === 1,
      }),
    );
    expect(await Promise.all(producers)).toEqual([perProducer, perProducer]);
    const got = await Promise.all(consumers);
    expect(got.every((r) => r.ordered)).toBe(true);
    expect(got[0].taken + got[1].taken).toBe(2 * perProducer);
    const seen = new Int32Array(s.memory, QUEUE.SEEN, 2 * perProducer);
    const wrong = Array.from(seen).flatMap((n, id) => (n === 1 ? [] : [`${id}: ${n}`]));
    expect(wrong).toEqual([]);
  });

  test('no notify is lost between unlock and sleep: 2 parties take 3000 turns each, no wait times out', async () => {
    const rounds = 3000;
    const timeouts = await Promise.all(
      [0, 1].map((me) => run<number>({ task: 'condPingPong', memory: s.spec, backend: s.backend, me, rounds })),
    );
    expect(timeouts).toEqual([0, 0]);
    expect(new Int32Array(s.memory, 192, 1)[0]).toBe(0); // 2 x 3000 turns passed
  });

  test('a waiter whose mutex holder dies relocks it within about a second, recovered', async () => {
    const m = new Mutex(s.memory, 0, opts());
    const c = new Condition(s.memory, 64, opts());
    await m.lockAsync();
    const woken = c.waitAsync(m, { timeout: 20000 });
    const holder = run({ task: 'condHoldAndNotify', memory: s.spec, backend: s.backend });
    holder.catch(() => {}); // it is killed
    await until(() => Atomics.load(new Int32Array(s.memory, 196, 1), 0) === 1, 20000, 'the holder to notify');
    const killedAt = performance.now();
    await killAll();
    expect(await woken).toBe(true);
    expect(performance.now() - killedAt).toBeLessThan(3000);
    expect(m.recovered).toBe(true);
    m.unlock();
  });
});
