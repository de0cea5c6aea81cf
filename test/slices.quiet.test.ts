// Waits that cross slices, through FutexWord on every backend and memory (the backend
// contract, lib/backend/types.ts). Runs in the quiet phase of `npm test` (test/run.mjs):
// alone on the machine, so that an upper bound on lateness measures the wait, not the
// other test files' load.
import { FutexWord } from '../lib';
import { type Setup, variants } from './backends';
import { removeSegments } from './helpers';

afterAll(() => removeSegments());

describe.each(variants)('slices: $name', (variant) => {
  let s: Setup;
  beforeEach(() => (s = variant.setup()));
  afterEach(() => s.close());

  const word = () => new FutexWord(s.memory, 0, { backend: s.backend });

  // Waits that cross the futex backend's 100 ms slices (and V8's own timers): a slice that
  // ended the wait early, or slept a whole slice past the deadline, shows here. Early is
  // never allowed; lateness is judged by the better of two tries, since on a loaded
  // machine (other test files, 2 cores) a thread can wait tens of ms to be scheduled,
  // while a wait that oversleeps does so every time.
  test.each([250, 450])('a %p ms wait, sync and async, is never early and never much late', async (ms) => {
    const w = word();
    const LATE_MS = 75;
    const best = { sync: Infinity, async: Infinity };
    for (let attempt = 0; attempt < 2 && Math.max(best.sync, best.async) >= ms + LATE_MS; attempt++) {
      let start = performance.now();
      expect(w.wait(0, ms)).toBe('timed-out');
      const sync = performance.now() - start;
      start = performance.now();
      expect(await w.waitAsync(0, { timeout: ms })).toBe('timed-out');
      const async = performance.now() - start;
      expect(Math.min(sync, async)).toBeGreaterThanOrEqual(ms);
      best.sync = Math.min(best.sync, sync);
      best.async = Math.min(best.async, async);
    }
    expect({ syncLate: best.sync - ms < LATE_MS, asyncLate: best.async - ms < LATE_MS, best }).toEqual({
      syncLate: true,
      asyncLate: true,
      best,
    });
  });
});
