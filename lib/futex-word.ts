/**
 * FutexWord: one raw 32-bit word to wait and wake on, like Atomics.wait / notify, on
 * either backend.
 *
 * | offset | meaning                                                  |
 * |--------|----------------------------------------------------------|
 * | +0     | the word: any int32 (unsigned inputs are taken mod 2^32) |
 */
import { selectBackend, type Backend, type BackendName, type PrimitiveOptions, type WaitResult } from './backend';
import { checkAsyncWaitOptions, type AsyncWaitOptions } from './header';
import { region, type Memory } from './memory';
import { checkInteger, checkTimeout } from './validate';

const WORD_MIN = -(2 ** 31);
const WORD_MAX = 2 ** 32 - 1;

export class FutexWord {
  static readonly BYTES = 4 as const;
  /** The backend that `wait` and `wake` use. */
  readonly backend: BackendName;
  private readonly view: Int32Array;
  private readonly impl: Backend;

  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    const r = region(memory, byteOffset, FutexWord.BYTES, 4, 'FutexWord');
    this.impl = selectBackend(r, options, 'FutexWord');
    this.backend = this.impl.name;
    this.view = new Int32Array(r.buffer, r.offset, 1);
  }

  load(): number {
    return Atomics.load(this.view, 0);
  }

  store(value: number): void {
    Atomics.store(this.view, 0, checkInteger(value, 'value', WORD_MIN, WORD_MAX));
  }

  /**
   * Sleeps while the word equals `expected`: 'not-equal' at once if it does not,
   * 'ok' when woken (possibly spuriously), 'timed-out' after `timeout` ms.
   */
  wait(expected: number, timeout?: number): WaitResult {
    const value = checkInteger(expected, 'expected', WORD_MIN, WORD_MAX) | 0;
    return this.impl.wait(this.view, 0, value, checkTimeout(timeout));
  }

  /** As wait(), without blocking the event loop; `signal` aborts (rejects with its reason). */
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
