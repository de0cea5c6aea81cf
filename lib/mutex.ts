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
 * | +12    | owner pid  | pid of the holder; advisory (liveness checks, display)         |
 * | +16    | owner start| start time of the holding thread, u64 clock ticks (lo, hi)    |
 * | +24    | owner tid  | the holder's tid again, written last: the record is the       |
 * |        |            | holder's only when this equals state's TID                    |
 * | +28    | owner ns   | the holder's pid namespace (inode); ids of another namespace  |
 * |        |            | are never judged                                              |
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
 * The owner record is written after the CAS, and only when it is not already this
 * thread's (the last holder's record stays in place): the fast path then is one CAS and
 * four plain loads. A handoff writes only the fields that differ, then the tid (in one
 * process: start time and tid). The waiters spin on this cache line, so every store
 * to it costs a transfer between cores: rewriting the whole record on every handoff cost
 * about a tenth of the contended throughput (bench/mutex.bench.mjs).
 * The owner record (+12..+27) is not cleared on unlock: it means something only while
 * TID is non-zero, and a releaser that cleared it after its releasing store could erase
 * the next owner's record (a defect of the Python package).
 *
 * Owner death (glibc's robust mutexes, without the kernel's robust list): sleepers sleep
 * at most CHECK_MS at a time; a wait that ends without a wake, a lock({ timeout: 0 }) or
 * a tryLock() on a held lock checks whether the holder still runs: the thread (pid, tid)
 * with the recorded start time, since tids are reused. If not, one CAS from the dead
 * holder's word takes the lock over (so only one taker wins), with OWNER_DIED set:
 * `recovered` is true until unlock, like EOWNERDEAD. A holder killed between its CAS and
 * its record is still known by the tid in the word: a record that stays inconsistent
 * for STALE_MS is judged by whether that tid exists at all.
 */
import type { PrimitiveOptions } from './backend';
import { currentThread, isAlive, threadExists } from './identity';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, remaining, type AsyncWaitOptions, type WaitOptions } from './header';
import { closedError, codedError } from './errors';
import type { Memory } from './memory';
import { Primitive } from './primitive';
import { Spinner } from './spin';

/** Word indexes (int32) from byteOffset; lib/inspect.ts reads them too. */
export const MUTEX_WORDS = { STATE: 2, OWNER_PID: 3, OWNER_START_LO: 4, OWNER_START_HI: 5, OWNER_TID: 6, OWNER_NS: 7 } as const;
const { STATE, OWNER_PID, OWNER_START_LO, OWNER_START_HI, OWNER_TID, OWNER_NS } = MUTEX_WORDS;

/**
 * The mutex spins for far less than a semaphore (lib/spin.ts): a lock guards short
 * critical sections, and two threads that both keep spinning on its cache line slow each
 * other down. Measured (bench/mutex.bench.mjs, 2 workers and 2 processes x 1 M
 * lock/increment/unlock against a bare 3-state mutex that spins 100 times): 0.5-0.8x in
 * six runs with 4096 looks; with short spins 0.55-1.27x (these runs are very noisy).
 * Later, over sets of about 150 alternating runs, maxima of 30, 50 and 100 looks were
 * indistinguishable, and a fixed 100 without halving after a failed spin was worse (also
 * in the bench's A/B sets: README, Known limits).
 */
const MUTEX_SPIN_MAX = 100;

/** Longest sleep between owner checks: a dead holder is found within about this long. */
const CHECK_MS = 200;
/** How long an inconsistent owner record is given to become consistent. */
const STALE_MS = 1000;
/** Least time between two owner checks of the same state by one handle (tryLock loops). */
const RECHECK_MS = 50;

const UNLOCKED = 0;
export const TID_MASK = 0x1fffffff;
export const OWNER_DIED = 0x20000000;
export const WAITERS = 0x40000000;

const fail = codedError;

