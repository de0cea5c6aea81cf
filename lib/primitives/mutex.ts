/**
 * Mutex: Drepper's futex mutex ("Futexes Are Tricky", mutex 3) with the owner's thread
 * id in the lock word, as glibc's robust mutexes keep it, so that taking the lock and
 * naming its owner are one atomic step.
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field      | meaning                                                       |
 * |--------|------------|---------------------------------------------------------------|
 * | +0     | magic      | 'MUTX'                                                        |
 * | +4     | version    | layout version (1); 0 while being initialised                 |
 * | +8     | state      | the futex word, see below                                     |
 * | +12    | owner pid  | the owner record (owner.ts): pid, start time (lo, hi), tid    |
 * | ..+31  | ..owner ns | written last, pid namespace, of the holder                    |
 * | +32..63| reserved   | zero                                                          |
 *
 * state, kept non-negative for JavaScript:
 *   bits 0-28   TID         kernel thread id of the holder; 0 = unlocked
 *   bit  29     OWNER_DIED  the holder died; the new holder took it over (recovered)
 *   bit  30     WAITERS     some thread may sleep on the word: unlock must wake one
 *   bit  31     always 0
 *
 * Transitions:
 *   lock     0 -> tid                       uncontended: one CAS, then plain stores of
 *                                           pid and start time beside it
 *            tid' -> tid' | WAITERS         before sleeping: an atomic OR
 *            0 -> WAITERS                   the same OR, when the lock was just freed:
 *                                           free, with WAITERS kept (TID 0)
 *            0 | WAITERS -> tid | WAITERS   after having slept (or a spinner or tryLock
 *                                           finding WAITERS on a free lock): others may
 *                                           still sleep
 *   unlock   tid -> 0                       uncontended: one CAS, no wake
 *            tid | WAITERS -> 0, wake(1)    we only wake one thread: when it takes the
 *                                           lock it sets WAITERS again, so the others
 *                                           are woken in turn
 *   takeover tid' -> tid | OWNER_DIED | WAITERS   the holder tid' is dead (below)
 *   unlock   tid | OWNER_DIED ... -> 0, wake(1) if WAITERS
 * The owner record (+12..+31, owner.ts) is written after the CAS, and only the fields
 * that are not already this thread's; it is not cleared on unlock: it means something only
 * while TID is non-zero, and a releaser that cleared it after its releasing store could
 * erase the next owner's record (a defect of the Python package).
 *
 * Owner death: sleepers sleep at most CHECK_MS at a time; a wait that ends without a wake,
 * a lock({ timeout: 0 }) or a tryLock() on a held lock asks owner.ts whether the holder
 * still runs. If not, one CAS from the dead holder's word takes the lock over (so only one
 * taker wins), with OWNER_DIED set: `recovered` is true until unlock, like EOWNERDEAD.
 *
 * Waiting is the wait driver's (wait.ts): `lockWait` below is this lock's protocol.
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import { FastipcError } from '../core/errors';
import type { Memory } from '../core/memory';
import { defineKind } from './kinds';
import { Lock } from './guard';
import { describeOwner, OWNER_FIELDS, ownerText, OwnerRecord } from './owner';
import { LOCK_SPIN_MAX, Spinner } from './spin';
import { waitAsync, waitSync, type WaitProtocol } from './wait';

/** Word indexes (int32) from byteOffset. */
const STATE = 2;
const OWNER_PID = 3; // the owner record, +12..+31 (owner.ts): pid, start (lo, hi), tid, ns
const OWNER_START_LO = 4;
const OWNER_START_HI = 5;
const OWNER_TID = 6;

/** Longest sleep between owner checks: a dead holder is found within about this long. */
const CHECK_MS = 200;

const UNLOCKED = 0;
const TID_MASK = 0x1fffffff;
const OWNER_DIED = 0x20000000;
const WAITERS = 0x40000000;

function stateText(state: number): string {
  const tid = state & TID_MASK;
  const parts = [tid ? `tid ${tid}` : 'unlocked'];
  if (state & OWNER_DIED) parts.push('OWNER_DIED');
  if (state & WAITERS) parts.push('WAITERS');
  return parts.join(' | ');
}

export const MUTEX_KIND = defineKind({
  name: 'Mutex',
  tag: 'MUTX',
  bytes: 64,
  named: 'mutex',
  fields: [{ name: 'state', meaning: stateText }, ...OWNER_FIELDS],
  decode: (w) => ({
    locked: (w[STATE] & TID_MASK) !== 0,
    ...describeOwner(w, OWNER_PID, w[STATE] & TID_MASK), // ownerPid, ownerTid, ownerAlive
    ownerDied: (w[STATE] & OWNER_DIED) !== 0,
    waiters: (w[STATE] & WAITERS) !== 0,
  }),
  describe: (s) =>
    (s.locked ? ownerText(s) : 'unlocked') +
    (s.waiters ? ', waiters' : '') +
    (s.locked && s.ownerDied ? ', recovered from a dead owner' : ''),
});

