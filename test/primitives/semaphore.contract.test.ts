// Semaphore: its contract, run against every backend and memory (test/backends.ts).
// Hammering across workers and processes, misuse, timeouts.
import { AtomicU32, Semaphore } from '../../lib';
import { type Setup, variants } from '../backends';
import { inProcess, inWorker, killAll, removeSegments } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

describe.each(variants)('primitives contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });

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

    test('acquire, acquireAsync, withPermit and withPermitAsync take a token and give it back once', async () => {
      const sem = new Semaphore(s.memory, 0, { ...opts(), initial: 1 });
      const held = sem.acquire();
      expect(sem.value).toBe(0);
      held[Symbol.dispose]();
      held[Symbol.dispose](); // once only
      expect(sem.value).toBe(1);
      const a = await sem.acquireAsync();
      expect(sem.value).toBe(0);
      expect(() => sem.acquire({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ETIMEDOUT' }));
      await expect(sem.acquireAsync({ timeout: 5 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      await a[Symbol.asyncDispose](); // await using
      a[Symbol.dispose]();
      expect(sem.value).toBe(1);
      expect(sem.withPermit(() => sem.value)).toBe(0);
      expect(() =>
        sem.withPermit(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(await sem.withPermitAsync(async () => sem.value)).toBe(0);
      await expect(sem.withPermitAsync(async () => Promise.reject(new Error('late')))).rejects.toThrow('late');
      expect(sem.value).toBe(1); // every permit came back
      expect(() => sem.withPermit(1 as unknown as () => void)).toThrow(TypeError);
      expect(sem.value).toBe(1);
      sem.wait();
      expect(() => sem.withPermit(() => 0, { timeout: 0 })).toThrow(expect.objectContaining({ code: 'ETIMEDOUT' }));
      expect(sem.value).toBe(0); // a permit not taken is not given back
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
      const takers = Array.from({ length: 4 }, () =>
        run<{ taken: number; timedOut: number }>({ task: 'semTake', memory: s.spec, backend: s.backend, n: take }),
      );
      const posters = Array.from({ length: 4 }, () =>
        run({ task: 'semPost', memory: s.spec, backend: s.backend, n: per }),
      );
      expect(await Promise.all(posters)).toEqual([per, per, per, per]);
      const taken = await Promise.all(takers);
      expect(taken).toEqual(Array(4).fill({ taken: take, timedOut: 0 }));
      expect(new AtomicU32(s.memory, 64).load()).toBe(4 * per);
      expect(sem.value).toBe(4 * per - 4 * take);
      expect(new Int32Array(s.memory, 12, 1)[0]).toBe(0);
    });
  });
});
