// Model-based tests (fast-check modelRun): random sequences of operations on Mutex,
// Semaphore and Event against a plain model, on every backend and memory.
import fc from 'fast-check';
import { Event, Mutex, Semaphore } from '../lib';
import { variants } from '../test/backends';
import { removeSegments } from '../test/helpers';

afterAll(removeSegments);

interface Real {
  m: Mutex;
  s: Semaphore;
  e: Event;
  state: Int32Array; /* the Mutex's state word */
}
interface Model {
  locked: boolean;
  count: number;
  set: boolean;
}
type Cmd = fc.Command<Model, Real>;

const cmd = (name: string, run: (m: Model, r: Real) => void): Cmd => ({ check: () => true, run, toString: () => name });

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string; name: string }).code ?? (err as Error).name;
  }
};

const mutexCommands = [
  fc.constant(
    cmd('lock({timeout:0})', (m, r) => {
      if (m.locked) expect(code(() => r.m.lock({ timeout: 0 }))).toBe('ERR_FASTIPC_RECURSIVE');
      else expect(r.m.lock({ timeout: 0 })).toBe(true);
      m.locked = true;
    }),
  ),
  fc.constant(
    cmd('tryLock()', (m, r) => {
      if (m.locked) expect(code(() => r.m.tryLock())).toBe('ERR_FASTIPC_RECURSIVE');
      else expect(r.m.tryLock()).toBe(true);
      m.locked = true;
    }),
  ),
  fc.constant(
    cmd('unlock()', (m, r) => {
      if (m.locked) r.m.unlock();
      else expect(code(() => r.m.unlock())).toBe('ERR_FASTIPC_NOT_OWNER');
      m.locked = false;
    }),
  ),
  // what another thread's sleeping loop does before it sleeps: it changes nobody's view
  // of who holds the lock (on a free lock it leaves WAITERS alone in the word)
  fc.constant(
    cmd('another waiter sets WAITERS', (_m, r) => {
      Atomics.or(r.state, 0, 1 << 30);
    }),
  ),
  fc.constant(
    cmd('check mutex', (m, r) => {
      expect(r.m.isLocked).toBe(m.locked);
      expect(r.m.ownerPid).toBe(m.locked ? process.pid : 0);
      expect(r.state[0] & 0x1fffffff).toBe(m.locked ? r.m.ownerTid : 0);
      expect(r.m.ownerTid > 0).toBe(m.locked);
    }),
  ),
];

const semaphoreCommands = [
  fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(2 ** 31 - 1)).map((n) =>
    cmd(`post(${n})`, (m, r) => {
      if (m.count + n > Semaphore.MAX) expect(code(() => r.s.post(n))).toBe('RangeError');
      else {
        r.s.post(n);
        m.count += n;
      }
    }),
  ),
  fc.constant(
    cmd('tryWait()', (m, r) => {
      expect(r.s.tryWait()).toBe(m.count > 0);
      if (m.count > 0) m.count--;
    }),
  ),
  fc.constant(
    cmd('wait({timeout:0})', (m, r) => {
      expect(r.s.wait({ timeout: 0 })).toBe(m.count > 0);
      if (m.count > 0) m.count--;
    }),
  ),
  fc.constant(cmd('check semaphore', (m, r) => expect(r.s.value).toBe(m.count))),
];

const eventCommands = [
  fc.constant(
    cmd('set()', (m, r) => {
      r.e.set();
      m.set = true;
    }),
  ),
  fc.constant(
    cmd('clear()', (m, r) => {
      r.e.clear();
      m.set = false;
    }),
  ),
  fc.constant(cmd('wait({timeout:0})', (m, r) => expect(r.e.wait({ timeout: 0 })).toBe(m.set))),
  fc.constant(cmd('check event', (m, r) => expect(r.e.isSet).toBe(m.set))),
];

describe.each(variants)('model: $name', (variant) => {
  test('Mutex, Semaphore and Event follow their models', () => {
    fc.assert(
      fc.property(
        fc.commands([...mutexCommands, ...semaphoreCommands, ...eventCommands], { maxCommands: 60 }),
        (cmds) => {
          const s = variant.setup(4096);
          try {
            const opts = { backend: s.backend };
            fc.modelRun(
              () => ({
                model: { locked: false, count: 0, set: false },
                real: {
                  m: new Mutex(s.memory, 0, opts),
                  s: new Semaphore(s.memory, 64, opts),
                  e: new Event(s.memory, 128, opts),
                  state: new Int32Array(s.memory, 8, 1),
                },
              }),
              cmds,
            );
          } finally {
            s.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
