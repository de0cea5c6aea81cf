// RwLock and Barrier under long load (npm run stress), on every backend and memory: the
// contract suites' hammering, 10 to 25 times longer.
import { RwLock } from '../lib';
import { type Setup, variants } from './backends';
import { RW } from './fixtures/tasks-rwlock';
import { inProcess, inWorker, killAll, removeSegments } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const SCALE = Number(process.env.STRESS_SCALE || 1);

describe.each(variants)('stress: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup(65536)));
  afterEach(() => s.close());
  const spec = (more: Record<string, unknown>) => ({ memory: s.spec, backend: s.backend, ...more });

  test('RwLock: 4 workers (and 4 processes) x 200,000 reads and writes, exact counts, no torn read', async () => {
    const n = Math.round((200_000 * SCALE) / 8) * 8;
    const writeEvery = 8;
    const runs = [
      ...[0, 1, 2, 3].map(() => inWorker<{ writes: number; torn: number }>(spec({ task: 'rwHammer', n, writeEvery }))),
      ...(variant.crossProcess
        ? [0, 1, 2, 3].map(() => inProcess<{ writes: number; torn: number }>(spec({ task: 'rwHammer', n, writeEvery })))
        : []),
    ];
    const results = await Promise.all(runs);
    expect(results.map((r) => r.torn)).toEqual(results.map(() => 0));
    const writes = results.reduce((sum, r) => sum + r.writes, 0);
    expect(writes).toBe(runs.length * (n / writeEvery));
    const w = new Int32Array(s.memory);
    expect([w[RW.DATA], w[RW.DATA + 1]]).toEqual([writes, writes]);
    const rw = new RwLock(s.memory, 0, { backend: s.backend });
    expect([rw.readers, rw.writeLocked]).toEqual([0, false]);
  });

  test('Barrier: 4 parties (half async) x 5,000 generations: one last per generation, nobody early', async () => {
    const rounds = Math.round(5000 * SCALE);
    const run = variant.crossProcess ? inProcess : inWorker;
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        run<{ results: string; early: number }>(
          spec({ task: 'barrierRounds', parties: 4, rounds, async: i % 2 === 1 }),
        ),
      ),
    );
    expect(results.map((r) => r.early)).toEqual([0, 0, 0, 0]);
    const bad: number[] = [];
    for (let g = 0; g < rounds; g++) {
      if (
        results
          .map((r) => r.results[g])
          .sort()
          .join('') !== 'LTTT'
      )
        bad.push(g);
    }
    expect(bad).toEqual([]);
  });
});
