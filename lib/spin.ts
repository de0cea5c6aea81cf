/**
 * Adaptive spinning, per handle (so per thread). A waiter first re-checks its condition
 * up to `limit` times before it sleeps. On 2 cores with both parties running, a handoff
 * found by spinning costs ~0.1 µs against ~10 µs for a futex sleep and wake; but when
 * both parties share one core the holder cannot run while we spin, so spinning only
 * burns its time. Hence: a spin that succeeds doubles the limit (up to MAX); one that
 * fails halves it (down to MIN). Pinned to one core the limit sinks to MIN within a few
 * waits; it keeps MIN > 0 so that it can find out when spinning pays again.
 */
import os from 'node:os';

export const SPIN_MAX = 256;
export const SPIN_MIN = 4;

export function initialSpin(): number {
  return os.availableParallelism() > 1 ? SPIN_MAX / 4 : SPIN_MIN;
}

export function spinSucceeded(limit: number): number {
  return limit >= SPIN_MAX / 2 ? SPIN_MAX : limit * 2;
}

export function spinFailed(limit: number): number {
  return limit <= SPIN_MIN * 2 ? SPIN_MIN : limit >> 1;
}
