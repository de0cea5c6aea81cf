// Model-based test (fast-check asyncModelRun): random sequences of sends, tries, timed and
// async receives, receiveInto, aborts and end(), through several handles of one Channel,
// against an array queue, on every backend and memory. Small capacities and random sizes
// (0 to maxMessageBytes) take the ring round many times. Async receives that wait stand
// for parties that sleep: each must get exactly the message the model says, in order.
import fc from 'fast-check';
import { Channel } from '../../lib';
import { variants } from '../backends';
import { removeSegments, settled } from '../helpers';

afterAll(removeSegments);

interface Real {
  handles: Channel[];
  pending: Array<{ promise: Promise<Uint8Array | undefined>; ac: AbortController }>; // oldest first
}
interface Model {
  capacity: number;
  maxBytes: number;
  queue: Uint8Array[];
  ended: boolean;
  next: number;
}
type Cmd = fc.AsyncCommand<Model, Real>;

const cmd = (name: string, check: (m: Model) => boolean, run: (m: Model, r: Real) => Promise<void> | void): Cmd => ({
  check: (m) => check(m),
  run: async (m, r) => run(m, r),
  toString: () => name,
});

/** A message of `size` bytes, distinct from the ones before (its first bytes count them). */
function message(m: Model, size: number): Uint8Array {
  const b = new Uint8Array(Math.min(size, m.maxBytes));
  const n = m.next++;
  for (let i = 0; i < b.length; i++) b[i] = (n >> (8 * (i % 4))) + i;
  return b;
}

/**
 * A send in the model: to one of the receivers waiting, if any (which one the wake picks is
 * the kernel's or V8's choice across handles), else to the queue.
 */
async function delivered(m: Model, r: Real, msg: Uint8Array): Promise<void> {
  if (r.pending.length === 0) return void m.queue.push(msg);
  const first = Promise.race(r.pending.map((p, i) => p.promise.then((got) => ({ got, i }))));
  const { got, i } = await settled(first, 'a waiting receiveAsync');
  expect(got).toEqual(msg);
  r.pending.splice(i, 1);
}

const handle = fc.integer({ min: 0, max: 2 });
const size = fc.integer({ min: 0, max: 40 });

const commands = [
  fc.tuple(handle, size).map(([h, n]) =>
    cmd(
      `[${h}].trySend(${n} bytes)`,
      () => true,
      async (m, r) => {
        const msg = message(m, n);
        if (m.ended) return expect(() => r.handles[h].trySend(msg)).toThrow(/ended/);
        const room = m.queue.length < m.capacity;
        expect(r.handles[h].trySend(msg)).toBe(room || r.pending.length > 0);
        if (room || r.pending.length > 0) await delivered(m, r, msg);
      },
    ),
  ),
  fc.tuple(handle, size).map(([h, n]) =>
    cmd(
      `[${h}].send(${n} bytes, timeout 0..5)`,
      () => true,
      async (m, r) => {
        const msg = message(m, n);
        if (m.ended) return expect(() => r.handles[h].send(msg, { timeout: 5 })).toThrow(/ended/);
        const room = m.queue.length < m.capacity;
        expect(r.handles[h].send(msg, { timeout: room ? 5 : 2 })).toBe(room);
        if (room) await delivered(m, r, msg);
      },
    ),
  ),
  handle.map((h) =>
    cmd(
      `[${h}].tryReceive()`,
      () => true,
      (m, r) => {
        if (r.pending.length > 0) return expect(r.handles[h].tryReceive()).toBeUndefined(); // (queue empty)
        expect(r.handles[h].tryReceive()).toEqual(m.queue.shift());
      },
    ),
  ),
  handle.map((h) =>
    cmd(
      `[${h}].receiveInto(timeout 1)`,
      () => true,
      (m, r) => {
        const target = new Uint8Array(m.maxBytes);
        const want = r.pending.length > 0 ? undefined : m.queue.shift();
        const n = r.handles[h].receiveInto(target, { timeout: 1 });
        expect(n).toBe(want ? want.length : -1);
        if (want) expect(target.subarray(0, n)).toEqual(want);
      },
    ),
  ),
  handle.map((h) =>
    cmd(
      `[${h}].receiveAsync()`,
      () => true,
      async (m, r) => {
        const ac = new AbortController();
        const promise = r.handles[h].receiveAsync({ signal: ac.signal });
        if (m.queue.length > 0 && r.pending.length === 0) {
          expect(await settled(promise, 'receiveAsync of a queued message')).toEqual(m.queue.shift());
        } else if (m.ended) {
          expect(await settled(promise, 'receiveAsync of an ended channel')).toBeUndefined();
        } else r.pending.push({ promise, ac });
      },
    ),
  ),
  fc.constant(
    cmd(
      'abort the oldest pending receiveAsync',
      () => true,
      async (_m, r) => {
        const p = r.pending.shift();
        if (!p) return;
        p.ac.abort(new Error('aborted'));
        await expect(settled(p.promise, 'an aborted receiveAsync')).rejects.toThrow('aborted');
      },
    ),
  ),
  handle.map((h) =>
    cmd(
      `[${h}].end()`,
      () => true,
      async (m, r) => {
        r.handles[h].end();
        m.ended = true;
        // receivers waiting on an empty channel get undefined
        for (const p of r.pending.splice(0))
          expect(await settled(p.promise, 'a receiver woken by end')).toBeUndefined();
      },
    ),
  ),
];

describe.each(variants)('Channel model: $name', (variant) => {
  test('against an array queue: every message once, whole, in order; full, empty, end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.commands(commands, { maxCommands: 60 }),
        async (capacity, cmds) => {
          const s = variant.setup(8192);
          try {
            const shape = { capacity, maxMessageBytes: 24 };
            const handles = [0, 1, 2].map(() => new Channel(s.memory, 0, { backend: s.backend, ...shape }));
            const model: Model = { capacity, maxBytes: 24, queue: [], ended: false, next: 0 };
            const real: Real = { handles, pending: [] };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            expect(handles[0].size).toBe(model.queue.length);
            for (const p of real.pending) p.ac.abort(new Error('done'));
            await Promise.allSettled(real.pending.map((p) => p.promise));
            const w = new Int32Array(s.memory, 0, 16);
            expect([Atomics.load(w, 7), Atomics.load(w, 9)]).toEqual([0, 0]); // no sleeper left counted
          } finally {
            s.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 120_000);
});
