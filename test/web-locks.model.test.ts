// locks.request, model-checked with fast-check: random sequences of requests for one name
// from this process (exclusive or shared, some ifAvailable, each holding the lock for a
// random number of event-loop turns), against the model of the spec's lock queue: no
// holder overlaps an exclusive one, requests that queue are granted in the order made, a
// shared request right behind a granted shared one shares it, every request settles, and
// the name's segment is gone afterwards.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fc from 'fast-check';
import { locks } from '../lib';

const turn = () => new Promise((r) => setImmediate(r));
const file = (name: string) =>
  `/dev/shm/fastipc.weblock.${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
let serial = 0;

test('requests for one name behave as the Web Locks queue would', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          shared: fc.boolean(),
          ifAvailable: fc.boolean(),
          hold: fc.integer({ min: 0, max: 3 }),
          gap: fc.integer({ min: 0, max: 2 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      async (plan) => {
        const name = `test-weblock-model-${process.pid}-${++serial}`;
        const inside = new Map<number, boolean>(); // request -> shared
        const granted: number[] = [];
        const violations: string[] = [];
        const results: Array<Promise<unknown>> = [];
        for (const [i, r] of plan.entries()) {
          const options = { mode: r.shared ? 'shared' : 'exclusive', ifAvailable: r.ifAvailable } as const;
          results.push(
            locks.request(name, options, async (lock) => {
              if (lock === null) return 'unavailable';
              for (const [j, shared] of inside) {
                if (!shared || !r.shared) violations.push(`${i} granted while ${j} held it`);
              }
              inside.set(i, r.shared);
              granted.push(i);
              for (let k = 0; k < r.hold; k++) await turn();
              inside.delete(i);
              return 'granted';
            }),
          );
          for (let k = 0; k < r.gap; k++) await turn();
        }
        const outcomes = await Promise.all(results);
        expect(violations).toEqual([]);
        // every request that could wait was granted, in the order the requests were made
        const queued = plan.flatMap((r, i) => (r.ifAvailable ? [] : [i]));
        expect(granted.filter((i) => !plan[i].ifAvailable)).toEqual(queued);
        for (const i of queued) expect(outcomes[i]).toBe('granted');
        expect(fs.existsSync(file(name))).toBe(false);
      },
    ),
    { numRuns: 80 },
  );
});
