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
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import type { Memory } from '../core/memory';
import { defineKind } from './kinds';
import { Primitive } from './primitive';
import { waitAsync, waitSync, type WaitProtocol } from './wait';

/** Word indexes (int32) from byteOffset (the demo reads SLEEPERS to see everyone asleep). */
export const EVENT_WORDS = { STATE: 2, SLEEPERS: 3 } as const;
const { STATE, SLEEPERS } = EVENT_WORDS;
const SET = 1;
const GENERATION = 2;
const GENERATION_MASK = 0x7ffffffe;

export const EVENT_KIND = defineKind({
  name: 'Event',
  tag: 'EVNT',
  bytes: 64,
  named: 'event',
  fields: [
    { name: 'state', meaning: (v) => `${v & SET ? 'set' : 'clear'}, generation ${v >>> 1}` },
    { name: 'sleepers' },
  ],
  decode: (w) => ({ set: (w[STATE] & SET) !== 0, generation: w[STATE] >>> 1, sleepers: w[SLEEPERS] }),
  describe: (s) => (s.set ? 'set' : 'clear') + (s.sleepers ? `, ${s.sleepers} waiting` : ''),
});

/**
 * A manual-reset event over shared memory: `set()` releases every waiter, and every later
 * `wait()` returns at once, until `clear()`.
 *
 * @example
 * const ready = new Event(new SharedArrayBuffer(Event.BYTES));
 * // in a worker: ready.wait();   // in the main thread, when ready:
 * ready.set();
 */
export class Event extends Primitive {
  /** Bytes of memory an Event takes. */
  static readonly BYTES = 64 as const;
  private readonly setWait: WaitProtocol;

  /**
   * Creates the event (clear) at `byteOffset` in `memory` if the memory there is zeroed, or
   * attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Event.BYTES bytes within it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super(EVENT_KIND, memory, byteOffset, options, () => {});
    // ctx: the state when the wait began; any change since is a set() (a set-clear pulse too)
    this.setWait = {
      index: STATE,
      slice: () => Infinity,
      grab: (start) => Atomics.load(this.view, STATE) !== start,
      enter: () => this.addSleeper(SLEEPERS),
      attempt: (start) => {
        const state = Atomics.load(this.view, STATE);
        return state !== start || state;
      },
      recheck: () => false,
      exit: () => void this.removeSleeper(SLEEPERS), // set() wakes every sleeper: nothing to pass on
    };
  }

  /** Sets the event and wakes every waiter; no system call when nobody waits. */
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

  /** Clears the event; waits from now on sleep until the next set(). */
  clear(): void {
    Atomics.and(this.view, STATE, GENERATION_MASK);
  }

  /** Whether the event is set. */
  get isSet(): boolean {
    return (Atomics.load(this.view, STATE) & SET) !== 0;
  }

  /**
   * Waits until the event is set; blocks the calling thread.
   * @returns true at once if it is set, true when a set() came (even if clear() followed at
   *   once), false only when the timeout passed
   * @throws {TypeError|RangeError} bad options
   */
  wait(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    const state = Atomics.load(this.view, STATE);
    if (state & SET) return true;
    return waitSync(this.impl, this.view, this.setWait, state, deadlineOf(options));
  }

  /**
   * As wait(), without blocking the event loop.
   * @returns a promise of the same result; it rejects with `signal.reason` on abort, and
   *   with a FastipcError ERR_FASTIPC_CLOSED if the memory is closed meanwhile
   */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    const state = Atomics.load(this.view, STATE);
    if (state & SET) return true;
    return waitAsync(this.impl, this.view, this.setWait, state, deadlineOf(options), signal);
  }

  /** @internal Before the memory is closed under pending async waits (NamedEvent#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(SLEEPERS);
  }
}
