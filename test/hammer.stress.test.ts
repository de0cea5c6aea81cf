// Long hammering (npm run stress): the contract suite's races, ten to a hundred times
// longer, on every backend and memory.
import { Mutex, Semaphore } from '../lib';
import { type Setup, variants } from './backends';
import { inProcess, inWorker, killAll, removeSegments } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const SCALE = Number(process.env.STRESS_SCALE || 1);

describe.each(variants)('stress: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());

  test('mutex: 4 workers x 1,000,000 lock/increment/unlock', async () => {
    const n = Math.round(1_000_000 * SCALE);
    const runs = Array.from({ length: 4 }, () =>
      inWorker({ task: 'mutexHammer', memory: s.spec, backend: s.backend, n }),
    );
    expect(await Promise.all(runs)).toEqual([n, n, n, n]);
    expect(new Int32Array(s.memory, 64, 1)[0]).toBe(4 * n);
    expect(new Mutex(s.memory, 0, { backend: s.backend }).isLocked).toBe(false);
  });

  if (variant.crossProcess) {
    test('mutex: 4 processes x 250,000 lock/increment/unlock', async () => {
      const n = Math.round(250_000 * SCALE);
      const runs = Array.from({ length: 4 }, () =>
        inProcess({ task: 'mutexHammer', memory: s.spec, backend: s.backend, n }),
      );
      expect(await Promise.all(runs)).toEqual([n, n, n, n]);
      expect(new Int32Array(s.memory, 64, 1)[0]).toBe(4 * n);
    });
  }

  test('semaphore lost wakeup: 20,000 rounds', async () => {
    new Semaphore(s.memory, 0, { backend: s.backend });
    const base = {
      task: 'lostWakeup',
      memory: s.spec,
      backend: s.backend,
      rounds: Math.round(20_000 * SCALE),
      waiters: 3,
    };
    const roles = [
      inWorker({ ...base, role: 'waiter' }),
      inWorker({ ...base, role: 'waiter' }),
      inWorker({ ...base, role: 'waiter' }),
      inWorker({ ...base, role: 'churner' }),
    ];
    const poster = await inWorker<{ stuck: number; failures: number; value: number; late: number }>({
      ...base,
      role: 'poster',
    });
    await Promise.all(roles);
    // late: rounds slower than 50 ms, each a lost wakeup that a periodic re-check recovered
    expect({ ...poster, late: poster.late <= base.rounds / 100 ? 'at most 1%' : poster.late }).toEqual({
      stuck: -1,
      failures: 0,
      value: 0,
      late: 'at most 1%',
    });
  });

  test('async and sync lockers mixed: 3 workers x 100,000', async () => {
    const n = Math.round(99_999 * SCALE);
    const runs = Array.from({ length: 3 }, () =>
      inWorker({ task: 'asyncHammer', memory: s.spec, backend: s.backend, n }),
    );
    const per = await Promise.all(runs);
    expect(new Int32Array(s.memory, 64, 1)[0]).toBe((per as number[]).reduce((a, b) => a + b, 0));
  });
});
