/**
 * Mutex: Drepper's futex mutex ("Futexes Are Tricky", mutex 3) with the owner's thread
 * id in the lock word, as glibc's robust mutexes keep it, so that taking the lock and
 * naming its owner are one atomic step.
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field      | meaning                                                       |
 * |--------|------------|---------------------------------------------------------------|
 * | +0     | magic      | 'MUTX'                                                        |
 * | +4     | version    | layout version (2); 0 while being initialised                 |
 * | +8     | state      | the futex word, see below                                     |
 * | +12    | owner pid  | the owner record (owner.ts): pid, start time (lo, hi), tid    |
 * | ..+31  | ..owner ns | written last, pid namespace, of the holder                    |
 * | +32..63| reserved   | zero                                                          |
 *
 * state, kept non-negative for JavaScript:
 *   bits 0-27   TID         kernel thread id of the holder; 0 = free (Linux tids < 2^22)
 *   bit  28     HANDOFF     held: a waiter has starved, unlock hands the lock to a sleeper;
 *                           free: reserved for a waiter that has slept (not for newcomers)
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
 * Fairness (Go's sync.Mutex starvation mode, without its in-process queue):
 *   starve   tid' | WAITERS -> tid' | WAITERS | HANDOFF   a waiter that has slept and has
 *                                           waited STARVE_MS since it first slept, finding
 *                                           the lock held (the same OR that sets WAITERS)
 *   unlock   tid | HANDOFF | WAITERS -> HANDOFF | WAITERS, wake(1)   free, but reserved
 *            HANDOFF | WAITERS -> tid | WAITERS   taken by a waiter that has slept (any;
 *                                           the one just woken, usually), which keeps
 *                                           HANDOFF if it starved itself; newcomers (the
 *                                           fast path, spinners, tryLock, a first attempt)
 *                                           never take it: they sleep on it, HANDOFF_GRACE_MS
 *                                           at a time, and after one sleep they may
 *   leave    HANDOFF | WAITERS -> WAITERS, wake(1)   a waiter that gives up drops the
 *                                           reservation (it may have been meant for it); so
 *                                           does an unlock whose wake(1) found no sleeper
 * Why a starving waiter gets the lock: once HANDOFF is set no unlock frees the lock for
 * newcomers; each unlock hands it to a sleeper, and the backends wake sleepers in the order
 * they slept (the kernel's futex queue, V8's waiter list), so the starving waiter is
 * reached after the sleepers ahead of it. A taker that did not starve clears HANDOFF
 * (barging resumes: the queue moves fast); one that starved keeps it, so handing on goes on
 * while waiters starve (a waiter that lost to a barger sleeps again behind the others, and
 * would otherwise lose again whenever it came to the front). Nothing counts starving waiters,
 * so a dead one leaves nothing behind; a reservation whose taker died is taken by another
 * sleeper at its next slice, or by a newcomer after one HANDOFF_GRACE_MS sleep. Mutual
 * exclusion is unchanged: every take is still one CAS from a state with TID 0.
 * In one thread, async lockers also queue in FIFO order (wait.ts, TurnQueue): only the
 * head waits on the word, and a task of the thread never takes the lock ahead of them.
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
import { Lock } from './guard';
import { MUTEX_KIND, MUTEX_WORDS } from './mutex-word';
import { OwnerRecord } from './owner';
import { LOCK_SPIN_MAX, Spinner } from './spin';
import { TurnQueue, waitAsync, waitSync, type WaitProtocol } from './wait';

const { STATE, OWNER_PID, OWNER_START_LO, OWNER_START_HI, OWNER_TID } = MUTEX_WORDS;
const { UNLOCKED, TID_MASK, HANDOFF, OWNER_DIED, WAITERS } = MUTEX_WORDS;
/** Longest sleep between owner checks: a dead holder is found within about this long. */
const CHECK_MS = 200;
/** A waiter that has waited this long since it first slept asks for the lock to be handed on (Go: 1 ms). */
const STARVE_MS = 1;
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
  private readonly tid: number;
  private readonly pid: number;
  private readonly startLo: number;
  private readonly startHi: number;
  private readonly owner: OwnerRecord;
  private readonly lockWait: WaitProtocol;
  private readonly turns = new TurnQueue();

  /**
   * Creates the mutex (unlocked) at `byteOffset` in `memory` if the memory there is
   * zeroed, or attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Mutex.BYTES bytes within it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super(MUTEX_KIND, memory, byteOffset, options, () => {});
    this.owner = new OwnerRecord(this.view, OWNER_PID, TID_MASK);
    ({ tid: this.tid, pid: this.pid, startLo: this.startLo, startHi: this.startHi } = this.owner);
    this.lockWait = {
      index: STATE,
      // spin while it is held (spin.ts); the waiter unlock() woke then finds it taken, sets WAITERS
      spinner: new Spinner(LOCK_SPIN_MAX),
      // a free state to sleep on is one reserved for the sleepers: a newcomer sleeps on it briefly
      slice: (_async, state) => ((state & TID_MASK) === UNLOCKED ? HANDOFF_GRACE_MS : CHECK_MS),
      grab: () => this.takeFree(Atomics.load(this.view, STATE), 0, false) === true,
      enter: () => {},
      attempt: (_ctx, sleptAt) => this.tryAfterSleep(Atomics.load(this.view, STATE), sleptAt),
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
    const state = this.takeFree(UNLOCKED, 0, false);
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
    // not ahead of this thread's own queued lockers (FIFO)
    if (this.turns.idle && Atomics.compareExchange(this.view, STATE, UNLOCKED, this.tid) === UNLOCKED) {
      this.recordOwner();
      return true;
    }
    return waitAsync(this.impl, this.view, this.lockWait, 0, deadlineOf(options), signal, this.turns);
  }

  /** Whether some thread holds the lock. */
  get isLocked(): boolean {
    return (Atomics.load(this.view, STATE) & TID_MASK) !== 0;
  }

  /** The holder's pid, 0 when unlocked. */
  get ownerPid(): number {
    return (Atomics.load(this.view, STATE) & TID_MASK) === 0 ? 0 : this.owner.ownerPid;
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

  /** Takes the lock over from a dead holder of `state` (owner.ts), as tid | OWNER_DIED | WAITERS. */
  private takeOverIfDead(state: number, slept: boolean): boolean {
    return this.owner.takeOver(STATE, state, state & TID_MASK, slept, this.tid | OWNER_DIED | WAITERS);
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
   * A waiter that has slept (`sleptAt` >= 0) may take a reserved state, and sets HANDOFF
   * with WAITERS once it has waited STARVE_MS; a newcomer sleeps on a reserved state.
   */
  private tryAfterSleep(state: number, sleptAt: number): true | number {
    const slept = sleptAt >= 0;
    const flags = slept && performance.now() - sleptAt >= STARVE_MS ? WAITERS | HANDOFF : WAITERS;
    for (;;) {
      // a starving taker keeps HANDOFF (taken as tid | WAITERS | HANDOFF): its unlock hands on too
      const taken = this.takeFree(state, flags, slept);
      if (taken === true) return true;
      if ((taken & flags) === flags) return taken; // held (or reserved, for a newcomer): sleep
      const old = Atomics.or(this.view, STATE, flags);
      if ((old & TID_MASK) !== UNLOCKED || (old & HANDOFF && !slept)) return old | flags;
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
    while ((state & TID_MASK) === UNLOCKED && (mayTakeReserved || (state & HANDOFF) === 0)) {
      const seen = Atomics.compareExchange(v, STATE, state, this.tid | (state & WAITERS) | flags);
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
        // a reservation may have been meant for us: let anyone take it
        if (state & HANDOFF && Atomics.compareExchange(v, STATE, state, state & ~HANDOFF) !== state) continue;
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
    // a starving waiter asked (HANDOFF): free it for the sleepers only; if none was asleep
    // to wake, for anyone again (and wake one that went to sleep on the reservation meanwhile)
    const next = state & HANDOFF ? HANDOFF | WAITERS : UNLOCKED;
    if (!(Atomics.exchange(this.view, STATE, next) & WAITERS)) return;
    const woken = this.impl.wake(this.view, STATE, 1);
    if (next !== UNLOCKED && woken === 0 && Atomics.compareExchange(this.view, STATE, next, WAITERS) === next) {
      this.impl.wake(this.view, STATE, 1);
    }
  }
}
