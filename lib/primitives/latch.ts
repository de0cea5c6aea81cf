/**
 * Latch: a count-down latch. countDown() takes the count towards zero, once; wait()
 * sleeps until it is zero, and returns at once from then on (Java's CountDownLatch).
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field    | meaning                                                       |
 * |--------|----------|---------------------------------------------------------------|
 * | +0     | magic    | 'LTCH'                                                        |
 * | +4     | version  | layout version (1); 0 while being initialised                 |
 * | +8     | count    | the futex word: counts still to come, 0 to 2^31-1; 0 = open   |
 * | +12    | sleepers | threads in or about to enter a wait on count                  |
 * | +16..63| reserved | zero                                                          |
 *
 * Transitions: countDown(n) is one CAS count -> count-n, refused (ERR_FASTIPC_LATCH_UNDERFLOW,
 * the count unchanged) when n > count, so the count never goes below zero and reaches it
 * at most once; the CAS that makes it 0 then wakes every sleeper if `sleepers` is non-zero
 * (no syscall when nobody sleeps). Nothing raises the count again: once open, always open.
 * No lost wake: a waiter counts itself in `sleepers` before it reads the count and sleeps
 * on the value it read; the last countDown() stores 0 before it reads `sleepers`
 * (sequentially consistent Atomics). Either the waiter sees 0, or the counter sees the
 * waiter and wakes it; a waiter not yet asleep finds the word changed and does not sleep.
 * A count-down that is not the last changes the word without waking: sleepers stay asleep
 * (the kernel compares the word only as they go to sleep).
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import { FastipcError } from '../core/errors';
import type { Memory } from '../core/memory';
import { checkInteger, checkOptions } from '../core/validate';
import { defineKind } from './kinds';
import { Primitive } from './primitive';
import { waitAsync, waitSync, type WaitProtocol } from './wait';

/** Word indexes (int32) from byteOffset. */
const COUNT = 2;
const SLEEPERS = 3;
const OPEN = 0;
export const LATCH_MAX = 2147483647; // 2^31 - 1: the count is an int32

export const LATCH_KIND = defineKind({
  name: 'Latch',
  tag: 'LTCH',
  bytes: 64,
  named: 'latch',
  fields: [{ name: 'count', meaning: (v) => (v === OPEN ? 'open' : `${v} to go`) }, { name: 'sleepers' }],
  decode: (w) => ({ count: w[COUNT], sleepers: w[SLEEPERS] }),
  describe: (s) => (s.count === OPEN ? 'open' : `count ${s.count}`) + (s.sleepers ? `, ${s.sleepers} waiting` : ''),
});

/** Options of a Latch. */
export interface LatchOptions extends PrimitiveOptions {
  /**
   * The count of a new latch, 0 (open at once) to Latch.MAX; ignored when attaching to an
   * existing one (its count is wherever its count-downs have taken it).
   */
  count: number;
}

/** @internal Validates the options that a Latch reads (its Named form checks them before opening). */
export function latchCount(options: Partial<LatchOptions>): number {
  return checkInteger(options.count, 'count', 0, LATCH_MAX);
}

/**
 * A count-down latch over shared memory: `countDown()` takes the count towards zero;
 * `wait()` returns once it is zero, and at once from then on. It opens once: to go
 * again, use a new one (or a Barrier).
 *
 * @example
 * const ready = new Latch(sab, 0, { count: 4 });
 * // each of 4 workers, once set up:        // the main thread:
 * ready.countDown();                         await ready.waitAsync();
 */
export class Latch extends Primitive {
  /** Bytes of memory a Latch takes. */
  static readonly BYTES = 64 as const;
  /** The largest count: 2^31 - 1. */
  static readonly MAX = LATCH_MAX;
  private readonly opened: WaitProtocol;

  /**
   * Creates the latch at `byteOffset` in `memory` with `count` if the memory there is
   * zeroed, or attaches to the one already there (and ignores `count`).
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Latch.BYTES bytes within it
   * @throws {TypeError} memory of another kind, another primitive at that offset, `count` not a number
   * @throws {RangeError} a misaligned or out-of-bounds offset, `count` not an integer from 0 to Latch.MAX
   */
  constructor(memory: Memory, byteOffset = 0, options: LatchOptions) {
    const opts = checkOptions<LatchOptions>(options);
    const count = latchCount(opts);
    super(LATCH_KIND, memory, byteOffset, opts, (view) => Atomics.store(view, COUNT, count));
    this.opened = {
      index: COUNT,
      slice: () => Infinity,
      grab: () => Atomics.load(this.view, COUNT) === OPEN,
      enter: () => this.addSleeper(SLEEPERS),
      attempt: () => {
        const count = Atomics.load(this.view, COUNT);
        return count === OPEN || count;
      },
      recheck: () => false,
      exit: () => void this.removeSleeper(SLEEPERS), // opening wakes every sleeper: nothing to pass on
    };
  }

  /**
   * Takes `n` (default 1) off the count; the one that makes it zero wakes every waiter (no
   * system call when nobody waits).
   * @throws {TypeError|RangeError} `n` not an integer from 1 to Latch.MAX
   * @throws {FastipcError} ERR_FASTIPC_LATCH_UNDERFLOW if `n` is more than the count (which stays as it was)
   */
  countDown(n = 1): void {
    if (n !== 1) checkInteger(n, 'n', 1, LATCH_MAX);
    const v = this.view;
    let count = Atomics.load(v, COUNT);
    for (;;) {
      if (n > count) {
        throw new FastipcError(
          'ERR_FASTIPC_LATCH_UNDERFLOW',
          `Latch.countDown(${n}): the count is ${count}` + (count === OPEN ? ' (open already)' : ''),
        );
      }
      const seen = Atomics.compareExchange(v, COUNT, count, count - n);
      if (seen === count) break;
      count = seen;
    }
    if (count === n && Atomics.load(v, SLEEPERS) > 0) this.impl.wake(v, COUNT, Infinity);
  }

  /**
   * Waits until the count is zero; blocks the calling thread.
   * @returns true at once if it is zero, true when it reaches zero, false only when the timeout passed
   * @throws {TypeError|RangeError} bad options
   */
  wait(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    if (Atomics.load(this.view, COUNT) === OPEN) return true;
    return waitSync(this.impl, this.view, this.opened, 0, deadlineOf(options));
  }

  /**
   * As wait(), without blocking the event loop.
   * @returns a promise of the same result; it rejects with `signal.reason` on abort, and
   *   with a FastipcError ERR_FASTIPC_CLOSED if the memory is closed meanwhile
   */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    if (Atomics.load(this.view, COUNT) === OPEN) return true;
    return waitAsync(this.impl, this.view, this.opened, 0, deadlineOf(options), signal);
  }

  /** @internal Before the memory is closed under pending async waits (NamedLatch#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(SLEEPERS);
  }

  /** The count still to come; 0 once open. */
  get count(): number {
    return Atomics.load(this.view, COUNT);
  }
}
