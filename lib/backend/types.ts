/**
 * The backend contract: how a thread sleeps on one 32-bit word and how it wakes others.
 *
 *   wait(view, index, expected, timeout):
 *     atomically: if view[index] !== expected, return 'not-equal';
 *     else sleep until a wake() on the same word through the same backend ('ok'),
 *     or until `timeout` ms have passed ('timed-out'). Infinity sleeps without limit;
 *     0 never sleeps. May return 'ok' spuriously: callers re-check their condition
 *     in a loop and recompute the remaining time.
 *
 *   wake(view, index, count):
 *     wake up to `count` threads sleeping on the word (Infinity: all) and return how
 *     many were woken.
 *
 * The result strings are those of Atomics.wait. Both sides of one word must use the same
 * backend: Atomics.notify never wakes a thread asleep in the kernel's futex, nor the
 * other way round. Every backend passes test/backend.contract.test.ts.
 *
 * A later layer adds `waitAsync` (same contract, as a Promise that never blocks the
 * event loop); the interface is where it goes.
 */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
export type BackendName = 'atomics' | 'futex';

export interface Backend {
  readonly name: BackendName;
  wait(view: Int32Array, index: number, expected: number, timeout: number): WaitResult;
  wake(view: Int32Array, index: number, count: number): number;
}

export interface PrimitiveOptions {
  /** Force a backend; by default a SharedArrayBuffer gets 'atomics' and anything else 'futex'. */
  backend?: BackendName;
}
