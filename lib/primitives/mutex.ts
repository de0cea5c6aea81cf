/**
 * Mutex: Drepper's futex mutex ("Futexes Are Tricky", mutex 3) with the owner's thread
 * id in the lock word, robust against dead holders, fair under load. Its words, the
 * transitions of its state word and their proof sketch are the table at the top of
 * mutex-word.ts; this file implements them. Waiting is the wait driver's (wait.ts):
 * `lockWait` below is this lock's protocol.
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import { FastipcError } from '../core/errors';
import type { Memory } from '../core/memory';
import { Lock } from './guard';
import type { Kind } from './kinds';
import { MUTEX_KIND, MUTEX_WORDS as W } from './mutex-word';
import { OwnerRecord } from './owner';
import { LOCK_SPIN_MAX, Spinner } from './spin';
import { starved, TurnQueue, waitAsync, waitSync, wakeStarvers } from './wait';
import type { WaitProtocol } from './wait';

/** Longest sleep between owner checks: a dead holder is found within about this long. */
const CHECK_MS = 200;
/** Longest sleep of a newcomer on a lock reserved for the sleepers (whose taker may be gone). */
const HANDOFF_GRACE_MS = 5;

/**
 * A mutual-exclusion lock over shared memory, for the worker threads of a process (over a
 * SharedArrayBuffer) or for processes (over a SharedMemory segment; see NamedMutex). The
 * lock belongs to the calling thread; it is not recursive. A holder that dies (a killed
 * process, a terminated worker) does not wedge it: the next locker takes it over within
 * about 200 ms and sees `recovered` true.
 *
 * @example
 * const m = new Mutex(new SharedArrayBuffer(Mutex.BYTES));
 * m.withLock(() => updateTheSharedCounters()); // one thread at a time, every worker of this memory
 * await m.withLockAsync(async () => updateTheSharedCounters()); // the same, the event loop free
 */
export class Mutex extends Lock {
  /** Bytes of memory a Mutex takes. */
  static readonly BYTES = 64 as const;
  /** @internal The kind it is made of: a subclass may be another (RwLock's writer lock). */
  protected static readonly KIND: Kind = MUTEX_KIND;
  private readonly tid: number;
  private readonly pid: number;
  private readonly startLo: number;
  private readonly owner: OwnerRecord;
  private readonly lockWait: WaitProtocol;
  private readonly turns = new TurnQueue();
  /** The value the last attempt of lockWait returned is a STARVERS ticket (a starving sync waiter's sleep). */
  private onStarvers = false;

  /**
   * Creates the mutex (unlocked) at `byteOffset` in `memory` if the memory there is
   * zeroed, or attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Mutex.BYTES bytes within it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super((new.target as typeof Mutex).KIND, memory, byteOffset, options, () => {});
    this.owner = new OwnerRecord(this.view, W.OWNER_PID, W.TID_MASK);
    ({ tid: this.tid, pid: this.pid, startLo: this.startLo } = this.owner);
    this.lockWait = {
      index: W.STATE,
      // spin while it is held (spin.ts); the waiter unlock() woke then finds it taken, sets WAITERS
      spinner: new Spinner(LOCK_SPIN_MAX),
      // a free state to sleep on is one reserved for the sleepers: a newcomer sleeps on it briefly
      slice: (_async, state) => ((state & W.TID_MASK) === W.UNLOCKED ? HANDOFF_GRACE_MS : CHECK_MS),
      // a starving sync waiter sleeps on the starvers' queue, which an unlock that hands on wakes first (wait.ts)
      sleepIndex: () => (this.onStarvers ? W.STARVERS : W.STATE),
      grab: () => this.takeFree(Atomics.load(this.view, W.STATE), 0, false) === true,
      enter: () => {},
      attempt: (_ctx, sleptAt, async) => this.tryAfterSleep(Atomics.load(this.view, W.STATE), sleptAt, async),
      recheck: (state, slept) => this.takeOverIfDead(state, slept),
      exit: (taken, queued) => void (taken || queued || this.leaveWithoutLock()),
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
    if (Atomics.compareExchange(this.view, W.STATE, W.UNLOCKED, this.tid) === W.UNLOCKED) {
      this.recordOwner();
      return true;
    }
    if (this.heldByMe(Atomics.load(this.view, W.STATE))) throw this.recursion('lock');
    return waitSync(this.impl, this.view, this.lockWait, 0, deadlineOf(options));
  }

  /**
   * Takes the lock if it is free, or if its holder died (then `recovered` is true); never sleeps.
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE when the calling thread holds it already
   */
  tryLock(): boolean {
    let state = this.takeFree(W.UNLOCKED, 0, false);
    if (state === true) return true;
    if (this.heldByMe(state)) throw this.recursion('tryLock');
    if ((state & W.TID_MASK) === W.UNLOCKED) {
      state = this.voidReservation(state);
      // true: taken; free: it woke a sleeper to take it (not a second voidReservation, to steal it back)
      if (state === true || (state & W.TID_MASK) === W.UNLOCKED) return state === true;
    }
    return this.takeOverIfDead(state, false);
  }

