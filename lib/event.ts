/**
 * Event: a manual-reset event. set() releases every waiter until clear().
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field    | meaning                                                       |
 * |--------|----------|---------------------------------------------------------------|
 * | +0     | magic    | 'EVNT'                                                        |
 * | +4     | version  | layout version (1); 0 while being initialised                 |
 * | +8     | state    | the futex word: bit 0 SET; bits 1-30 a generation counter     |
 * | +12    | sleepers | threads in or about to enter a wait on state                  |
 * | +16..63| reserved | zero                                                          |
 *
 * state: 0 = clear (fresh). set() turns bit 0 on and, on the clear -> set edge, adds 2
 * (one generation), wrapping within bits 1-30 so the word stays non-negative. clear()
 * turns bit 0 off and keeps the generation. A waiter that sleeps on state s returns true
 * once the generation has moved past s, even if clear() came right after the set():
 * a set() wakes every waiter that was sleeping, as it says, and a quick set-clear pulse is
 * never lost. set() wakes only when `sleepers` is non-zero, so with nobody waiting it
 * makes no syscall.
 */
import type { PrimitiveOptions } from './backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, remaining, type AsyncWaitOptions, type WaitOptions } from './header';
import { closedError } from './errors';
import type { Memory } from './memory';
import { Primitive } from './primitive';

/** Word indexes (int32) from byteOffset, and the SET bit; lib/inspect.ts reads them too. */
export const EVENT_WORDS = { STATE: 2, SLEEPERS: 3 } as const;
export const EVENT_SET = 1;
const { STATE, SLEEPERS } = EVENT_WORDS;
const SET = EVENT_SET;
const GENERATION = 2;
const GENERATION_MASK = 0x7ffffffe;

export class Event extends Primitive {
  static readonly BYTES = 64 as const;

  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super('Event', memory, byteOffset, options, () => {});
  }

  /** Sets the event and wakes every waiter. */
  set(): void {
    const v = this.view;
    let state = Atomics.load(v, STATE);
    for (;;) {
      if (state & SET) return;
      const seen = Atomics.compareExchange(v, STATE, state, ((state + GENERATION) & GENERATION_MASK) | SET);
      if (seen === state) break;
      state = seen;
    }
    if (Atomics.load(v, SLEEPERS) > 0) this.impl.wake(v, STATE, Infinity);
  }

  /** Clears the event; waiters from now on sleep until the next set(). */
  clear(): void {
    Atomics.and(this.view, STATE, GENERATION_MASK);
  }

  get isSet(): boolean {
    return (Atomics.load(this.view, STATE) & SET) !== 0;
  }

  /** Waits until the event is set: true at once if it is; false only when the timeout passed. */
  wait(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    const state = Atomics.load(this.view, STATE);
    if (state & SET) return true;
    return this.waitContended(state, deadlineOf(options));
  }

  /** As wait(), without blocking the event loop; `signal` aborts and restores the sleepers count. */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    signal?.throwIfAborted();
    const v = this.view;
    const start = Atomics.load(v, STATE);
    if (start & SET) return true;
    const deadline = deadlineOf(options);
    if (remaining(deadline) === 0) return false;
    this.addSleeper(SLEEPERS);
    try {
      let state = Atomics.load(v, STATE);
      for (;;) {
        if (state !== start) return true;
        const left = remaining(deadline);
        if (left === 0) return false;
        await this.impl.waitAsync(v, STATE, state, left, signal);
        state = Atomics.load(v, STATE);
      }
    } catch (err) {
      throw this.memoryClosed ? closedError() : err;
    } finally {
      if (!this.memoryClosed) this.removeSleeper(SLEEPERS); // gone with the memory otherwise
    }
  }

  /** @internal Before the memory is closed under pending async waits (NamedEvent#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(SLEEPERS);
  }

  private waitContended(start: number, deadline: number): boolean {
    const v = this.view;
    if (remaining(deadline) === 0) return false;
    this.addSleeper(SLEEPERS);
    try {
      let state = Atomics.load(v, STATE);
      for (;;) {
        if (state !== start) return true; // set, or set and cleared since we came
        const left = remaining(deadline);
        if (left === 0) return false;
        this.impl.wait(v, STATE, state, left);
        state = Atomics.load(v, STATE);
      }
    } finally {
      this.removeSleeper(SLEEPERS);
    }
  }
}
