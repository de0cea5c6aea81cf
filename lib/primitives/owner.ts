/**
 * Owner death, for primitives that record their holder (glibc's robust mutexes, without
 * the kernel's robust list): the owner record is five int32 words, at `base` in the view,
 *
 * | word    | field       | meaning                                                      |
 * |---------|-------------|--------------------------------------------------------------|
 * | base+0  | owner pid   | pid of the holder; advisory (liveness checks, display)       |
 * | base+1  | owner start | start time of the holding thread, u64 clock ticks (lo, hi)  |
 * | base+3  | owner tid   | the holder's tid again, written last: the record is the      |
 * |         |             | holder's only when this equals the tid in the lock word      |
 * | base+4  | owner ns    | the holder's pid namespace (inode); ids of another namespace |
 * |         |             | are never judged                                             |
 *
 * and the holder's tid is also in the lock word itself, so that taking the lock and naming
 * its owner are one atomic step. A waiter that slept a bounded slice without the state
 * changing, or a try on a held lock, asks `holderDead`: whether the thread (pid, tid) with
 * the recorded start time still runs, since tids are reused. A holder killed between its
 * CAS and its record is still known by the tid in the word: a record that stays
 * inconsistent for STALE_MS is judged by whether that tid exists at all.
 */
import { currentThread, isAlive, threadExists } from '../core/identity';
import type { WordField } from './kinds';

/** The record's words from `base` (a const enum: literals in the bundle, see MUTEX_WORDS). */
const enum RECORD {
  PID = 0,
  START_LO = 1,
  START_HI = 2,
  TID = 3,
  NS = 4,
}

/** How long an inconsistent owner record is given to become consistent. */
const STALE_MS = 1000;
/** Least time between two owner checks of the same state by one handle (tryLock loops). */
const RECHECK_MS = 50;

/**
 * One handle's owner record of one lock: writing it (as the calling thread), telling
 * whether it is the calling thread's, and checking whether another holder is dead.
 */
export class OwnerRecord {
  /** The calling thread's tid (masked to the lock word's TID bits), pid and start time (lo, hi). */
  readonly tid: number;
  readonly pid: number;
  readonly startLo: number;
  readonly startHi: number;
  private readonly ns: number;
  /** The last state whose owner we checked, when, and since when its record was stale. */
  private checkedState = 0;
  private checkedAt = 0;
  private staleSince = 0;

  constructor(
    private readonly view: Int32Array,
    private readonly base: number,
    tidMask: number,
  ) {
    const me = currentThread();
    this.tid = me.tid & tidMask;
    this.pid = me.pid;
    this.startLo = (me.start % 2 ** 32) | 0;
    this.startHi = Math.floor(me.start / 2 ** 32) | 0;
    this.ns = me.ns;
  }

  /**
   * Records the calling thread as the holder, just after its CAS took the lock. The record
   * is still ours when this thread was the last to hold the lock: then nothing is written,
   * and the fast path is one CAS and three plain loads: the tid, the low word of the start
   * time and the pid. That is enough, given write()'s order (start time, then pid, then the
   * namespace, the tid last): a record that another thread left half-written names our tid
   * (it was ours before) with a start time or pid that is not ours, unless that thread has
   * our pid and start tick, and then it is in our process, started in the same tick, and
   * every field it writes is what ours holds. (A start tick equal mod 2^32 but not equal,
   * 497 days apart at 100 Hz, is not a case worth a load on every lock; nor is a thread
   * with our tid, pid and start tick in another pid namespace.) A lock's own fast path
   * makes these comparisons itself, with constant indexes (Mutex#recordOwner), and calls
   * write() only when they differ.
   */
  record(): void {
    const v = this.view;
    const b = this.base;
    if (v[b + RECORD.TID] !== this.tid || v[b + RECORD.START_LO] !== this.startLo || v[b + RECORD.PID] !== this.pid) {
      this.write();
    }
  }

  /** Writes the record (the calling thread's), whatever it held before. */
  write(): void {
    const v = this.view;
    const b = this.base;
    // Another thread's record with our tid (a reused tid): invalid while the fields change.
    if (v[b + RECORD.TID] === this.tid) Atomics.store(v, b + RECORD.TID, 0);
    // Otherwise the record names another tid than the lock word's, so no reader takes it
    // for ours until the last store below. Only the fields that differ are written: each
    // store to this cache line, which the waiters are spinning on, costs a transfer
    // between cores (in one process only the start time differs between two threads).
    // A writer killed halfway leaves a record that matches no thread in full, and one that
    // record() cannot take for its own (the order matters: see there).
    if (v[b + RECORD.START_LO] !== this.startLo) v[b + RECORD.START_LO] = this.startLo;
    if (v[b + RECORD.START_HI] !== this.startHi) v[b + RECORD.START_HI] = this.startHi;
    if (v[b + RECORD.PID] !== this.pid) v[b + RECORD.PID] = this.pid;
    if (v[b + RECORD.NS] !== this.ns) v[b + RECORD.NS] = this.ns;
    Atomics.store(v, b + RECORD.TID, this.tid);
  }

