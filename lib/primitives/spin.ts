/**
 * Adaptive spinning, per handle (so per thread). Before it sleeps, a waiter looks at its
 * condition up to `budget()` times. On 2 cores with both parties running, a handoff found
 * by spinning costs ~0.1 µs against ~10-20 µs for a futex sleep and wake, and a ping-pong
 * stays in that fast regime only if a spin outlasts the peer's own wake-up. But when both
 * parties share one core the holder cannot run while we spin, so spinning only burns its
 * time.
 *
 * So: no spinning at all where this process may run on one CPU only (taskset, cgroups:
 * os.availableParallelism() follows the affinity mask). Elsewhere a spin that succeeds
 * restores the full budget (by default SPIN_MAX looks, some tens of µs; the Mutex uses
 * less); one that fails halves it, down to SPIN_MIN; and every PROBE_EVERY-th wait spins
 * the full budget again, to find out when spinning pays once more (at most a few µs a
 * wait on average when it never does).
 */
import os from 'node:os';

export const SPIN_MAX = 4096;
/**
 * Locks spin for far less than a semaphore: a lock guards short critical sections, and two
 * threads spinning on its cache line slow each other down. Measured (bench/mutex.bench.mjs):
 * 0.5-0.8x a bare 3-state mutex with 4096 looks, 0.55-1.27x with short spins; over ~150
 * alternating runs, maxima of 30, 50 and 100 were alike, and a fixed 100 without halving
 * after a failed spin was worse (README, Known limits).
 */
export const LOCK_SPIN_MAX = 100;
export const SPIN_MIN = 16;
const PROBE_EVERY = 16;
const MULTI_CORE = os.availableParallelism() > 1;

export class Spinner {
  private limit: number;
  private waits = 0;

  constructor(private readonly max = SPIN_MAX) {
    this.limit = MULTI_CORE ? max : 0;
  }

  /** How many looks before sleeping, this time. */
  budget(): number {
    if (this.limit < this.max && MULTI_CORE && ++this.waits % PROBE_EVERY === 0) return this.max;
    return this.limit;
  }

  succeeded(): void {
    this.limit = this.max;
  }

  failed(): void {
    if (MULTI_CORE) this.limit = this.limit > SPIN_MIN * 2 ? this.limit >> 1 : Math.min(SPIN_MIN, this.max);
  }
}