export class Mutex extends Primitive {
  static readonly BYTES = 64 as const;
  private readonly tid: number;
  private readonly pid: number;
  private readonly startLo: number;
  private readonly startHi: number;
  private readonly ns: number;
  private readonly spinner = new Spinner(MUTEX_SPIN_MAX);
  /** The last state whose owner we checked, when, and since when its record was stale. */
  private checkedState = 0;
  private checkedAt = 0;
  private staleSince = 0;

  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super('Mutex', memory, byteOffset, options, () => {});
    const me = currentThread();
    this.tid = me.tid & TID_MASK;
    this.pid = me.pid;
    this.startLo = me.start % 2 ** 32 | 0;
    this.startHi = Math.floor(me.start / 2 ** 32) | 0;
    this.ns = me.ns;
  }

  /** Takes the lock, sleeping if need be. False only when the timeout passed. */
  lock(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    if (Atomics.compareExchange(this.view, STATE, UNLOCKED, this.tid) === UNLOCKED) {
      this.recordOwner();
      return true;
    }
    return this.lockContended(deadlineOf(options));
  }

  /** Takes the lock if it is free; never sleeps. */
  tryLock(): boolean {
    const state = this.takeFree(UNLOCKED, 0);
    if (state === true) return true;
    if (this.heldByMe(state)) throw this.recursion('tryLock');
    return this.takeOverIfDead(state, false);
  }

  /** Releases the lock. An Error unless the calling thread holds it. */
  unlock(): void {
    if (Atomics.compareExchange(this.view, STATE, this.tid, UNLOCKED) === this.tid) return;
    this.unlockContended();
  }

  /** Takes the lock for a `using` block: `using _ = m.acquire()`. Throws ETIMEDOUT on timeout. */
  acquire(options?: WaitOptions): Disposable {
    if (!this.lock(options)) throw fail('ETIMEDOUT', 'Mutex.acquire(): timed out waiting for the lock');
    return this.holding();
  }

  private holding(): Disposable {
    let held = true;
    return {
      [Symbol.dispose]: () => {
        if (held) {
          held = false;
          this.unlock();
        }
      },
    };
  }

  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  withLock<T>(fn: () => T, options?: WaitOptions): T {
    if (typeof fn !== 'function') throw new TypeError('withLock(fn): fn must be a function');
    if (!this.lock(options)) throw fail('ETIMEDOUT', 'Mutex.withLock(): timed out waiting for the lock');
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  /**
   * As lock(), without blocking the event loop. The calling JS thread owns the lock.
   * Unlike lock(), it waits when this thread already holds the lock: another async task
   * of the thread holds it and will release it (a task that awaits a lock it holds
   * itself waits forever, as with any non-recursive async mutex).
   */
  async lockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    signal?.throwIfAborted();
    if (Atomics.compareExchange(this.view, STATE, UNLOCKED, this.tid) === UNLOCKED) {
      this.recordOwner();
      return true;
    }
    const v = this.view;
    let state = Atomics.load(v, STATE);
    const deadline = deadlineOf(options);
    if (remaining(deadline) === 0) {
      // as lock({ timeout: 0 }): neither sleeps nor sets WAITERS
      const taken = this.takeFree(state, 0);
      return taken === true || this.takeOverIfDead(taken, false);
    }
    for (;;) {
      const acquired = this.tryAfterSleep(state);
      if (acquired === true) return true;
      state = acquired;
      const left = remaining(deadline);
      if (left === 0) return this.takeOverIfDead(state, false) || this.leaveWithoutLock();
      let result;
      try {
        result = await this.impl.waitAsync(v, STATE, state, Math.min(left, CHECK_MS), signal);
      } catch (err) {
        if (this.memoryClosed) throw closedError(); // leave the (gone) memory alone
        this.leaveWithoutLock();
        throw err;
      }
      if (this.memoryClosed) throw closedError();
      if (result === 'timed-out' && this.takeOverIfDead(Atomics.load(v, STATE), true)) return true;
      state = Atomics.load(v, STATE);
    }
  }

  /** As acquire(), without blocking the event loop: `using _ = await m.acquireAsync()`. */
  async acquireAsync(options?: AsyncWaitOptions): Promise<Disposable> {
    if (!(await this.lockAsync(options))) throw fail('ETIMEDOUT', 'Mutex.acquireAsync(): timed out waiting for the lock');
    return this.holding();
  }

  /** Runs `fn` (sync or async) holding the lock, and releases it however `fn` ends. */
  async withLockAsync<T>(fn: () => T | Promise<T>, options?: AsyncWaitOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('withLockAsync(fn): fn must be a function');
    if (!(await this.lockAsync(options))) throw fail('ETIMEDOUT', 'Mutex.withLockAsync(): timed out waiting for the lock');
    try {
      return await fn();
    } finally {
      this.unlock();
    }
  }

  get isLocked(): boolean {
    return (Atomics.load(this.view, STATE) & TID_MASK) !== 0;
  }

  /** The holder's pid, 0 when unlocked. */
  get ownerPid(): number {
    if ((Atomics.load(this.view, STATE) & TID_MASK) === 0) return 0;
    return this.view[OWNER_PID];
  }

  /** The holder's thread id, 0 when unlocked. */
  get ownerTid(): number {
    return Atomics.load(this.view, STATE) & TID_MASK;
  }

  /**
   * True while the calling thread holds a lock that it took over from a holder that
   * died (like EOWNERDEAD): repair what the lock protects before unlocking.
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
    this.view[OWNER_TID] = 0;
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

  private recordOwner(): void {
    // The record is still ours when this thread was the last to hold the lock: then
    // nothing needs writing. (Kept small, so that it is inlined into lock(). The pid
    // namespace is not compared: a thread with our tid, pid and start tick in another
    // namespace is not a case worth a load on every lock.)
    const v = this.view;
    if (v[OWNER_TID] !== this.tid || v[OWNER_START_LO] !== this.startLo || v[OWNER_PID] !== this.pid || v[OWNER_START_HI] !== this.startHi) {
      this.writeRecord();
    }
  }

  private writeRecord(): void {
    const v = this.view;
    // Another thread's record with our tid (a reused tid): invalid while the fields change.
    if (v[OWNER_TID] === this.tid) Atomics.store(v, OWNER_TID, 0);
    // Otherwise the record names another tid than the state word's, so no reader takes it
    // for ours until the last store below. Only the fields that differ are written: each
    // store to this cache line, which the waiters are spinning on, costs a transfer
    // between cores (in one process only the start time differs between two threads).
    // A writer killed halfway leaves a record that matches no thread in full.
    if (v[OWNER_PID] !== this.pid) v[OWNER_PID] = this.pid;
    if (v[OWNER_START_LO] !== this.startLo) v[OWNER_START_LO] = this.startLo;
    if (v[OWNER_START_HI] !== this.startHi) v[OWNER_START_HI] = this.startHi;
    if (v[OWNER_NS] !== this.ns) v[OWNER_NS] = this.ns;
    Atomics.store(v, OWNER_TID, this.tid);
  }

  /**
   * If `state` is held by a thread that no longer runs, takes the lock over with one CAS
   * and returns true. `slept`: we have just waited CHECK_MS without the state changing,
   * so a check is due; otherwise checks of the same state are rate-limited.
   */
  private takeOverIfDead(state: number, slept: boolean): boolean {
    const tid = state & TID_MASK;
    if (tid === UNLOCKED) return false;
    const now = performance.now();
    if (state !== this.checkedState) {
      this.checkedState = state;
      this.staleSince = 0;
    } else if (!slept && now - this.checkedAt < RECHECK_MS) {
      return false;
    }
    this.checkedAt = now;
    if (!this.ownerIsDead(state, now)) return false;
    const v = this.view;
    if (Atomics.compareExchange(v, STATE, state, this.tid | OWNER_DIED | WAITERS) !== state) return false;
    this.recordOwner();
    return true;
  }

  private ownerIsDead(state: number, now: number): boolean {
    const v = this.view;
    const tid = state & TID_MASK;
    // A seqlock read: the record counts only if its tid, read before and after the other
    // fields, is the holder's both times.
    const before = Atomics.load(v, OWNER_TID);
    const pid = v[OWNER_PID];
    const start = (v[OWNER_START_LO] >>> 0) + (v[OWNER_START_HI] >>> 0) * 2 ** 32;
    const ns = v[OWNER_NS];
    const consistent = before === tid && Atomics.load(v, OWNER_TID) === tid;
    if (consistent && isAlive(pid, tid, start, ns)) {
      this.staleSince = 0; // a later stale record of the same state gets its full grace
      return false;
    }
    if (this.staleSince === 0) this.staleSince = now;
    const stale = now - this.staleSince >= STALE_MS;
    if (consistent) {
      // The recorded thread is gone. If no thread has that tid, the holder is gone. If one
      // does, either the holder died and its tid went to another thread, or the holder is
      // a new thread that reuses the tid of a dead one before it, and has not yet written
      // its record over its predecessor's: give that STALE_MS to happen.
      return !threadExists(tid) || stale;
    }
    // No record of this holder (yet): it was killed between its CAS and its stores, or is
    // just slow. After STALE_MS, judge by whether a thread with that tid exists at all.
    return stale && !threadExists(tid);
  }

  private heldByMe(state: number): boolean {
    const v = this.view;
    return (
      (state & TID_MASK) === this.tid &&
      v[OWNER_PID] === this.pid &&
      v[OWNER_START_LO] === this.startLo &&
      v[OWNER_START_HI] === this.startHi
    );
  }

  private recursion(method: string): Error {
    return fail('ERR_FASTIPC_RECURSIVE', `Mutex.${method}(): the calling thread already holds this mutex (it is not recursive)`);
  }

  private lockContended(deadline: number): boolean {
    const v = this.view;
    let state = Atomics.load(v, STATE);
    if (this.heldByMe(state)) throw this.recursion('lock');
    // lock({ timeout: 0 }) is tryLock(): it neither spins nor sets WAITERS, so the holder
    // does not make a wake call for nobody
    if (remaining(deadline) === 0) return this.tryLock();

    // Spin while the lock is held (see lib/spin.ts); taking it from under sleepers is
    // fine: the one that unlock() woke finds it taken and sets WAITERS again.
    for (let i = this.spinner.budget(); i > 0; i--) {
      if ((state & TID_MASK) === UNLOCKED) {
        const taken = this.takeFree(state, 0);
        if (taken === true) {
          this.spinner.succeeded();
          return true;
        }
      }
      state = Atomics.load(v, STATE);
    }
    this.spinner.failed();

    for (;;) {
      const acquired = this.tryAfterSleep(state);
      if (acquired === true) return true;
      state = acquired;
      const left = remaining(deadline);
      if (left === 0) return this.takeOverIfDead(state, false) || this.leaveWithoutLock();
      if (this.impl.wait(v, STATE, state, Math.min(left, CHECK_MS)) === 'timed-out' && this.takeOverIfDead(state, true)) return true;
      state = Atomics.load(v, STATE);
    }
  }

  /**
   * One step of the sleeping loop on the observed `state`: take the lock if it is free
   * (true), else make sure WAITERS is set. Returns the state to sleep on (a held one; it
   * may have changed since, and the wait then returns at once). Having (maybe) slept, we
   * cannot know whether others still sleep, so we take the lock with WAITERS set
   * (Drepper's mutex 3 takes it as 2 for the same reason).
   *
   * WAITERS is set with one atomic OR, like mutex 3's exchange(2), not a CAS from the
   * state we saw: a holder that relocks at once changes the state between our load and
   * a CAS, and every failed CAS pulls the cache line away from it. An OR that finds the
   * lock free leaves it free with WAITERS set (TID 0): the fast paths never take that
   * state (they CAS from 0), but every sleeping loop does, as here, with WAITERS kept.
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
  private leaveWithoutLock(): false {
    const v = this.view;
    for (;;) {
      const state = Atomics.load(v, STATE);
      if ((state & TID_MASK) === UNLOCKED) {
        this.impl.wake(v, STATE, 1);
        return false;
      }
      if (state & WAITERS || Atomics.compareExchange(v, STATE, state, state | WAITERS) === state) return false;
    }
  }

  private unlockContended(): void {
    const state = Atomics.load(this.view, STATE);
    if (!this.heldByMe(state)) {
      throw fail(
        'ERR_FASTIPC_NOT_OWNER',
        (state & TID_MASK) === UNLOCKED
          ? 'Mutex.unlock(): the mutex is not locked'
          : `Mutex.unlock(): the mutex is held by thread ${state & TID_MASK} of pid ${this.view[OWNER_PID]}, not by the calling thread`,
      );
    }
    if (Atomics.exchange(this.view, STATE, UNLOCKED) & WAITERS) this.impl.wake(this.view, STATE, 1);
  }
}