  /** Whether the lock word's holder `tid` is the calling thread (its record is ours). */
  isMine(tid: number): boolean {
    const v = this.view;
    const b = this.base;
    return (
      tid === this.tid &&
      v[b + RECORD.PID] === this.pid &&
      v[b + RECORD.START_LO] === this.startLo &&
      v[b + RECORD.START_HI] === this.startHi
    );
  }

  /** The recorded holder's pid (meaningful while the lock is held). */
  get ownerPid(): number {
    return this.view[this.base + RECORD.PID];
  }

  /** Makes the record name nobody (forceUnlock). */
  invalidate(): void {
    this.view[this.base + RECORD.TID] = 0;
  }

  /**
   * Whether holder `tid` of the lock word's `state` is dead. `slept`: a waiter has just
   * waited a slice without the state changing, so a check is due; otherwise checks of
   * the same state are rate-limited to one per RECHECK_MS.
   */
  holderDead(state: number, tid: number, slept: boolean): boolean {
    const now = performance.now();
    if (state !== this.checkedState) {
      this.checkedState = state;
      this.staleSince = 0;
    } else if (!slept && now - this.checkedAt < RECHECK_MS) {
      return false;
    }
    this.checkedAt = now;
    return this.ownerIsDead(tid, now);
  }

  /**
   * If holder `tid` of the lock word's `state` (word `index`) no longer runs, takes the
   * lock over with one CAS from `state` to `next` (so one taker wins) and records the
   * calling thread: true when taken. `slept` as for holderDead.
   */
  takeOver(index: number, state: number, tid: number, slept: boolean, next: number): boolean {
    if (tid === 0 || !this.holderDead(state, tid, slept)) return false;
    if (Atomics.compareExchange(this.view, index, state, next) !== state) return false;
    this.record();
    return true;
  }

  private ownerIsDead(tid: number, now: number): boolean {
    const v = this.view;
    const b = this.base;
    // A seqlock read: the record counts only if its tid, read before and after the other
    // fields, is the holder's both times.
    const before = Atomics.load(v, b + RECORD.TID);
    const pid = v[b + RECORD.PID];
    const start = (v[b + RECORD.START_LO] >>> 0) + (v[b + RECORD.START_HI] >>> 0) * 2 ** 32;
    const ns = v[b + RECORD.NS];
    const consistent = before === tid && Atomics.load(v, b + RECORD.TID) === tid;
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
}

/** For display: the holder `tid`, its pid (null while its record is not yet written), whether it runs. */
export function describeOwner(
  words: readonly number[],
  base: number,
  tid: number,
): { ownerPid: number | null; ownerTid: number; ownerAlive: boolean | null } {
  if (tid === 0) return { ownerPid: 0, ownerTid: 0, ownerAlive: null };
  if (words[base + RECORD.TID] !== tid) return { ownerPid: null, ownerTid: tid, ownerAlive: null };
  const pid = words[base + RECORD.PID];
  const start = (words[base + RECORD.START_LO] >>> 0) + (words[base + RECORD.START_HI] >>> 0) * 2 ** 32;
  return { ownerPid: pid, ownerTid: tid, ownerAlive: pid ? isAlive(pid, tid, start, words[base + RECORD.NS]) : null };
}

/** The owner record's words, as `fastipc inspect` names them. */
export const OWNER_FIELDS: readonly WordField[] = [
  { name: 'owner pid' },
  { name: 'owner start (lo)' },
  { name: 'owner start (hi)' },
  { name: 'owner tid' },
  { name: 'owner pid namespace' },
];

/** "locked by pid P tid T", with "(dead)" when the holder is gone, for `fastipc list`. */
export function ownerText(s: { ownerPid: number | null; ownerTid: number; ownerAlive: boolean | null }): string {
  const text =
    s.ownerPid === null
      ? `locked by tid ${s.ownerTid} (owner record not yet written)`
      : `locked by pid ${s.ownerPid} tid ${s.ownerTid}`;
  return s.ownerAlive === false ? `${text} (dead)` : text;
}
