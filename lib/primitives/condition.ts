/**
 * Condition: a condition variable used with a Mutex, like pthread_cond_t: a sequence word
 * that every notify moves, so that a notify between a waiter's unlock and its sleep is
 * never lost.
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field    | meaning                                                       |
 * |--------|----------|---------------------------------------------------------------|
 * | +0     | magic    | 'COND'                                                        |
 * | +4     | version  | layout version (1); 0 while being initialised                 |
 * | +8     | seq      | the futex word: notifications so far (wraps at 2^32)          |
 * | +12    | sleepers | threads in or about to enter a wait on seq                    |
 * | +16..63| reserved | zero                                                          |
 *
 * wait(mutex), holding the mutex:
 *   s = load(seq); unlock(mutex); sleep while seq == s; lock(mutex)
 * notifyOne() / notifyAll():
 *   seq += 1; wake(1) / wake(all) if sleepers > 0
 *
 * Proof sketch (no lost notify). A notifier that runs after the waiter read `s` moves seq
 * away from `s` (seq_cst add), so the waiter's sleep on `seq == s` either returns at once
 * (the kernel or V8 compares under its queue lock) or the waiter was already queued and the
 * wake finds it: the waiter counts itself in `sleepers` before it compares, and the notifier
 * reads `sleepers` after its add, so at least one of them sees the other (both seq_cst). A
 * notify that came before `s` was read happened before the wait, while the waiter held the
 * mutex or before it took it, and the waiter's caller, which checks its predicate under the
 * mutex, sees its effect: that is the contract of every condition variable, and why callers
 * loop (or use waitFor).
 *
 * Semantics (as pthread_cond_t):
 * - spurious wakeups are allowed: a wait may return true without a notify aimed at it (a
 *   waiter looks at seq every 200 ms, so a notifyOne whose wake reached a waiter that then
 *   left, an aborted async wait or a killed process, still releases one within 200 ms; and
 *   any waiter that looks after a notify returns);
 * - the wait returns with the mutex held again, on a timeout (false) too, and when the wait
 *   fails (abort, closed condition memory: the error comes after the relock), unless the
 *   mutex itself is closed meanwhile (a NamedMutex: its ERR_FASTIPC_CLOSED then). If the
 *   mutex's holder died meanwhile, the relock takes it over and `mutex.recovered` is true;
 *   waitFor then returns at once (with what the predicate says), so the caller sees it
 *   before anything else unlocks the mutex (an unlock ends `recovered`);
 * - notifyOne wakes at least one waiter if any waits; notifyAll wakes every waiter that was
 *   waiting when it was called; neither is remembered for later waiters;
 * - seq wraps after 2^32 notifies: a waiter that sleeps through exactly 2^32 of them (and no
 *   wake) would sleep on, as with every sequence-based condition variable (glibc's too).
 * A waiter killed while counted leaves `sleepers` too high: later notifies then make a wake
 * call for nobody, which costs a syscall but is never wrong.
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, remaining, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import type { Memory } from '../core/memory';
import { checkFunction } from './guard';
import { defineKind } from './kinds';
import { Mutex } from './mutex';
import { Primitive } from './primitive';
import { waitAsync, waitSync, type WaitProtocol } from './wait';

const SEQ = 2;
const SLEEPERS = 3;
/** Longest sleep between looks at seq. */
const RECHECK_MS = 200;

export const CONDITION_KIND = defineKind({
  name: 'Condition',
  tag: 'COND',
  bytes: 64,
  named: 'condition',
  fields: [{ name: 'seq', meaning: (v) => `${v >>> 0} notifications` }, { name: 'sleepers' }],
  decode: (w) => ({ notifications: w[SEQ] >>> 0, sleepers: w[SLEEPERS] }),
  describe: (s) => (s.sleepers ? `${s.sleepers} waiting` : 'nobody waiting') + `, ${s.notifications} notifications`,
});

/**
 * A condition variable over shared memory, used with a Mutex (of any memory): a thread that
 * holds the mutex waits for a change that another thread makes under the same mutex and
 * announces with notifyOne() or notifyAll(). Wakeups may be spurious: wait in a loop on the
 * predicate, or use waitFor().
 *
 * @example
 * const sab = new SharedArrayBuffer(128);
 * const m = new Mutex(sab, 0), nonEmpty = new Condition(sab, 64);
 * // consumer                                   // producer
 * m.lock();                                     m.withLock(() => { push(job); nonEmpty.notifyOne(); });
 * nonEmpty.waitFor(m, () => queueLength() > 0);
 * const job = pop(); m.unlock();
 */
export class Condition extends Primitive {
  /** Bytes of memory a Condition takes. */
  static readonly BYTES = 64 as const;
  private readonly seqWait: WaitProtocol;

