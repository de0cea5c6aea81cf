// Wake latency, not just eventual progress. Sleepers re-check on their own every 100 ms
// (futex slices) or 200 ms (owner and token checks), which turns a lost wake-up into a
// slow one instead of a hang: good for users, and a trap for tests that only wait for
// progress. Here a waiter that has been asleep for a while (past any spin) must be
// running again within WAKE_BOUND_MS of the unlock/post/set meant for it, on every
// backend, sync and async; one slow round of ROUNDS is allowed (a busy machine).
// And the wakes themselves, counted through a spy on the primitive's backend.
import { Event, FutexWord, Mutex, Semaphore } from '../lib';
import type { BackendName } from '../lib';
import { type Setup, variants } from './backends';
import { inWorker, killAll, removeSegments, until } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const WAKE_BOUND_MS = 30;
const ASLEEP_MS = 15; // far past any spin (at most 4096 looks, some tens of µs), far below any re-check slice
const ROUNDS = 8;
const WAITERS_BIT = 1 << 30; // Mutex state: lib/mutex.ts

type Kind = 'mutex' | 'semaphore' | 'event';

type Backends = { sleeper: BackendName | undefined; waker: BackendName | undefined; go: BackendName };

/**
 * ROUNDS rounds: the waiter (a worker, on backend `sleeper`) sleeps on the primitive at +0,
 * this thread (on backend `waker`) releases it; the waiter's wake latency is recorded.
 */
async function wakeLatency(s: Setup, backends: Backends, kind: Kind, mode: 'sync' | 'async'): Promise<void> {
  const opts = { backend: backends.waker };
  const word = new Int32Array(s.memory, 0, 4);
  const m = kind === 'mutex' ? new Mutex(s.memory, 0, opts) : null;
  const sem = kind === 'semaphore' ? new Semaphore(s.memory, 0, opts) : null;
  const ev = kind === 'event' ? new Event(s.memory, 0, opts) : null;
  const go = new FutexWord(s.memory, 64, { backend: backends.go });
  const done = new Int32Array(s.memory, 68, 1);
  const woke = new Float64Array(s.memory, 128, 1);
  // asleep: a Mutex waiter has set WAITERS, a Semaphore or Event waiter counts in sleepers
  const asleep = () => (m ? (Atomics.load(word, 2) & WAITERS_BIT) !== 0 : Atomics.load(word, 3) > 0);
  const waiter = inWorker<{ timedOut: number }>({
    task: 'wakeLatency',
    memory: s.spec,
    backend: backends.sleeper,
    goBackend: backends.go,
    kind,
    mode,
    rounds: ROUNDS,
  });
  const latencies: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (m) m.lock();
    if (ev) ev.clear();
    go.store(r + 1);
    go.wake(Infinity);
    await until(asleep, 10_000, `the ${kind} waiter to sleep (round ${r})`);
    await new Promise((resolve) => setTimeout(resolve, ASLEEP_MS));
    expect(asleep()).toBe(true);
    const t0 = performance.timeOrigin + performance.now();
    if (m) m.unlock();
    else if (sem) sem.post(1);
    else ev!.set();
    // (a waiter that is not back within 3 s has failed already; a re-check would bring
    // it back within 0.2 s, a lost wake with no re-check never)
    await until(() => Atomics.load(done, 0) === r + 1, 3_000, `round ${r} to end`);
    latencies.push(woke[0] - t0);
  }
  expect(await waiter).toEqual({ timedOut: 0 });
  const slow = latencies.filter((ms) => ms > WAKE_BOUND_MS);
  expect({
    slowRounds: slow.length <= 1 ? 'at most 1' : slow.length,
    latencies: latencies.map((ms) => Math.round(ms * 10) / 10),
  }).toEqual({
    slowRounds: 'at most 1',
    latencies: expect.any(Array),
  });
}

