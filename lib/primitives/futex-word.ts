/**
 * FutexWord: one raw 32-bit word to wait and wake on, like Atomics.wait / notify, on
 * either backend.
 *
 * | offset | meaning                                                  |
 * |--------|----------------------------------------------------------|
 * | +0     | the word: any int32 (unsigned inputs are taken mod 2^32) |
 */
import { selectBackend, type Backend, type BackendName, type PrimitiveOptions, type WaitResult } from '../backend';
import { checkAsyncWaitOptions, type AsyncWaitOptions } from '../core/deadline';
import { region, type Memory } from '../core/memory';
import { checkInteger, checkTimeout } from '../core/validate';

const WORD_MIN = -(2 ** 31);
const WORD_MAX = 2 ** 32 - 1;

/**
 * One raw 32-bit word to wait and wake on, like Atomics.wait/notify, on either backend
 * (the 'futex' backend works on any memory and between processes). The building block
 * for protocols of your own; the other primitives are built on the same calls.
 *
 * @example
 * const word = new FutexWord(new SharedArrayBuffer(FutexWord.BYTES));
 * // waiter: sleep while the word is 0
 * while (word.load() === 0) word.wait(0, 1000);
 * // waker:
 * word.store(1);
 * word.wake(Infinity);
 */
export class FutexWord {
  /** Bytes of memory a FutexWord takes. */
  static readonly BYTES = 4 as const;
  /** The backend that `wait` and `wake` use. */
  readonly backend: BackendName;
  private readonly view: Int32Array;
  private readonly impl: Backend;

  /**
   * A handle on the word at `byteOffset` in `memory` (its value is left as it is).
   * @param byteOffset a multiple of 4 within the memory (default 0)
   * @throws {TypeError} memory of another kind, the 'atomics' backend on memory that is not a SharedArrayBuffer
   * @throws {RangeError} a misaligned or out-of-bounds offset
   * @throws {FastipcError} ERR_FASTIPC_NO_ADDON for the 'futex' backend without the addon
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    const r = region(memory, byteOffset, FutexWord.BYTES, 4, 'FutexWord');
    this.impl = selectBackend(r, options, 'FutexWord', true);
    this.backend = this.impl.name;
    this.view = new Int32Array(r.buffer, r.offset, 1);
  }

  /** The word's value (an int32). */
  load(): number {
    return Atomics.load(this.view, 0);
  }

  /**
   * Stores `value` (an int32, or a uint32 taken mod 2^32); wakes nobody.
   * @throws {RangeError} a value outside -2^31 .. 2^32-1
   */
  store(value: number): void {
    Atomics.store(this.view, 0, checkInteger(value, 'value', WORD_MIN, WORD_MAX));
  }

  /**
   * Sleeps while the word equals `expected`: 'not-equal' at once if it does not,
   * 'ok' when woken (possibly spuriously: check your condition again), 'timed-out' after
   * `timeout` ms (default Infinity). Blocks the calling thread.
   */
  wait(expected: number, timeout?: number): WaitResult {
    const value = checkInteger(expected, 'expected', WORD_MIN, WORD_MAX) | 0;
    return this.impl.wait(this.view, 0, value, checkTimeout(timeout));
  }

  /**
   * As wait(), without blocking the event loop. An abort rejects with `signal.reason`; a
   * wake this wait had taken goes on to another sleeper.
   */
  async waitAsync(expected: number, options?: AsyncWaitOptions): Promise<WaitResult> {
    const signal = checkAsyncWaitOptions(options);
    const value = checkInteger(expected, 'expected', WORD_MIN, WORD_MAX) | 0;
    return this.impl.waitAsync(this.view, 0, value, checkTimeout(options?.timeout), signal);
  }

  /** Wakes up to `count` sleepers (default 1, Infinity for all); returns how many woke. */
  wake(count = 1): number {
    if (count !== Infinity) checkInteger(count, 'count', 0, 2 ** 31 - 1);
    return this.impl.wake(this.view, 0, count);
  }
}
