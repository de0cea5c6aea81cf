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
 * The result strings are those of Atomics.wait. Atomics.notify never wakes a thread asleep
 * in the kernel's futex, nor the other way round: a FutexWord's two sides must use the
 * same backend; the protocol primitives' wakes on a SharedArrayBuffer reach both kinds of
 * sleeper (index.ts), so their handles may mix backends there. Every backend passes
 * test/backend.contract.test.ts.
 *
 *   waitAsync(view, index, expected, timeout, signal?):
 *     the same as wait, as a Promise that never blocks the event loop and takes no libuv
 *     pool thread. While it is pending the process stays alive, as with a pending timer.
 *     An abort rejects with `signal.reason` at once; a wake that the aborted wait had
 *     already taken is passed on (wake(1)), so an abort never swallows a wake meant for
 *     another waiter. If the memory is closed meanwhile it rejects with an Error whose
 *     code is 'ERR_FASTIPC_CLOSED'.
 */
import type { AbortSignalLike } from '../core/deadline';

/** How a wait on a word ended, as Atomics.wait says it: woken, the word differed at once, or the timeout passed. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
/**
 * How a handle sleeps and wakes: 'atomics' (V8's Atomics.wait/notify: SharedArrayBuffer
 * only, one process), 'futex' (the kernel's futex through the addon: any memory, across
 * processes; on a SharedArrayBuffer, async waits of every primitive but FutexWord use
 * Atomics.waitAsync, as 'hybrid') or 'hybrid' (SharedArrayBuffer only, needs the addon: sync waits in the
 * kernel's futex, async waits on Atomics.waitAsync, wakes reach both). Every handle on one
 * FutexWord must use the same backend; handles of the other primitives may mix them.
 */
export type BackendName = 'atomics' | 'futex' | 'hybrid';

export interface Backend {
  readonly name: BackendName;
  wait(view: Int32Array, index: number, expected: number, timeout: number): WaitResult;
  wake(view: Int32Array, index: number, count: number): number;
  waitAsync(
    view: Int32Array,
    index: number,
    expected: number,
    timeout: number,
    signal?: AbortSignalLike,
  ): Promise<WaitResult>;
}

/** Options of every primitive's constructor. */
export interface PrimitiveOptions {
  /**
   * Force a backend. By default a SharedArrayBuffer gets 'hybrid' when the addon is loaded
   * ('atomics' without it, and always for a FutexWord) and anything else 'futex'.
   */
  backend?: BackendName;
}