  /**
   * Releases the lock and wakes one waiter, if any sleeps.
   * @throws {FastipcError} ERR_FASTIPC_NOT_OWNER unless the calling thread holds it
   */
  override unlock(): void {
    if (Atomics.compareExchange(this.view, W.STATE, this.tid, W.UNLOCKED) === this.tid) return;
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
    // not ahead of this thread's own queued lockers (FIFO)
    if (this.turns.idle && Atomics.compareExchange(this.view, W.STATE, W.UNLOCKED, this.tid) === W.UNLOCKED) {
      this.recordOwner();
      return true;
    }
    return waitAsync(this.impl, this.view, this.lockWait, 0, deadlineOf(options), signal, this.turns);
  }

  /** Whether some thread holds the lock. */
  get isLocked(): boolean {
    return (Atomics.load(this.view, W.STATE) & W.TID_MASK) !== 0;
  }

  /** The holder's pid, 0 when unlocked. */
  get ownerPid(): number {
    return (Atomics.load(this.view, W.STATE) & W.TID_MASK) === 0 ? 0 : this.owner.ownerPid;
  }

  /** The holder's kernel thread id, 0 when unlocked. */
  get ownerTid(): number {
    return Atomics.load(this.view, W.STATE) & W.TID_MASK;
  }

  /**
   * True while the calling thread holds a lock that it took over from a holder that died
   * (like EOWNERDEAD): repair what the lock protects before unlocking.
   */
  get recovered(): boolean {
    const state = Atomics.load(this.view, W.STATE);
    return (state & W.OWNER_DIED) !== 0 && this.heldByMe(state);
  }

  /**
   * Releases the lock whoever holds it and wakes a waiter: operators' recovery, like the
   * Python package's force_release. The holder, if alive, no longer holds it.
   */
  forceUnlock(): void {
    this.owner.invalidate();
    const old = Atomics.exchange(this.view, W.STATE, W.UNLOCKED);
    if (old & W.HANDOFF) wakeStarvers(this.impl, this.view, W.STARVERS, 1);
    if (old & W.WAITERS) this.impl.wake(this.view, W.STATE, 1);
  }

  /**
   * @internal Before the memory is closed (NamedMutex#close): a lock this thread holds is
   * released, if no other handle of this thread is left to release it (ownership is the
   * thread's, so two handles of one thread cannot be told apart).
   */
  protected releaseMemory(lastInThread: boolean): void {
    if (lastInThread && this.heldByMe(Atomics.load(this.view, W.STATE))) this.unlock();
  }

  /**
   * owner.record() with constant indexes (see OwnerRecord#record: three comparisons, not
   * four: 1.17 -> 1.14x the raw pair here, bench/mutex.bench.mjs).
   */
  private recordOwner(): void {
    const v = this.view;
    if (v[W.OWNER_TID] !== this.tid || v[W.OWNER_START_LO] !== this.startLo || v[W.OWNER_PID] !== this.pid) {
      this.owner.write();
    }
  }

  /** Takes the lock over from a dead holder of `state` (owner.ts), as tid | OWNER_DIED | WAITERS. */
  private takeOverIfDead(state: number, slept: boolean): boolean {
    if ((state & W.TID_MASK) === W.UNLOCKED) return !slept && this.voidReservation(state) === true; // timeout 0
    return this.owner.takeOver(W.STATE, state, state & W.TID_MASK, slept, this.tid | W.OWNER_DIED | W.WAITERS);
  }

  /**
   * A call that never sleeps (tryLock, timeout 0) finds the lock reserved: it wakes a
   * sleeper to take it, and if there is none (the one woken for it died, or was an
   * aborted wait), voids the reservation and takes the lock.
   */
  private voidReservation(state: number): true | number {
    if (wakeStarvers(this.impl, this.view, W.STARVERS, 1) > 0 || this.impl.wake(this.view, W.STATE, 1) > 0)
      return state;
    const seen = Atomics.compareExchange(this.view, W.STATE, state, state & ~W.HANDOFF);
    return this.takeFree(seen === state ? state & ~W.HANDOFF : seen, 0, false);
  }

