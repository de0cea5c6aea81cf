// Barrier: its contract, run against every backend and memory (test/backends.ts).
// Generations across workers and processes, bad input, timeouts that withdraw, aborts.
import { Barrier, NamedBarrier } from '../../lib';
import { type Setup, variants } from '../backends';
import { inProcess, inWorker, killAll, leftSegments, removeSegments, uniqueName, until } from '../helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

/** The sleepers word (+12) of the barrier at +0. */
const sleepers = (memory: ArrayBuffer | SharedArrayBuffer) => Atomics.load(new Int32Array(memory, 12, 1), 0);
const bytes = (memory: ArrayBuffer | SharedArrayBuffer) => Array.from(new Uint8Array(memory, 0, 128));

describe.each(variants)('primitives contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = (parties: number) => ({ backend: s.backend, parties });

  describe('Barrier', () => {
    test('parties is stored; one party is always last; three parties through three handles, twice', async () => {
      const one = new Barrier(s.memory, 64, opts(1));
      expect([one.wait(), one.wait({ timeout: 0 }), await one.waitAsync()]).toEqual(['last', 'last', 'last']);
      expect(one.generation).toBe(3);

      const [a, b, c] = [0, 1, 2].map(() => new Barrier(s.memory, 0, opts(3)));
      expect([a.initialized, b.initialized, a.parties, c.parties]).toEqual([true, false, 3, 3]);
      for (let g = 0; g < 2; g++) {
        const pa = a.waitAsync();
        expect(c.waiting).toBe(1);
        const pb = b.waitAsync({ timeout: 10000 });
        expect([c.waiting, c.generation]).toEqual([2, g]);
        expect(c.wait()).toBe('last');
        expect([c.waiting, c.generation]).toEqual([0, g + 1]);
        expect(await Promise.all([pa, pb])).toEqual([true, true]);
      }
      expect(sleepers(s.memory)).toBe(0);
    });

    test('bad parties and options are refused before anything is touched', async () => {
      for (const bad of [0, -1, 1.5, NaN, Infinity, Barrier.MAX_PARTIES + 1]) {
        expect(() => new Barrier(s.memory, 0, opts(bad))).toThrow(RangeError);
      }
      expect(() => new Barrier(s.memory, 0, opts(0))).toThrow('parties 0 must be an integer from 1 to 65535');
      for (const bad of [undefined, '2', null]) {
        expect(() => new Barrier(s.memory, 0, { backend: s.backend, parties: bad as never })).toThrow(TypeError);
      }
      expect(() => new Barrier(s.memory, 0, undefined as never)).toThrow(TypeError);
      expect(bytes(s.memory).every((x) => x === 0)).toBe(true); // still fresh

      const b = new Barrier(s.memory, 0, opts(2));
      const before = bytes(s.memory);
      expect(() => b.wait({ timeout: -1 })).toThrow(RangeError);
      expect(() => b.wait({ timeout: '1' as never })).toThrow(TypeError);
      await expect(b.waitAsync({ signal: {} as never })).rejects.toThrow(TypeError);
      expect(bytes(s.memory)).toEqual(before); // no arrival
      expect(b.waiting).toBe(0);
    });

    test('attaching with another number of parties is a TypeError naming both, and changes nothing', () => {
      new Barrier(s.memory, 0, opts(4));
      const before = bytes(s.memory);
      expect(() => new Barrier(s.memory, 0, opts(3))).toThrow(
        new TypeError('the Barrier at byteOffset 0 has 4 parties, not 3'),
      );
      expect(bytes(s.memory)).toEqual(before);
      expect(new Barrier(s.memory, 0, opts(4)).parties).toBe(4);
    });

    test('a timed-out wait returns false, not early, and withdraws: the barrier still needs all parties', async () => {
      const a = new Barrier(s.memory, 0, opts(3));
      const b = new Barrier(s.memory, 0, opts(3));
      expect(a.wait({ timeout: 0 })).toBe(false); // timeout 0: a try
      expect(a.waiting).toBe(0);
      const start = performance.now();
      expect(a.wait({ timeout: 25 })).toBe(false);
      expect(performance.now() - start).toBeGreaterThanOrEqual(25);
      expect(await a.waitAsync({ timeout: 10 })).toBe(false);
      expect([a.waiting, a.generation, sleepers(s.memory)]).toEqual([0, 0, 0]);
      // a full set is still needed: two arrivals leave it waiting, the third completes it
      const p = a.waitAsync();
      expect(b.wait({ timeout: 15 })).toBe(false);
      expect(a.waiting).toBe(1);
      const q = b.waitAsync();
      expect(a.wait({ timeout: 0 })).toBe('last');
      expect(await Promise.all([p, q])).toEqual([true, true]);
      expect([a.waiting, a.generation, sleepers(s.memory)]).toEqual([0, 1, 0]);
    });

    test('abort withdraws and rejects; an abort after the generation completed resolves true', async () => {
      const a = new Barrier(s.memory, 0, opts(2));
      const b = new Barrier(s.memory, 0, opts(2));
      const ac = new AbortController();
      const p = a.waitAsync({ signal: ac.signal });
      expect(a.waiting).toBe(1);
      ac.abort(new Error('stop'));
      await expect(p).rejects.toThrow('stop');
      expect([a.waiting, a.generation, sleepers(s.memory)]).toEqual([0, 0, 0]);
      await expect(a.waitAsync({ signal: ac.signal })).rejects.toThrow('stop'); // aborted already: no arrival
      expect(a.waiting).toBe(0);

      const late = new AbortController();
      const q = a.waitAsync({ signal: late.signal });
      expect(b.wait()).toBe('last');
      late.abort(); // (before the wake is delivered, on either backend)
      await expect(q).resolves.toBe(true);
      expect([a.waiting, a.generation]).toEqual([0, 1]);
    });

    test('sync and async parties mixed in other threads: the main thread completes each of 3 generations', async () => {
      const b = new Barrier(s.memory, 0, opts(3));
      const rounds = 3;
      const run = (async: boolean) =>
        inWorker<{ results: string; early: number }>({
          task: 'barrierRounds',
          memory: s.spec,
          backend: s.backend,
          parties: 3,
          rounds,
          async,
        });
      const parties = [run(false), run(true)];
      const arrivals = new Int32Array(s.memory, 64, rounds);
      for (let g = 0; g < rounds; g++) {
        await until(() => b.waiting === 2 && sleepers(s.memory) === 2, 15000, `both parties asleep in ${g}`);
        expect(b.generation).toBe(g);
        Atomics.add(arrivals, g, 1);
        expect(b.wait()).toBe('last');
      }
      expect(await Promise.all(parties)).toEqual([
        { results: 'TTT', early: 0 },
        { results: 'TTT', early: 0 },
      ]);
    });

    test('4 parties x 200 generations in threads or processes: one last per generation, nobody early', async () => {
      const parties = 4;
      const rounds = 200;
      new Barrier(s.memory, 0, opts(parties));
      const run = variant.crossProcess ? inProcess : inWorker;
      const results = await Promise.all(
        Array.from({ length: parties }, (_, i) =>
          run<{ results: string; early: number }>({
            task: 'barrierRounds',
            memory: s.spec,
            backend: s.backend,
            parties,
            rounds,
            async: i % 2 === 1,
          }),
        ),
      );
      expect(results.map((r) => r.early)).toEqual([0, 0, 0, 0]);
      for (let g = 0; g < rounds; g++) {
        const column = results.map((r) => r.results[g]).sort();
        expect([g, column.join('')]).toEqual([g, 'LTTT']);
      }
      expect(Array.from(new Int32Array(s.memory, 64, rounds))).toEqual(Array(rounds).fill(parties));
      const b = new Barrier(s.memory, 0, opts(parties));
      expect([b.generation, b.waiting, sleepers(s.memory)]).toEqual([rounds, 0, 0]);
    });
  });
});

test('NamedBarrier: close() under a pending waitAsync rejects it and withdraws; a mismatch opens nothing', async () => {
  const name = uniqueName('barrier');
  const a = new NamedBarrier(name, { parties: 2 });
  const b = new NamedBarrier(name, { parties: 2 });
  expect(() => new NamedBarrier(name, { parties: 3 })).toThrow(
    new TypeError('the Barrier at byteOffset 0 has 2 parties, not 3'),
  );
  expect(a.processCount).toBe(1);
  const p = a.waitAsync();
  expect(b.waiting).toBe(1);
  a.close();
  await expect(p).rejects.toMatchObject({ code: 'ERR_FASTIPC_CLOSED' });
  expect(b.waiting).toBe(0);
  expect(b.wait({ timeout: 0 })).toBe(false); // still needs two
  b.close();
  expect(leftSegments()).toEqual([]);
});
