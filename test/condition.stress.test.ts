// Condition under long load (npm run stress): no notify lost between unlock and sleep over
// 200,000 turns, and the bounded queue between 4 producers and 4 consumers (processes
// where the memory allows, else workers), every item once, on every backend and memory.
import { type Setup, variants } from './backends';
import { QUEUE } from './fixtures/tasks-condition';
import { inProcess, inWorker, killAll, removeSegments } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const SCALE = Number(process.env.STRESS_SCALE || 1);

describe.each(variants)('Condition stress: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup(1 << 20)));
  afterEach(() => s.close());
  const run = variant.crossProcess ? inProcess : inWorker;

  test('2 parties x 100,000 turns: no wait times out', async () => {
    const rounds = Math.round(100_000 * SCALE);
    const timeouts = await Promise.all(
      [0, 1].map((me) => run<number>({ task: 'condPingPong', memory: s.spec, backend: s.backend, me, rounds })),
    );
    expect(timeouts).toEqual([0, 0]);
  });

  test('bounded queue, 4 producers x 25,000 items, 4 consumers (half async): every item once', async () => {
    const perProducer = Math.round(25_000 * SCALE);
    const producers = [0, 1, 2, 3].map((p) =>
      run<number>({
        task: 'condProduce',
        memory: s.spec,
        backend: s.backend,
        first: p * perProducer,
        n: perProducer,
        async: p % 2 === 1,
      }),
    );
    const consumers = [0, 1, 2, 3].map((k) =>
      run<{ taken: number; ordered: boolean }>({
        task: 'condConsume',
        memory: s.spec,
        backend: s.backend,
        producers: 4,
        perProducer,
        async: k % 2 === 1,
      }),
    );
    await Promise.all(producers);
    const got = await Promise.all(consumers);
    expect(got.every((r) => r.ordered)).toBe(true);
    expect(got.reduce((n, r) => n + r.taken, 0)).toBe(4 * perProducer);
    const seen = new Int32Array(s.memory, QUEUE.SEEN, 4 * perProducer);
    expect(Array.from(seen).filter((n) => n !== 1).length).toBe(0);
  });
});
