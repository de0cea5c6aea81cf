/**
 * Barrier: a cyclic barrier of N parties; each wait() arrives, and sleeps until all N of
 * its generation have; exactly one of them (the last to arrive) is told so ('last').
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field    | meaning                                                       |
 * |--------|----------|---------------------------------------------------------------|
 * | +0     | magic    | 'BARR'                                                        |
 * | +4     | version  | layout version (1); 0 while being initialised                 |
 * | +8     | state    | the futex word: bits 0-15 ARRIVED (parties of this generation |
 * |        |          | that have arrived and not withdrawn, 0 to parties-1); bits    |
 * |        |          | 16-30 the GENERATION (mod 2^15); bit 31 always 0              |
 * | +12    | sleepers | threads in or about to enter a wait on state                  |
 * | +16    | parties  | N, 1 to 65535 (2^16-1: ARRIVED must hold N-1); set on creation |
 * | +20..63| reserved | zero                                                          |
 *
 * Transitions, each one CAS on state (so they are totally ordered):
 * - arrive (g, a) -> (g, a+1) while a+1 < N: the caller then sleeps until the generation
 *   is no longer g;
 * - complete (g, N-1) -> (g+1, 0): the N-th arrival; its caller is 'last', and wakes every
 *   sleeper if `sleepers` is non-zero (no syscall when nobody sleeps);
 * - withdraw (g, a) -> (g, a-1): a waiter whose timeout passed (or whose async wait was
 *   aborted) takes its arrival back, only while the generation is still g; if it is not,
 *   the generation completed with this waiter counted, and the wait returns true.
 * Why exactly one 'last' per generation: completion is the only transition that leaves g,
 * and only one CAS can succeed from (g, N-1). Why nobody passes g early: a waiter returns
 * true only once it has seen a generation other than g, which only the completing CAS
 * makes, when N arrivals are counted. A withdrawn arrival is no longer counted, so a
 * timeout never lets the others through short of a party, and never wedges them either.
 * No lost wake: a sleeper counts itself in `sleepers` before it reads state, and the
 * completer changes state before it reads `sleepers` (sequentially consistent Atomics):
 * either the sleeper sees the new generation or the completer sees the sleeper; a sleeper
 * not yet in the futex wait finds the word changed and does not sleep.
 * Limits: a party killed after arriving stays counted (the generation completes with it);
 * one killed before arriving leaves the others waiting until their timeouts. A waiter
 * tells its generation from the next ones by 15 bits: with more threads than parties,
 * 32768 generations passing during one wait would go unseen, and if that wait then timed
 * out, its withdrawal would take back an arrival of a later generation (which then needs
 * one more party).
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import type { Memory } from '../core/memory';
import { checkInteger, checkOptions } from '../core/validate';
import { defineKind } from './kinds';
import { Primitive } from './primitive';
import { waitAsync, waitSync, type WaitProtocol } from './wait';

/** Word indexes (int32) from byteOffset. */
const STATE = 2;
const SLEEPERS = 3;
const PARTIES = 4;
const ARRIVED_MASK = 0xffff;
const GENERATION_SHIFT = 16;
const GENERATION_ONE = 1 << GENERATION_SHIFT;
const GENERATION_MASK = 0x7fff0000;
export const BARRIER_MAX_PARTIES = ARRIVED_MASK; // ARRIVED holds parties-1 at most
/** What arrive() returns to the party that completed the generation (generations are >= 0). */
const LAST = -1;

const arrivedOf = (state: number) => state & ARRIVED_MASK;
const generationOf = (state: number) => (state & GENERATION_MASK) >>> GENERATION_SHIFT;

export const BARRIER_KIND = defineKind({
  name: 'Barrier',
  tag: 'BARR',
  bytes: 64,
  named: 'barrier',
  fields: [
    { name: 'state', meaning: (v) => `generation ${generationOf(v)}, ${arrivedOf(v)} arrived` },
    { name: 'sleepers' },
    { name: 'parties' },
  ],
  decode: (w) => ({
    parties: w[PARTIES],
    arrived: arrivedOf(w[STATE]),
    generation: generationOf(w[STATE]),
    sleepers: w[SLEEPERS],
  }),
  describe: (s) => `${s.arrived} of ${s.parties} arrived, generation ${s.generation}`,
});

/** Options of a Barrier. */
export interface BarrierOptions extends PrimitiveOptions {
  /**
   * How many parties each generation waits for, 1 to Barrier.MAX_PARTIES. Stored when the
   * barrier is created; attaching with another number is a TypeError.
   */
  parties: number;
}

/** @internal Validates the options that a Barrier reads (its Named form checks them before opening). */
export function barrierParties(options: Partial<BarrierOptions>): number {
  return checkInteger(options.parties, 'parties', 1, BARRIER_MAX_PARTIES);
}

/**
 * A cyclic barrier over shared memory: each of `parties` threads or processes calls
 * `wait()`, and all of them go on once the last has arrived; then the next generation begins.
 * A wait that times out (or an async one that is aborted) takes its arrival back, so the
 * others still need a full set of parties.
 *
 * @example
 * const step = new Barrier(sab, 0, { parties: 4 });   // in each of 4 workers
 * for (;;) { compute(); if (step.wait() === 'last') publish(); }
 */
export class Barrier extends Primitive {
  /** Bytes of memory a Barrier takes. */
  static readonly BYTES = 64 as const;
  /** The most parties a Barrier can have: 65535. */
  static readonly MAX_PARTIES = BARRIER_MAX_PARTIES;
  private readonly n: number;
  private readonly released: WaitProtocol;
  /** Generations of this handle's async waits in progress (close() takes their arrivals back). */
  private readonly pending: number[] = [];

