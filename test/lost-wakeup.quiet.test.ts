// Lost-wakeup stress that counts late rounds, on every backend and memory. Runs in the
// quiet phase of `npm test` (test/run.mjs): a round slower than 50 ms must mean a wake
// that was lost and recovered by a re-check, not another test file's load.
import { Semaphore } from '../lib';
import { type Setup, variants } from './backends';
import { inWorker, killAll, removeSegments } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

describe.each(variants)('Semaphore lost wakeup: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());
  const opts = () => ({ backend: s.backend });

  test('lost wakeup: 1,500 rounds of one post(1) per blocked waiter, with a churner of timed waits', async () => {
    new Semaphore(s.memory, 0, opts());
    const base = { task: 'lostWakeup', memory: s.spec, backend: s.backend, rounds: 1500, waiters: 2 };
    const roles = [
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
    expect({ ...poster, late: poster.late <= 1500 / 100 ? 'at most 1%' : poster.late }).toEqual({
      stuck: -1,
      failures: 0,
      value: 0,
      late: 'at most 1%',
    });
  });
});
