/**
 * Semaphore: a counting semaphore. Waiters take a token by CAS(count -> count-1); with
 * none, they register as sleepers and sleep on the count word while it is 0. post(n)
 * adds n tokens and wakes min(n, sleepers) threads, and makes no syscall when nobody
 * sleeps (glibc's sem_t made ~1.4 futex calls per token under a fast producer here; a
 * registered-sleeper count made 58 per million).
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field    | meaning                                                       |
 * |--------|----------|---------------------------------------------------------------|
 * | +0     | magic    | 'SEMA'                                                        |
 * | +4     | version  | layout version (1); 0 while being initialised                 |
 * | +8     | count    | the futex word: tokens available, 0 to 2^31-1                 |
 * | +12    | sleepers | threads in or about to enter a wait on count; 0 to 2^31-1     |
 * | +16..63| reserved | zero                                                          |
 *
 * Why no token can sit unused while a waiter sleeps: a sleeper increments `sleepers`
 * before it re-checks `count`, and post() adds to `count` before it reads `sleepers`;
 * Atomics are sequentially consistent, so either the sleeper sees the token or the
 * poster sees the sleeper and wakes it. A woken waiter takes a token if one is there
 * before it looks at its deadline; a waiter that still leaves without one while tokens
 * remain and others sleep wakes one of them in its place, so a wake is never absorbed.
 */
import type { PrimitiveOptions } from './backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, remaining, type AsyncWaitOptions, type WaitOptions } from './header';
import { closedError } from './errors';
import type { Memory } from './memory';
import { Primitive } from './primitive';
import { Spinner } from './spin';
import { checkInteger, checkOptions } from './validate';

/** Word indexes (int32) from byteOffset; lib/inspect.ts reads them too. */
export const SEMAPHORE_WORDS = { COUNT: 2, SLEEPERS: 3 } as const;
const { COUNT, SLEEPERS } = SEMAPHORE_WORDS;
export const SEMAPHORE_MAX = 2147483647; // 2^31 - 1: the count is an int32
/** Longest sleep before a waiter looks at the count again (see waitContended). */
const RECHECK_MS = 200;
const ASYNC_RECHECK_MS = () => 4000 + Math.random() * 2000;

export interface SemaphoreOptions extends PrimitiveOptions {
  /** Tokens of a new semaphore (default 0); ignored when attaching to an existing one. */
  initial?: number;
}

export class Semaphore extends Primitive {
  static readonly BYTES = 64 as const;
  static readonly MAX = SEMAPHORE_MAX;
  private readonly spinner = new Spinner();

  constructor(memory: Memory, byteOffset = 0, options?: SemaphoreOptions) {
    const opts = checkOptions<SemaphoreOptions>(options);
    const initial = opts.initial === undefined ? 0 : checkInteger(opts.initial, 'initial', 0, SEMAPHORE_MAX);
    super('Semaphore', memory, byteOffset, opts, (view) => Atomics.store(view, COUNT, initial));
  }

  /** Adds `n` tokens (default 1) and wakes up to `n` sleepers. */
  post(n = 1): void {
    if (n !== 1) checkInteger(n, 'n', 1, SEMAPHORE_MAX);
    const v = this.view;
    let count = Atomics.load(v, COUNT);
    for (;;) {
      if (count > SEMAPHORE_MAX - n) {
        throw new RangeError(`Semaphore.post(${n}): the count ${count} would pass the maximum ${SEMAPHORE_MAX}`);
      }
      const seen = Atomics.compareExchange(v, COUNT, count, count + n);
      if (seen === count) break;
      count = seen;
    }
    const sleepers = Atomics.load(v, SLEEPERS);
    if (sleepers > 0) this.impl.wake(v, COUNT, Math.min(n, sleepers));
  }

  /** Takes a token, sleeping until one comes. False only when the timeout passed. */
  wait(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    const count = Atomics.load(this.view, COUNT);
    if (count > 0 && Atomics.compareExchange(this.view, COUNT, count, count - 1) === count) return true;
    return this.waitContended(deadlineOf(options));
  }

  /** Takes a token if one is there; never sleeps. */
  tryWait(): boolean {
    const v = this.view;
    let count = Atomics.load(v, COUNT);
    while (count > 0) {
      const seen = Atomics.compareExchange(v, COUNT, count, count - 1);
      if (seen === count) return true;
      count = seen;
    }
    return false;
  }

  /** As wait(), without blocking the event loop; `signal` aborts and restores the sleepers count. */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    signal?.throwIfAborted();
    if (this.tryWait()) return true;
    const deadline = deadlineOf(options);
    if (remaining(deadline) === 0) return false;
    const v = this.view;
    this.addSleeper(SLEEPERS);
    try {
      for (;;) {
        if (this.tryWait()) {
          this.removeSleeper(SLEEPERS);
          return true;
        }
        const left = remaining(deadline);
        if (left === 0) break;
        const count = Atomics.load(v, COUNT);
        // (async waits look again far less often than sync ones: a thousand pending waits
        // that all woke every 200 ms would shake the event loop)
        if (count <= 0) await this.impl.waitAsync(v, COUNT, count, Math.min(left, ASYNC_RECHECK_MS()), signal);
      }
    } catch (err) {
      if (this.memoryClosed) throw closedError(); // leave the (gone) memory alone
      this.leaveWithoutToken();
      throw err;
    }
    this.leaveWithoutToken();
    return false;
  }

  /** @internal Before the memory is closed under pending async waits (NamedSemaphore#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(SLEEPERS);
  }

  /** Tokens available now. */
  get value(): number {
    return Atomics.load(this.view, COUNT);
  }

  private waitContended(deadline: number): boolean {
    const v = this.view;
    if (remaining(deadline) === 0) return this.tryWait(); // timeout 0: never sleep, nor spin
    for (let i = this.spinner.budget(); i > 0; i--) {
      if (Atomics.load(v, COUNT) > 0 && this.tryWait()) {
        this.spinner.succeeded();
        return true;
      }
    }
    this.spinner.failed();
    if (this.tryWait()) return true;

    this.addSleeper(SLEEPERS);
    for (;;) {
      if (this.tryWait()) {
        this.removeSleeper(SLEEPERS);
        return true;
      }
      const left = remaining(deadline);
      if (left === 0) break;
      // Sleep on the count we saw: 0, or a corrupt negative one (never spin on it). Wake
      // to look again every RECHECK_MS: a waiter that was woken for a token and then
      // died must not leave the token to sit while we sleep.
      const count = Atomics.load(v, COUNT);
      if (count <= 0) this.impl.wait(v, COUNT, count, Math.min(left, RECHECK_MS));
    }
    this.leaveWithoutToken();
    return false;
  }

  /** Unregisters a sleeper; if a token arrived meanwhile and its wake went to us, passes it on. */
  private leaveWithoutToken(): void {
    const v = this.view;
    if (this.removeSleeper(SLEEPERS) > 1 && Atomics.load(v, COUNT) > 0) this.impl.wake(v, COUNT, 1);
  }
}