/**
 * A mutual-exclusion lock over shared memory, for the worker threads of a process (over a
 * SharedArrayBuffer) or for processes (over a SharedMemory segment; see NamedMutex). The
 * lock belongs to the calling thread; it is not recursive. A holder that dies (a killed
 * process, a terminated worker) does not wedge it: the next locker takes it over within
 * about 200 ms and sees `recovered` true.
 *
 * @example
 * const m = new Mutex(new SharedArrayBuffer(Mutex.BYTES));
 * m.withLock(() => {
 *   // one thread at a time, across every worker that has this memory
 * });
 * await m.withLockAsync(async () => {
 *   // the same without blocking the event loop
 * });
 */
export class Mutex extends Lock {
  /** Bytes of memory a Mutex takes. */
  static readonly BYTES = 64 as const;
  private readonly tid: number;
  private readonly pid: number;
  private readonly startLo: number;
  private readonly startHi: number;
  private readonly owner: OwnerRecord;
  private readonly lockWait: WaitProtocol;

  /**
   * Creates the mutex (unlocked) at `byteOffset` in `memory` if the memory there is
   * zeroed, or attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 4 with Mutex.BYTES bytes after it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super(MUTEX_KIND, memory, byteOffset, options, () => {});
    this.owner = new OwnerRecord(this.view, OWNER_PID, TID_MASK);
    ({ tid: this.tid, pid: this.pid, startLo: this.startLo, startHi: this.startHi } = this.owner);
    this.lockWait = {
      index: STATE,
      // Spinning while the lock is held (spin.ts): taking it from under sleepers is fine,
      // the one that unlock() woke finds it taken and sets WAITERS again.
      spinner: new Spinner(LOCK_SPIN_MAX),
      slice: () => CHECK_MS,
      grab: () => this.takeFree(Atomics.load(this.view, STATE), 0) === true,
      enter: () => {},
      attempt: () => this.tryAfterSleep(Atomics.load(this.view, STATE)),
      recheck: (state, slept) => this.takeOverIfDead(state, slept),
      exit: (taken) => void (taken || this.leaveWithoutLock()),
    };
  }

  /**
   * Takes the lock, sleeping if need be; blocks the calling thread.
   * @returns true when it holds the lock, false only when the timeout passed
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE when the calling thread holds it already
   * @throws {TypeError|RangeError} bad options
   */
  override lock(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    if (Atomics.compareExchange(this.view, STATE, UNLOCKED, this.tid) === UNLOCKED) {
      this.recordOwner();
      return true;
    }
    if (this.heldByMe(Atomics.load(this.view, STATE))) throw this.recursion('lock');
    return waitSync(this.impl, this.view, this.lockWait, 0, deadlineOf(options));
  }

  /**
   * Takes the lock if it is free, or if its holder died (then `recovered` is true); never sleeps.
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE when the calling thread holds it already
   */
  tryLock(): boolean {
    const state = this.takeFree(UNLOCKED, 0);
    if (state === true) return true;
    if (this.heldByMe(state)) throw this.recursion('tryLock');
    return this.takeOverIfDead(state, false);
  }

  /**
   * Releases the lock and wakes one waiter, if any sleeps.
   * @throws {FastipcError} ERR_FASTIPC_NOT_OWNER unless the calling thread holds it
   */
  override unlock(): void {
    if (Atomics.compareExchange(this.view, STATE, this.tid, UNLOCKED) === this.tid) return;
    this.unlockContended();
  }