  /**
   * Creates the condition at `byteOffset` in `memory` if the memory there is zeroed, or
   * attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Condition.BYTES bytes within it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super(CONDITION_KIND, memory, byteOffset, options, () => {});
    // ctx: seq when the wait began (read while the mutex was held); any change is a notify
    this.seqWait = {
      index: SEQ,
      // bounded: a wake that went to a waiter which then left (an aborted async wait that V8
      // still lists, a killed process) is made good by the next look at seq
      slice: () => RECHECK_MS,
      grab: (start) => Atomics.load(this.view, SEQ) !== start,
      enter: () => this.addSleeper(SLEEPERS),
      attempt: (start) => {
        const seq = Atomics.load(this.view, SEQ);
        return seq !== start || seq;
      },
      recheck: () => false,
      // a wait that was woken returns true (attempt sees seq moved); an aborted one that a
      // wake reached has it passed on by the backend; the slices cover the rest
      exit: () => void this.removeSleeper(SLEEPERS),
    };
  }

  /**
   * Releases `mutex`, sleeps until notified (or the timeout), and takes `mutex` again
   * before returning, whatever the outcome; blocks the calling thread.
   * @param mutex a Mutex that the calling thread holds
   * @returns true when notified (or woken spuriously), false when the timeout passed
   * @throws {FastipcError} ERR_FASTIPC_NOT_OWNER unless the calling thread holds `mutex` (nothing changes)
   * @throws {TypeError|RangeError} `mutex` not a Mutex, bad options
   */
  wait(mutex: Mutex, options?: WaitOptions): boolean {
    checkMutex(mutex, 'wait');
    if (options !== undefined) checkWaitOptions(options);
    const deadline = deadlineOf(options);
    const seq = Atomics.load(this.view, SEQ);
    mutex.unlock();
    try {
      return waitSync(this.impl, this.view, this.seqWait, seq, deadline);
    } finally {
      mutex.lock();
    }
  }

  /**
   * As wait(), without blocking the event loop: the calling thread holds `mutex` again when
   * the promise settles (also when it rejects).
   * @returns a promise of true when notified, false when the timeout passed; it rejects with
   *   `signal.reason` on abort, and with ERR_FASTIPC_CLOSED if the memory is closed meanwhile
   * @throws {FastipcError} ERR_FASTIPC_NOT_OWNER (rejects) unless the calling thread holds `mutex`
   */
  async waitAsync(mutex: Mutex, options?: AsyncWaitOptions): Promise<boolean> {
    checkMutex(mutex, 'waitAsync');
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    const deadline = deadlineOf(options);
    const seq = Atomics.load(this.view, SEQ);
    mutex.unlock();
    try {
      return await waitAsync(this.impl, this.view, this.seqWait, seq, deadline, signal);
    } finally {
      await mutex.lockAsync();
    }
  }

  /**
   * Waits (as wait()) until `predicate()` is true, checking it under `mutex` before each
   * wait: the loop every condition variable needs, with one deadline for all its waits.
   * @returns true when `predicate()` returned true, false when the timeout passed first
   *   (then `predicate()` was false at its last check); `mutex` is held in both cases. When
   *   a wait's relock took the mutex over from a dead holder it returns at once, with what
   *   `predicate()` says, so that the caller sees `mutex.recovered`
   */
  waitFor(mutex: Mutex, predicate: () => boolean, options?: WaitOptions): boolean {
    checkMutex(mutex, 'waitFor');
    checkFunction(predicate, 'Condition.waitFor(mutex, predicate)');
    if (options !== undefined) checkWaitOptions(options);
    const deadline = deadlineOf(options);
    while (!predicate()) {
      const left = remaining(deadline);
      if (left === 0) return false;
      const notified = this.wait(mutex, { timeout: left });
      if (mutex.recovered) return predicate(); // the caller repairs first
      if (!notified && !predicate()) return false;
    }
    return true;
  }

  /**
   * As waitFor(), without blocking the event loop (each wait is a waitAsync()).
   * @returns a promise of the same result; `mutex` is held when it settles
   */
  async waitForAsync(mutex: Mutex, predicate: () => boolean, options?: AsyncWaitOptions): Promise<boolean> {
    checkMutex(mutex, 'waitForAsync');
    checkFunction(predicate, 'Condition.waitForAsync(mutex, predicate)');
    const signal = checkAsyncWaitOptions(options);
    const deadline = deadlineOf(options);
    while (!predicate()) {
      const left = remaining(deadline);
      if (left === 0) return false;
      const notified = await this.waitAsync(mutex, { timeout: left, signal });
      if (mutex.recovered) return predicate(); // the caller repairs first
      if (!notified && !predicate()) return false;
    }
    return true;
  }

  /** Wakes one waiter, if any waits; no system call when nobody waits. */
  notifyOne(): void {
    Atomics.add(this.view, SEQ, 1);
    if (Atomics.load(this.view, SLEEPERS) > 0) this.impl.wake(this.view, SEQ, 1);
  }

  /** Wakes every waiter; no system call when nobody waits. */
  notifyAll(): void {
    Atomics.add(this.view, SEQ, 1);
    if (Atomics.load(this.view, SLEEPERS) > 0) this.impl.wake(this.view, SEQ, Infinity);
  }

  /** @internal Before the memory is closed under pending async waits (NamedCondition#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(SLEEPERS);
  }
}

/** A Mutex (of this copy of fastipc, or of another one loaded in the same thread). */
function checkMutex(mutex: unknown, method: string): void {
  const m = mutex as Partial<Mutex> | null;
  const ok =
    mutex instanceof Mutex ||
    (typeof m === 'object' &&
      m !== null &&
      typeof m.lock === 'function' &&
      typeof m.unlock === 'function' &&
      typeof m.lockAsync === 'function');
  if (!ok) throw new TypeError(`Condition.${method}(mutex): mutex must be a Mutex`);
}