  private heldByMe(state: number): boolean {
    return this.owner.isMine(state & W.TID_MASK);
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
   * A waiter that has slept (`sleptAt` >= 0) may take a reserved state, and sets HANDOFF
   * with WAITERS once it has waited STARVE_MS; a newcomer sleeps on a reserved state.
   * A starving sync waiter sleeps on STARVERS, not on the state: it returns the STARVERS
   * value it read before its OR (its ticket) and sets onStarvers.
   */
  private tryAfterSleep(state: number, sleptAt: number, async: boolean): true | number {
    const slept = sleptAt >= 0;
    this.onStarvers = false;
    for (;;) {
      // (the clock is read only here, once a turn, and only by a waiter that has slept)
      const starving = starved(sleptAt);
      // a starving taker of a reservation keeps HANDOFF (tid | WAITERS | HANDOFF): its unlock hands on too
      const taken = this.takeFree(state, state & W.HANDOFF && starving ? W.WAITERS | W.HANDOFF : W.WAITERS, slept);
      if (taken === true) return true;
      if (starving && !async) {
        // ticket first, then the ask (the OR): an unlock that sees the ask adds to STARVERS after it
        const ticket = Atomics.load(this.view, W.STARVERS);
        const old = Atomics.or(this.view, W.STATE, W.WAITERS | W.HANDOFF);
        if ((old & W.TID_MASK) !== W.UNLOCKED) {
          this.onStarvers = true;
          return ticket;
        }
        state = old | W.WAITERS | W.HANDOFF; // it was free: take it (a starver has slept: reserved or not)
        continue;
      }
      // (a starving async waiter asks too, and sleeps on the state)
      const flags = starving ? W.WAITERS | W.HANDOFF : W.WAITERS;
      if ((taken & flags) === flags) return taken; // held (or reserved, for a newcomer): sleep
      const old = Atomics.or(this.view, W.STATE, flags);
      if ((old & W.TID_MASK) !== W.UNLOCKED || (old & W.HANDOFF && !slept)) return old | flags;
      state = old | flags; // it was free: take it
    }
  }

  /**
   * While `state` is free (TID 0: unlocked, WAITERS alone, or reserved with HANDOFF if
   * `mayTakeReserved`), tries to take it as our tid with WAITERS kept and `flags` added
   * (HANDOFF only if in `flags`). True when taken; else the held (or reserved) state seen.
   */
  private takeFree(state: number, flags: number, mayTakeReserved: boolean): true | number {
    const v = this.view;
    while ((state & W.TID_MASK) === W.UNLOCKED && (mayTakeReserved || (state & W.HANDOFF) === 0)) {
      const seen = Atomics.compareExchange(v, W.STATE, state, this.tid | (state & W.WAITERS) | flags);
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
      const state = Atomics.load(v, W.STATE);
      if ((state & W.TID_MASK) === W.UNLOCKED) {
        // a reservation may have been meant for us: a starving waiter takes it, or else anyone
        if (state & W.HANDOFF && wakeStarvers(this.impl, v, W.STARVERS, 1) > 0) return;
        if (state & W.HANDOFF && Atomics.compareExchange(v, W.STATE, state, state & ~W.HANDOFF) !== state) continue;
        this.impl.wake(v, W.STATE, 1);
        return;
      }
      if (state & W.WAITERS || Atomics.compareExchange(v, W.STATE, state, state | W.WAITERS) === state) return;
    }
  }

  private unlockContended(): void {
    let state = Atomics.load(this.view, W.STATE);
    if (!this.heldByMe(state)) {
      throw new FastipcError(
        'ERR_FASTIPC_NOT_OWNER',
        (state & W.TID_MASK) === W.UNLOCKED
          ? 'Mutex.unlock(): the mutex is not locked'
          : `Mutex.unlock(): the mutex is held by thread ${state & W.TID_MASK} of pid ${this.owner.ownerPid}, ` +
              'not by the calling thread',
      );
    }
    // a starving waiter asked (HANDOFF): free it for the sleepers only, and wake a starving
    // one first; if none was asleep to wake, for anyone again (and wake one that went to
    // sleep on the reservation meanwhile)
    let next: number;
    for (let seen = state; ; state = seen) {
      next = state & W.HANDOFF ? W.HANDOFF | W.WAITERS : W.UNLOCKED; // (waiters may OR in HANDOFF meanwhile)
      if ((seen = Atomics.compareExchange(this.view, W.STATE, state, next)) === state) break;
    }
    if (!(state & W.WAITERS)) return;
    if (next !== W.UNLOCKED && wakeStarvers(this.impl, this.view, W.STARVERS, 1) > 0) return;
    const woken = this.impl.wake(this.view, W.STATE, 1);
    if (next !== W.UNLOCKED && woken === 0 && Atomics.compareExchange(this.view, W.STATE, next, W.WAITERS) === next) {
      this.impl.wake(this.view, W.STATE, 1);
    }
  }
}
