// Latch: its contract, run against every backend and memory (test/backends.ts).
// Counting down across workers and processes, bad input, underflow, timeouts, aborts.
import { FastipcError, Latch } from '../../lib';
import { type Setup, variants } from '../backends';
import { inProcess, inWorker, killAll, removeSegments, until } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

/** The sleepers word (+12) of the latch at +0. */
const sleepers = (memory: ArrayBuffer | SharedArrayBuffer) => Atomics.load(new Int32Array(memory, 12, 1), 0);
const bytes = (memory: ArrayBuffer | SharedArrayBuffer) => Array.from(new Uint8Array(memory, 0, 64));

describe.each(variants)('primitives contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = (count: number) => ({ backend: s.backend, count });

  describe('Latch', () => {
    test('count applies only to the initialiser; countDown to zero opens it for good', async () => {
      const a = new Latch(s.memory, 0, opts(3));
      const b = new Latch(s.memory, 0, opts(100));
      expect([a.initialized, b.initialized, a.count, b.count]).toEqual([true, false, 3, 3]);
      expect(b.wait({ timeout: 0 })).toBe(false);
      const p = b.waitAsync();
      a.countDown(2);
      expect(b.count).toBe(1);
      expect(a.wait({ timeout: 5 })).toBe(false);
      b.countDown();
      expect(await p).toBe(true);
      expect([a.wait(), a.wait({ timeout: 0 }), await b.waitAsync({ timeout: 0 }), a.count]).toEqual([
        true,
        true,
        true,
        0,
      ]);
      expect(sleepers(s.memory)).toBe(0);
      const open = new Latch(s.memory, 64, opts(0)); // 0: open at once
      expect([open.count, open.wait({ timeout: 0 })]).toEqual([0, true]);
    });

    test('bad count and n are refused, and change nothing; n past the count is ERR_FASTIPC_LATCH_UNDERFLOW', () => {
      for (const bad of [-1, 1.5, NaN, 2 ** 31]) expect(() => new Latch(s.memory, 0, opts(bad))).toThrow(RangeError);
      for (const bad of [undefined, '2']) expect(() => new Latch(s.memory, 0, opts(bad as never))).toThrow(TypeError);
      expect(() => new Latch(s.memory, 0, undefined as never)).toThrow(TypeError);
      expect(bytes(s.memory).every((x) => x === 0)).toBe(true);

      const l = new Latch(s.memory, 0, opts(2));
      const before = bytes(s.memory);
      for (const bad of [0, -1, 1.5, NaN, 2 ** 31]) expect(() => l.countDown(bad)).toThrow(RangeError);
      expect(() => l.countDown('1' as never)).toThrow(TypeError);
      expect(() => l.wait({ timeout: -1 })).toThrow(RangeError);
      let err: unknown;
      try {
        l.countDown(3);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FastipcError);
      expect(err).toMatchObject({
        code: 'ERR_FASTIPC_LATCH_UNDERFLOW',
        message: 'fastipc: Latch.countDown(3): the count is 2',
      });
      expect(bytes(s.memory)).toEqual(before);
      l.countDown(2);
      expect(() => l.countDown()).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_LATCH_UNDERFLOW' }));
      expect(l.count).toBe(0);
    });

    test('a timed wait returns false no earlier than asked and leaves no sleeper; abort rejects', async () => {
      const l = new Latch(s.memory, 0, opts(1));
      const start = performance.now();
      expect(l.wait({ timeout: 25 })).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(25);
      expect(await l.waitAsync({ timeout: 10 })).toBe(false);
      const ac = new AbortController();
      const p = l.waitAsync({ signal: ac.signal });
      await until(() => sleepers(s.memory) === 1, 5000, 'the async wait to count itself');
      ac.abort(new Error('stop'));
      await expect(p).rejects.toThrow('stop');
      expect([l.count, sleepers(s.memory)]).toEqual([1, 0]);
    });

    test('4 threads or processes count down and wait: none is released before the last countDown', async () => {
      const per = 50;
      const l = new Latch(s.memory, 0, opts(4 * per + 1));
      const run = variant.crossProcess ? inProcess : inWorker;
      const waits = Array.from({ length: 4 }, (_, i) =>
        run<{ ok: boolean; count: number }>({
          task: 'latchCountAndWait',
          memory: s.spec,
          backend: s.backend,
          per,
          async: i % 2 === 1,
        }),
      );
      let released = 0;
      for (const w of waits) void w.then(() => released++);
      const done = new Int32Array(s.memory, 64, 1);
      await until(() => Atomics.load(done, 0) === 4 && sleepers(s.memory) === 4, 20000, 'all 4 to wait');
      expect([l.count, released]).toEqual([1, 0]);
      l.countDown();
      expect(await Promise.all(waits)).toEqual(Array(4).fill({ ok: true, count: 0 }));
      expect(sleepers(s.memory)).toBe(0);
    });
  });
});