  /**
   * Creates the barrier at `byteOffset` in `memory` if the memory there is zeroed, or
   * attaches to the one already there (which must have as many parties).
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Barrier.BYTES bytes within it
   * @throws {TypeError} memory of another kind, another primitive at that offset, `parties`
   *   not a number or not the number of the barrier already there
   * @throws {RangeError} a misaligned or out-of-bounds offset, `parties` not an integer from 1 to MAX_PARTIES
   */
  constructor(memory: Memory, byteOffset = 0, options: BarrierOptions) {
    const opts = checkOptions<BarrierOptions>(options);
    const parties = barrierParties(opts);
    super(BARRIER_KIND, memory, byteOffset, opts, (view) => Atomics.store(view, PARTIES, parties));
    const stored = Atomics.load(this.view, PARTIES);
    if (stored !== parties) {
      throw new TypeError(`the Barrier at byteOffset ${byteOffset} has ${stored} parties, not ${parties}`);
    }
    this.n = parties;
    // ctx: the generation this waiter arrived in (state & GENERATION_MASK)
    this.released = {
      index: STATE,
      slice: () => Infinity,
      grab: (gen) => (Atomics.load(this.view, STATE) & GENERATION_MASK) !== gen,
      enter: () => this.addSleeper(SLEEPERS),
      attempt: (gen) => {
        const state = Atomics.load(this.view, STATE);
        return (state & GENERATION_MASK) !== gen || state;
      },
      recheck: () => false, // the caller withdraws (it knows the generation)
      exit: () => void this.removeSleeper(SLEEPERS), // completion wakes every sleeper: nothing to pass on
    };
  }

  /**
   * Arrives, and waits until every party of this generation has; blocks the calling thread.
   * @returns 'last' to the party whose arrival completed the generation (at once), true to
   *   the others once it completed, false when the timeout passed first (the arrival is then
   *   taken back; `timeout: 0` succeeds for the last party, or if the generation completes
   *   before the call can take its arrival back)
   * @throws {TypeError|RangeError} bad options (before arriving)
   */
  wait(options?: WaitOptions): boolean | 'last' {
    if (options !== undefined) checkWaitOptions(options);
    const deadline = deadlineOf(options);
    const gen = this.arrive();
    if (gen === LAST) return 'last';
    let released: boolean;
    try {
      released = waitSync(this.impl, this.view, this.released, gen, deadline);
    } catch (err) {
      this.withdraw(gen); // (a failed wait takes its arrival back too, as the async one does)
      throw err;
    }
    return released || this.withdraw(gen);
  }

  /**
   * As wait(), without blocking the event loop.
   * @returns a promise of the same result; on abort it rejects with `signal.reason` and the
   *   arrival is taken back, unless the generation had completed already (then true); it
   *   rejects with a FastipcError ERR_FASTIPC_CLOSED if the memory is closed meanwhile
   */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean | 'last'> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    const deadline = deadlineOf(options);
    const gen = this.arrive();
    if (gen === LAST) return 'last';
    this.pending.push(gen);
    let released: boolean;
    try {
      released = await waitAsync(this.impl, this.view, this.released, gen, deadline, signal);
    } catch (err) {
      if (this.memoryClosed) throw err; // close() took the arrival back
      this.pending.splice(this.pending.indexOf(gen), 1);
      if (this.withdraw(gen)) return true; // it had passed before the abort took effect
      throw err;
    }
    this.pending.splice(this.pending.indexOf(gen), 1);
    return released || this.withdraw(gen);
  }

  /** Counts this party in; LAST if that completed the generation (then wakes the sleepers), else the generation. */
  private arrive(): number {
    const v = this.view;
    let state = Atomics.load(v, STATE);
    for (;;) {
      const gen = state & GENERATION_MASK;
      // (an ARRIVED past N-1 is corrupt: the next arrival completes it)
      const last = arrivedOf(state) + 1 >= this.n;
      const next = last ? (gen + GENERATION_ONE) & GENERATION_MASK : state + 1;
      const seen = Atomics.compareExchange(v, STATE, state, next);
      if (seen === state) {
        if (!last) return gen;
        if (Atomics.load(v, SLEEPERS) > 0) this.impl.wake(v, STATE, Infinity);
        return LAST;
      }
      state = seen;
    }
  }

  /** Takes back an arrival in generation `gen`; true if that generation completed first (the party passed). */
  private withdraw(gen: number): boolean {
    const v = this.view;
    let state = Atomics.load(v, STATE);
    for (;;) {
      if ((state & GENERATION_MASK) !== gen) return true;
      if (arrivedOf(state) === 0) return false; // corrupt: no arrival of ours to take back
      const seen = Atomics.compareExchange(v, STATE, state, state - 1);
      if (seen === state) return false;
      state = seen;
    }
  }

  /** @internal Before the memory is closed under pending async waits (NamedBarrier#close): they withdraw. */
  protected releaseMemory(_lastInThread: boolean): void {
    if (this.memoryClosed) return;
    for (const gen of this.pending) this.withdraw(gen);
    this.pending.length = 0;
    this.dropSleepers(SLEEPERS);
  }

  /** How many parties each generation waits for (as stored when the barrier was created). */
  get parties(): number {
    return Atomics.load(this.view, PARTIES);
  }

  /** Generations completed so far, modulo 2^15. */
  get generation(): number {
    return generationOf(Atomics.load(this.view, STATE));
  }

  /** Parties that have arrived in the current generation (and not withdrawn). */
  get waiting(): number {
    return arrivedOf(Atomics.load(this.view, STATE));
  }
}