// Handles of one primitive on a SharedArrayBuffer that sleep differently: on 'atomics'
// (V8, sync and async) and on the default, 'hybrid' or 'futex' (the kernel for sync
// waits, V8 for async ones: the same code there). Each one's wakes reach the other's
// sleepers (lib/backend/index.ts). A lost wake shows as a slow round (a futex slice,
// 100 ms) or a hang.
const KERNEL_SYNC: (BackendName | undefined)[] = [undefined, 'hybrid', 'futex'];
const MIXES = KERNEL_SYNC.flatMap((other) => [
  { sleeper: 'atomics' as BackendName, waker: other },
  { sleeper: other, waker: 'atomics' as BackendName },
]).map((m) => ({ ...m, name: `${m.sleeper ?? 'default'} sleeper, ${m.waker ?? 'default'} waker` }));
const sabVariant = variants.find((v) => v.name === 'atomics over SharedArrayBuffer')!;

describe.each(MIXES)('wake latency, SharedArrayBuffer, mixed backends: $name', ({ sleeper, waker }) => {
  let s: Setup;
  beforeEach(() => (s = sabVariant.setup()));
  afterEach(() => s.close());

  test.each([
    ['sync', 'mutex'],
    ['sync', 'semaphore'],
    ['async', 'mutex'],
    ['async', 'event'],
  ] as const)(
    'a %s %s waiter runs again within the bound',
    (mode, kind) => wakeLatency(s, { sleeper, waker, go: 'atomics' }, kind, mode),
    60_000,
  );
});

describe.each(variants)('wake latency: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());

  describe.each(['sync', 'async'] as const)('%s waiter', (mode) => {
    test.each(['mutex', 'semaphore', 'event'] as Kind[])(
      `a sleeping %s waiter runs again within ${WAKE_BOUND_MS} ms of its wake`,
      (kind) => wakeLatency(s, { sleeper: s.backend, waker: s.backend, go: s.backend }, kind, mode),
      60_000,
    );
  });

  describe('wakes, counted through a spy on the backend', () => {
    const spy = (prim: object) => {
      const impl = (prim as { impl: { wake: (v: Int32Array, i: number, n: number) => number } }).impl;
      const calls: [number, number][] = [];
      const real = impl.wake;
      (prim as { impl: object }).impl = {
        ...impl,
        wake: (v: Int32Array, i: number, n: number) => (calls.push([i, n]), real(v, i, n)),
      };
      return calls;
    };

    test('Mutex.unlock wakes one on the state word only when WAITERS is set', () => {
      const m = new Mutex(s.memory, 0, { backend: s.backend });
      const calls = spy(m);
      m.lock();
      m.unlock();
      expect(calls).toEqual([]);
      m.lock();
      Atomics.or(new Int32Array(s.memory, 0, 4), 2, WAITERS_BIT); // a waiter announced itself
      m.unlock();
      expect(calls).toEqual([[2, 1]]);
    });

    test.each([
      [0, 3, null],
      [2, 1, 1],
      [2, 5, 2],
      [4, 3, 3],
    ])('Semaphore: %p sleepers, post(%p) wakes min(n, sleepers) on the count word', (sleepers, n, woken) => {
      const sem = new Semaphore(s.memory, 0, { backend: s.backend });
      const calls = spy(sem);
      Atomics.store(new Int32Array(s.memory, 0, 4), 3, sleepers);
      sem.post(n);
      expect(calls).toEqual(woken === null ? [] : [[2, woken]]);
    });

    test('Event.set wakes all on the state word when someone sleeps, else makes no call', () => {
      const ev = new Event(s.memory, 0, { backend: s.backend });
      const calls = spy(ev);
      ev.set();
      ev.clear();
      expect(calls).toEqual([]);
      Atomics.store(new Int32Array(s.memory, 0, 4), 3, 2);
      ev.set();
      expect(calls).toEqual([[2, Infinity]]);
    });
  });
});
