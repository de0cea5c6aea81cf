// The backend contract (lib/backend/types.ts), through FutexWord, run against every
// backend and memory: one suite, written once.
import { AtomicU32, FutexWord } from '../lib';
import { type Setup, variants } from './backends';
import { inProcess, inWorker, killAll, removeSegments, until } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

describe.each(variants)('backend contract: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());

  const word = () => new FutexWord(s.memory, 0, { backend: s.backend });

  test('picks the backend asked for', () => {
    expect(word().backend).toBe(s.backend);
  });

  test("wait returns 'not-equal' at once when the value differs, and changes nothing", () => {
    const w = word();
    w.store(7);
    expect(w.wait(6, Infinity)).toBe('not-equal');
    expect(w.wait(-1)).toBe('not-equal');
    expect(w.load()).toBe(7);
  });

  test("wait with timeout 0 returns 'timed-out' without sleeping when the value matches", () => {
    expect(word().wait(0, 0)).toBe('timed-out');
  });

  test.each([1, 12.5, 40])('a %p ms wait never returns early', (ms) => {
    const w = word();
    const start = performance.now();
    expect(w.wait(0, ms)).toBe('timed-out');
    expect(performance.now() - start).toBeGreaterThanOrEqual(ms);
  });

  test('wake with nobody asleep wakes 0', () => {
    expect(word().wake()).toBe(0);
    expect(word().wake(Infinity)).toBe(0);
  });

  // The word stays 0 while waking, so a sleeper that had not yet gone to sleep still
  // sleeps, and 'ok' can only come from the wake.
  test('wake wakes a sleeper in a worker thread', async () => {
    const w = word();
    const arrived = new AtomicU32(s.memory, 64);
    const done = inWorker<{ result: string; value: number }>({
      task: 'wait',
      memory: s.spec,
      backend: s.backend,
      expected: 0,
      timeout: 30000,
      arrivedOffset: 64,
    });
    await until(() => arrived.load() === 1, 10000, 'the worker to arrive');
    let woken = 0;
    await until(() => (woken = w.wake(1)) > 0, 10000, 'a sleeper to wake');
    expect(woken).toBe(1);
    const r = await done;
    expect(r).toMatchObject({ result: 'ok', value: 0 });
  });

  test('wake(count) wakes at most count; Infinity wakes all', async () => {
    const w = word();
    const arrived = new AtomicU32(s.memory, 64);
    const spec = { task: 'wait', memory: s.spec, backend: s.backend, expected: 0, timeout: 30000, arrivedOffset: 64 };
    const done = Promise.all([inWorker(spec), inWorker(spec), inWorker(spec), inWorker(spec)]);
    await until(() => arrived.load() === 4, 10000, 'all workers to arrive');
    let total = 0;
    await until(() => {
      const n = w.wake(2);
      expect(n).toBeLessThanOrEqual(2);
      return (total += n) >= 2;
    });
    await until(() => (total += w.wake(Infinity)) >= 4, 10000, 'every sleeper to wake');
    expect(total).toBe(4);
    const results = (await done) as Array<{ result: string }>;
    expect(results.map((r) => r.result)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  test('two workers ping-pong 2,000 rounds on one word', async () => {
    const spec = { task: 'pingPong', memory: s.spec, backend: s.backend, rounds: 2000 };
    const [a, b] = await Promise.all([inWorker({ ...spec, me: 0 }), inWorker({ ...spec, me: 1 })]);
    expect([a, b]).toEqual([4000, 4000]);
    expect(word().load()).toBe(4000);
  });

  if (variant.crossProcess)
    test('between processes: a sleeper in another process is woken', async () => {
      const w = word();
      const arrived = new AtomicU32(s.memory, 64);
      const done = inProcess<{ result: string; value: number }>({
        task: 'wait',
        memory: s.spec,
        backend: s.backend,
        expected: 0,
        timeout: 30000,
        arrivedOffset: 64,
      });
      await until(() => arrived.load() === 1, 15000, 'the child to arrive');
      await until(() => w.wake(1) > 0, 15000, 'the child to wake');
      w.store(42);
      const r = await done;
      expect(r).toMatchObject({ result: 'ok' });
    });
});