  /**
   * As lock(), without blocking the event loop; the calling thread then holds the lock.
   * Unlike lock(), it waits when this thread already holds the lock: another async task of
   * the thread holds it and will release it (a task that awaits a lock it holds itself
   * waits forever, as with any non-recursive async mutex).
   * @returns a promise of true when it holds the lock, false when the timeout passed; it
   *   rejects with `signal.reason` on abort, and with ERR_FASTIPC_CLOSED if the memory is closed
   */
  override async lockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    if (Atomics.compareExchange(this.view, STATE, UNLOCKED, this.tid) === UNLOCKED) {
      this.recordOwner();
      return true;
    }
    return waitAsync(this.impl, this.view, this.lockWait, 0, deadlineOf(options), signal);
  }

  /** Whether some thread holds the lock. */
  get isLocked(): boolean {
    return (Atomics.load(this.view, STATE) & TID_MASK) !== 0;
  }

  /** The holder's pid, 0 when unlocked. */
  get ownerPid(): number {
    if ((Atomics.load(this.view, STATE) & TID_MASK) === 0) return 0;
    return this.owner.ownerPid;
  }

  /** The holder's kernel thread id, 0 when unlocked. */
  get ownerTid(): number {
    return Atomics.load(this.view, STATE) & TID_MASK;
  }

  /**
   * True while the calling thread holds a lock that it took over from a holder that died
   * (like EOWNERDEAD): repair what the lock protects before unlocking.
   */
  get recovered(): boolean {
    const state = Atomics.load(this.view, STATE);
    return (state & OWNER_DIED) !== 0 && this.heldByMe(state);
  }

  /**
   * Releases the lock whoever holds it and wakes a waiter: operators' recovery, like the
   * Python package's force_release. The holder, if alive, no longer holds it.
   */
  forceUnlock(): void {
    this.owner.invalidate();
    if (Atomics.exchange(this.view, STATE, UNLOCKED) & WAITERS) this.impl.wake(this.view, STATE, 1);
  }

  /**
   * @internal Before the memory is closed (NamedMutex#close): a lock this thread holds is
   * released, if no other handle of this thread is left to release it (ownership is the
   * thread's, so two handles of one thread cannot be told apart).
   */
  protected releaseMemory(lastInThread: boolean): void {
    if (lastInThread && this.heldByMe(Atomics.load(this.view, STATE))) this.unlock();
  }

  /** owner.record() with constant indexes (see OwnerRecord#record). */
  private recordOwner(): void {
    const v = this.view;
    const mine = v[OWNER_TID] === this.tid && v[OWNER_START_LO] === this.startLo;
    if (!mine || v[OWNER_PID] !== this.pid || v[OWNER_START_HI] !== this.startHi) this.owner.write();
  }

  /**
   * If `state` is held by a thread that no longer runs, takes the lock over with one CAS
   * and returns true. `slept`: we have just waited CHECK_MS without the state changing,
   * so a check is due; otherwise checks of the same state are rate-limited (owner.ts).
   */
  private takeOverIfDead(state: number, slept: boolean): boolean {
    const tid = state & TID_MASK;
    if (tid === UNLOCKED || !this.owner.holderDead(state, tid, slept)) return false;
    if (Atomics.compareExchange(this.view, STATE, state, this.tid | OWNER_DIED | WAITERS) !== state) return false;
    this.recordOwner();
    return true;
  }

  private heldByMe(state: number): boolean {
    return this.owner.isMine(state & TID_MASK);
  }

  private recursion(method: string): FastipcError {
    return new FastipcError(
      'ERR_FASTIPC_RECURSIVE',
      `Mutex.${method}(): the calling thread already holds this mutex (it is not recursive)`,
    );
  }

  /**
   * One step of the sleeping loop on the observed `state`: take the lock if it is free
   * (true), else make sure WAITERS is set. Returns the state to sleep on (a held one; it
   * may have changed since, and the wait then returns at once). Having (maybe) slept, we
   * cannot know whether others still sleep, so we take the lock with WAITERS set
   * (Drepper's mutex 3 takes it as 2 for the same reason). WAITERS is set with one atomic
   * OR, like mutex 3's exchange(2), not a CAS that a holder relocking at once would keep
   * failing; an OR that finds the lock free leaves it free with WAITERS set (TID 0), which
   * the fast paths never take (they CAS from 0) but every sleeping loop does, as here.
   */
  private tryAfterSleep(state: number): true | number {
    for (;;) {
      const taken = this.takeFree(state, WAITERS);
      if (taken === true) return true;
      if (taken & WAITERS) return taken;
      const old = Atomics.or(this.view, STATE, WAITERS);
      if ((old & TID_MASK) !== UNLOCKED) return old | WAITERS;
      state = old | WAITERS; // it was free: take it
    }
  }

  /**
   * While `state` is free (TID 0: unlocked, or WAITERS alone), tries to take it as our
   * tid with WAITERS kept, and `waiters` added. True when taken; else the held state seen.
   */
  private takeFree(state: number, waiters: number): true | number {
    const v = this.view;
    while ((state & TID_MASK) === UNLOCKED) {
      const seen = Atomics.compareExchange(v, STATE, state, this.tid | (state & WAITERS) | waiters);
      if (seen === state) {
        this.recordOwner();
        return true;
      }
      state = seen;
    }
    return state;
  }

  /**
   * A waiter gives up (timeout, abort). Its last wake may have been an unlock's wake(1)
   * meant to hand the lock on, and the unlock cleared WAITERS: if we just left, sleepers
   * could sleep on while the lock is free, or while a new holder that saw no WAITERS
   * unlocks without waking anyone. So: wake one if the lock is free, else set WAITERS.
   */
  private leaveWithoutLock(): void {
    const v = this.view;
    for (;;) {
      const state = Atomics.load(v, STATE);
      if ((state & TID_MASK) === UNLOCKED) {
        this.impl.wake(v, STATE, 1);
        return;
      }
      if (state & WAITERS || Atomics.compareExchange(v, STATE, state, state | WAITERS) === state) return;
    }
  }

  private unlockContended(): void {
    const state = Atomics.load(this.view, STATE);
    if (!this.heldByMe(state)) {
      throw new FastipcError(
        'ERR_FASTIPC_NOT_OWNER',
        (state & TID_MASK) === UNLOCKED
          ? 'Mutex.unlock(): the mutex is not locked'
          : `Mutex.unlock(): the mutex is held by thread ${state & TID_MASK} of pid ${this.owner.ownerPid}, ` +
              'not by the calling thread',
      );
    }
    if (Atomics.exchange(this.view, STATE, UNLOCKED) & WAITERS) this.impl.wake(this.view, STATE, 1);
  }
}
