// The fairness scenarios of issue "Under load", shared by test/fairness.quiet.test.ts
// (npm test) and test/fairness.stress.test.ts (npm run stress, 5x the rounds). Each
// measures every wait of every task; the bounds are generous (these are not benchmarks).
import { SharedMemory } from '../lib';
import { inProcess, inWorker, killAll, removeSegments, uniqueName } from './helpers';

type Kind = 'mutex' | 'semaphore';

function stats(waits: number[]): { n: number; max: number; mean: number; p99: number } {
  const sorted = [...waits].sort((a, b) => a - b);
  const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: waits.length,
    max: round(sorted[sorted.length - 1]),
    mean: round(mean),
    p99: round(sorted[Math.floor(sorted.length * 0.99)]),
  };
}

export function fairnessSuite(scale: number): void {
  afterAll(async () => {
    await killAll();
    removeSegments();
  });

  describe.each<Kind>(['mutex', 'semaphore'])('%s', (kind) => {
    const what = kind === 'mutex' ? 'lockAsync' : 'waitAsync (1 token)';

    test.each(['atomics', 'futex', 'hybrid'])(
      `50 async tasks x ${20 * scale} rounds of ${what} in one thread, 1 ms hold (%s backend): no wait over 150 ms`,
      async (backend) => {
        const sab = new SharedArrayBuffer(256);
        const { waits } = await inWorker<{ waits: number[] }>({
          task: 'fairness',
          memory: { sab },
          backend,
          kind,
          arrivedOffset: 128,
          parties: 1,
          tasks: 50,
          rounds: 20 * scale,
          holdMs: 1,
        });
        const s = stats(waits);
        expect(s.n).toBe(50 * 20 * scale);
        expect({ ...s, within: s.max <= 150 }).toEqual({ ...s, within: true });
      },
    );

    test(`2 processes x 25 tasks x ${20 * scale} rounds, Named ${kind}, 1 ms hold: no wait over 300 ms`, async () => {
      const name = uniqueName('fair');
      const ctl = uniqueName('ctl');
      using control = SharedMemory.open(ctl, { size: 4096 });
      void control;
      const spec = {
        task: 'fairness',
        kind,
        name,
        ctl,
        arrivedOffset: 0,
        parties: 2,
        tasks: 25,
        rounds: 20 * scale,
        holdMs: 1,
      };
      const results = await Promise.all([inProcess<{ waits: number[] }>(spec), inProcess<{ waits: number[] }>(spec)]);
      const s = stats(results.flatMap((r) => r.waits));
      expect(s.n).toBe(2 * 25 * 20 * scale);
      expect({ ...s, within: s.max <= 300 }).toEqual({ ...s, within: true });
    });

    test.each(['atomics', 'futex', 'hybrid'])(
      `4 workers x ${200 * scale} sync ${kind === 'mutex' ? 'lock()' : 'wait()'}, 0.1 ms hold (%s backend): ` +
        'no wait over 50x the mean',
      async (backend) => {
        const sab = new SharedArrayBuffer(256);
        const spec = {
          task: 'fairness',
          memory: { sab },
          backend,
          kind,
          arrivedOffset: 128,
          parties: 4,
          rounds: 200 * scale,
          holdMs: 0.1,
          sync: true,
        };
        // Best of four runs: 4 busy threads on 2 cores, a holder is sometimes preempted for
        // a scheduler slice or two, which no lock can help; one run in five or so then ends
        // just over the bound (2026-12-02: max 8.9 ms, bound 8.7). Without the starvation
        // mode (STARVE_MS = 1e9) every one of 12 runs ended at 150-300x the mean, so four
        // tries do not let a barging lock through.
        let s = { n: 0, max: Infinity, mean: 0, p99: 0 };
        for (let attempt = 0; attempt < 4 && !(s.max <= 50 * Math.max(s.mean, 0.05)); attempt++) {
          const results = await Promise.all([0, 1, 2, 3].map(() => inWorker<{ waits: number[] }>(spec)));
          s = stats(results.flatMap((r) => r.waits));
        }
        expect(s.n).toBe(4 * 200 * scale);
        // (a mean under 0.05 ms would make the bound absurdly tight: a few scheduler ticks)
        const bound = 50 * Math.max(s.mean, 0.05);
        expect({ ...s, bound, within: s.max <= bound }).toEqual({ ...s, bound, within: true });
      },
    );

    // The default backend on a SharedArrayBuffer (hybrid) puts sync waiters to sleep in the
    // kernel and async ones in V8: a wake must reach both queues in turn (lib/backend/index.ts),
    // or the sync waiters wait while any async waiter of another thread sleeps.
    test(
      `1 worker of 10 async tasks (1 ms hold) and 2 workers x ${100 * scale} sync ` +
        `${kind === 'mutex' ? 'lock()' : 'wait()'} (0.1 ms hold), default backend: no sync wait over 50 ms`,
      async () => {
        const sab = new SharedArrayBuffer(256);
        const base = { task: 'fairness', memory: { sab }, kind, arrivedOffset: 128, parties: 3 };
        const [, ...syncs] = await Promise.all([
          inWorker<{ waits: number[] }>({ ...base, tasks: 10, rounds: 40 * scale, holdMs: 1 }),
          ...[0, 1].map(() => inWorker<{ waits: number[] }>({ ...base, rounds: 100 * scale, holdMs: 0.1, sync: true })),
        ]);
        const s = stats(syncs.flatMap((r) => r.waits));
        expect(s.n).toBe(2 * 100 * scale);
        expect({ ...s, within: s.max <= 50 }).toEqual({ ...s, within: true });
      },
    );
  });
}
