// Model-based tests (fast-check asyncModelRun): random sequences of arrivals, tries,
// timed waits, aborts and count-downs on a Barrier and a Latch, through several handles,
// against a plain model, on every backend and memory. Async waits arrive at once (their
// first step is synchronous), so they stand for parties that sleep.
import fc from 'fast-check';
import { Barrier, Latch } from '../../lib';
import { variants } from '../backends';
import { removeSegments, settled } from '../helpers';

afterAll(removeSegments);

interface Pending {
  promise: Promise<unknown>;
  ac: AbortController;
}
interface Real {
  barriers: Barrier[];
  latches: Latch[];
  arrivals: Pending[]; // barrier waits in progress, oldest first
  waits: Pending[]; // latch waits in progress
}
interface Model {
  parties: number;
  arrived: number;
  generation: number;
  count: number;
}
type Cmd = fc.AsyncCommand<Model, Real>;

const cmd = (name: string, run: (m: Model, r: Real) => Promise<void> | void): Cmd => ({
  check: () => true,
  run: async (m, r) => run(m, r),
  toString: () => name,
});

/** The generation completed: every barrier wait in progress must resolve true. */
async function completed(m: Model, r: Real): Promise<void> {
  const all = r.arrivals.splice(0);
  expect(await settled(Promise.all(all.map((p) => p.promise)), 'the released barrier waits')).toEqual(
    all.map(() => true),
  );
  m.arrived = 0;
  m.generation++;
}

const handle = fc.integer({ min: 0, max: 2 });

const barrierCommands = [
  handle.map((h) =>
    cmd(`barrier[${h}].waitAsync()`, async (m, r) => {
      const ac = new AbortController();
      const promise = r.barriers[h].waitAsync({ signal: ac.signal });
      if (m.arrived + 1 === m.parties) {
        expect(await promise).toBe('last');
        await completed(m, r);
      } else {
        r.arrivals.push({ promise, ac });
        m.arrived++;
      }
    }),
  ),
  fc.tuple(handle, fc.constantFrom(0, 0, 1)).map(([h, timeout]) =>
    cmd(`barrier[${h}].wait({timeout:${timeout}})`, async (m, r) => {
      const got = r.barriers[h].wait({ timeout });
      if (m.arrived + 1 === m.parties) {
        expect(got).toBe('last');
        await completed(m, r);
      } else expect(got).toBe(false); // and the arrival withdrawn (the model unchanged)
    }),
  ),
  fc.nat().map((i) =>
    cmd(`abort barrier wait #${i}`, async (m, r) => {
      if (r.arrivals.length === 0) return;
      const [p] = r.arrivals.splice(i % r.arrivals.length, 1);
      p.ac.abort(new Error('aborted'));
      await expect(settled(p.promise, 'the aborted barrier wait')).rejects.toThrow('aborted');
      m.arrived--;
    }),
  ),
  handle.map((h) =>
    cmd(`check barrier[${h}]`, (m, r) => {
      const b = r.barriers[h];
      expect([b.parties, b.waiting, b.generation]).toEqual([m.parties, m.arrived, m.generation % 2 ** 15]);
    }),
  ),
];

const latchHandle = fc.integer({ min: 0, max: 1 });

/** The latch opened: every latch wait in progress must resolve true. */
async function opened(r: Real): Promise<void> {
  const all = r.waits.splice(0);
  expect(await settled(Promise.all(all.map((p) => p.promise)), 'the latch waits')).toEqual(all.map(() => true));
}

const latchCommands = [
  fc.tuple(latchHandle, fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4 }))).map(([h, n]) =>
    cmd(`latch[${h}].countDown(${n})`, async (m, r) => {
      if (n > m.count) {
        expect(() => r.latches[h].countDown(n)).toThrow(
          expect.objectContaining({ code: 'ERR_FASTIPC_LATCH_UNDERFLOW' }),
        );
        return;
      }
      r.latches[h].countDown(n);
      m.count -= n;
      if (m.count === 0) await opened(r);
    }),
  ),
  fc
    .tuple(latchHandle, fc.constantFrom(0, 0, 1))
    .map(([h, timeout]) =>
      cmd(`latch[${h}].wait({timeout:${timeout}})`, (m, r) =>
        expect(r.latches[h].wait({ timeout })).toBe(m.count === 0),
      ),
    ),
  latchHandle.map((h) =>
    cmd(`latch[${h}].waitAsync()`, async (m, r) => {
      const ac = new AbortController();
      const promise = r.latches[h].waitAsync({ signal: ac.signal });
      if (m.count === 0) expect(await promise).toBe(true);
      else r.waits.push({ promise, ac });
    }),
  ),
  fc.nat().map((i) =>
    cmd(`abort latch wait #${i}`, async (_m, r) => {
      if (r.waits.length === 0) return;
      const [p] = r.waits.splice(i % r.waits.length, 1);
      p.ac.abort(new Error('aborted'));
      await expect(settled(p.promise, 'the aborted latch wait')).rejects.toThrow('aborted');
    }),
  ),
  latchHandle.map((h) => cmd(`check latch[${h}]`, (m, r) => expect(r.latches[h].count).toBe(m.count))),
];

describe.each(variants)('model: $name', (variant) => {
  test('Barrier and Latch follow their models', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 6 }),
        fc.commands([...barrierCommands, ...latchCommands], { maxCommands: 40 }),
        async (parties, count, cmds) => {
          const s = variant.setup(4096);
          const real: Real = {
            barriers: [0, 1, 2].map(() => new Barrier(s.memory, 0, { backend: s.backend, parties })),
            latches: [count, 99].map((c) => new Latch(s.memory, 64, { backend: s.backend, count: c })),
            arrivals: [],
            waits: [],
          };
          try {
            await fc.asyncModelRun(() => ({ model: { parties, arrived: 0, generation: 0, count }, real }), cmds);
          } finally {
            // end the waits still in progress
            const left = [...real.arrivals, ...real.waits];
            for (const p of left) p.ac.abort(new Error('end of run'));
            await Promise.allSettled(left.map((p) => p.promise));
            s.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
