/**
 * RwLock: a reader-writer lock, writers preferred, robust against dead readers and writers.
 * Its words, transitions and proof sketch are the table at the top of rwlock-word.ts; this
 * file implements them with the wait driver (wait.ts): readers wait on state, writers on drain.
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, remaining, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import { closedError, FastipcError } from '../core/errors';
import type { Memory } from '../core/memory';
import { ReadWriteLock } from './guard';
import { LINE } from './header';
import { Mutex } from './mutex';
import {
  CHECK_MS,
  ReaderSlots,
  RWLOCK_BYTES,
  RWLOCK_KIND,
  RWLOCK_WORDS,
  RWLOCK_WRITER_KIND,
  nested,
  SCAN,
} from './rwlock-word';
import { TurnQueue, waitAsync, waitSync, type WaitProtocol } from './wait';

const { STATE, WAITING, DRAIN, WRITER, DIED, GENERATION, GENERATION_MASK } = RWLOCK_WORDS;

/** The writer lock: a Mutex of its own kind, so that no Mutex attaches to a RwLock's line 1. */
class WriterLock extends Mutex {
  protected static override readonly KIND = RWLOCK_WRITER_KIND;
}

/**
 * A reader-writer lock over shared memory: many readers at once, or one writer. Writers are
 * preferred: once a writer waits for the readers inside to leave, new readers wait, so a
 * stream of readers never starves a writer. A holder that dies does not wedge it: a dead
 * writer's lock is taken over (the next holder sees `recovered`), a dead reader's read lock
 * is reclaimed by the next writer, each within about a second. Up to 32 read locks are held
 * at once (RwLock.READERS); further readers wait for one to be released. Not recursive, and
 * a read lock is never upgraded to a write lock: two readers that both waited to upgrade
 * would each wait for the other to leave, for ever (release the read lock, then take the
 * write lock, and look again at what you read).
 *
 * @example
 * const rw = new RwLock(new SharedArrayBuffer(RwLock.BYTES));
 * const table = rw.withRead(() => readTheSharedTable()); // readers of every worker at once
 * rw.withWrite(() => updateTheSharedTable()); // alone
 */
export class RwLock extends ReadWriteLock {
  /** Bytes of memory a RwLock takes (18 lines of 64 bytes: its state, its writer lock, its reader slots). */
  static readonly BYTES = RWLOCK_BYTES;
  /** How many read locks can be held at once; more readers wait until one is released. */
  static readonly READERS = RWLOCK_WORDS.SLOTS;
  private readonly writer: Mutex;
  private readonly slots: ReaderSlots;
  private readonly mine: number[] = []; // the slots (claim word indexes) this handle took
  private readonly readWait: WaitProtocol;
  private readonly drainSync: WaitProtocol;
  private readonly drainAsync: WaitProtocol;
  private readonly readTurns = new TurnQueue();
  private writeAcquiring = 0; // writeLockAsync calls of this handle between taking the writer lock and WRITER

  /**
   * Creates the lock (free) at `byteOffset` in `memory` if the memory there is zeroed, or
   * attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, RwLock.BYTES bytes within it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset; memory not zeroed after the
   *   first line (creating), or inside another multi-line primitive
   */
  constructor(memory: Memory, byteOffset = 0, options?: PrimitiveOptions) {
    super(RWLOCK_KIND, memory, byteOffset, options, () => void new WriterLock(memory, byteOffset + LINE, options));
    this.writer = new WriterLock(memory, byteOffset + LINE, options);
    this.slots = new ReaderSlots(this.view);
    this.readWait = {
      index: STATE,
      slice: () => CHECK_MS, // bounded: a dead writer or dead readers are found at a slice's end
      grab: () => this.tryRead() === true,
      enter: () => this.addSleeper(WAITING),
      attempt: () => this.tryRead(),
      recheck: (state, slept) => this.readRecheck(state, slept),
      exit: () => void this.removeSleeper(WAITING), // readers are woken all at once: nothing to pass on
    };
    this.drainSync = this.drainProtocol(true);
    this.drainAsync = this.drainProtocol(false);
  }

  /**
   * Takes a read lock, sleeping while a writer holds or waits for the lock; blocks the
   * calling thread.
   * @returns true when it holds a read lock, false only when the timeout passed
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE when this handle holds a read lock already,
   *   or the calling thread the write lock
   */
  override readLock(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    if (this.mine.length === 0 && this.tryRead() === true) return true;
    this.refuseNested('readLock');
    return waitSync(this.impl, this.view, this.readWait, 0, deadlineOf(options));
  }

  /**
   * Takes a read lock if no writer holds or waits for it (or the writer died); never sleeps.
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE as readLock()
   */
  tryReadLock(): boolean {
    this.refuseNested('tryReadLock');
    return this.tryRead() === true || this.readRecheck(Atomics.load(this.view, STATE), false);
  }

  /**
   * Releases a read lock of the calling thread (this handle's, else one taken through
   * another handle of this thread); wakes a writer waiting for the readers to leave.
   * @throws {FastipcError} ERR_FASTIPC_NOT_OWNER when the calling thread holds no read lock
   */
  override readUnlock(): void {
    let at = this.mine.pop();
    if (at === undefined || !this.slots.isMine(at)) at = this.slots.findMine();
    if (at < 0) {
      throw new FastipcError('ERR_FASTIPC_NOT_OWNER', 'RwLock.readUnlock(): the calling thread holds no read lock');
    }
    this.leaveSlot(at);
  }

  /**
   * Takes the write lock: waits for other writers, then for the readers inside to leave
   * (new readers wait meanwhile); blocks the calling thread.
   * @returns true when it holds the write lock, false only when the timeout passed
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE when the calling thread holds the lock
   *   already, for writing or reading (no upgrades)
   */
  override writeLock(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    this.refuseNested('writeLock');
    const deadline = deadlineOf(options);
    if (!this.writer.lock({ timeout: remaining(deadline) })) return false;
    return this.excludeReaders(deadline);
  }

  /**
   * Takes the write lock if nobody holds the lock (or its holders died); never sleeps.
   * @throws {FastipcError} ERR_FASTIPC_RECURSIVE as writeLock()
   */
  tryWriteLock(): boolean {
    this.refuseNested('tryWriteLock');
    // (not while readers are inside: setting WRITER would turn new readers away for nothing)
    if (this.slots.scan(false) !== SCAN.EMPTY || !this.writer.tryLock()) return false;
    return this.excludeReaders(0);
  }

  /**
   * Releases the write lock: wakes the readers waiting, and a writer.
   * @throws {FastipcError} ERR_FASTIPC_NOT_OWNER unless the calling thread holds the write lock
   */
  override writeUnlock(): void {
    if (!this.writerIsMine() || !(Atomics.load(this.view, STATE) & WRITER)) {
      throw new FastipcError(
        'ERR_FASTIPC_NOT_OWNER',
        this.writer.isLocked
          ? `RwLock.writeUnlock(): the write lock is held by thread ${this.writer.ownerTid} of pid ` +
              `${this.writer.ownerPid}, not by the calling thread`
          : 'RwLock.writeUnlock(): the write lock is not held',
      );
    }
    this.setState(0, WRITER | DIED); // the writer repaired what a dead one left
    this.writer.unlock();
  }

  /**
   * As readLock(), without blocking the event loop. Unlike readLock(), another async task
   * of this thread may hold a read lock (it takes one more), or the write lock (it waits).
   * @returns a promise of true when it holds a read lock, false when the timeout passed;
   *   it rejects with `signal.reason` on abort, and with ERR_FASTIPC_CLOSED if the memory is closed
   */
  override async readLockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    if (this.readTurns.idle && this.tryRead() === true) return true; // not ahead of this thread's queue
    return waitAsync(this.impl, this.view, this.readWait, 0, deadlineOf(options), signal, this.readTurns);
  }

  /**
   * As writeLock(), without blocking the event loop; it waits when another async task of
   * this thread holds the lock.
   * @returns a promise of true when it holds the write lock, false when the timeout passed;
   *   it rejects with `signal.reason` on abort, and with ERR_FASTIPC_CLOSED if the memory is closed
   */
  override async writeLockAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    const deadline = deadlineOf(options);
    this.writeAcquiring++;
    const taking = this.writer.lockAsync({ timeout: remaining(deadline), signal });
    if (!(await taking.finally(() => this.writeAcquiring--))) return false;
    if (this.memoryClosed) throw closedError(); // (closing released the writer lock: releaseMemory)
    this.setState(this.writer.recovered ? WRITER | DIED : WRITER, 0);
    let ok = false;
    try {
      ok = await waitAsync(this.impl, this.view, this.drainAsync, 0, deadline, signal);
    } finally {
      if (!ok && !this.memoryClosed) this.abandon();
    }
    return ok;
  }

  /**
   * True while the calling thread holds the lock (this handle's read lock, or the write lock)
   * and a writer died holding it: what it protects may be half-written. It stays true for
   * readers until a writer takes the lock and releases it (writeUnlock() says the data is
   * repaired); for the writer that took a dead writer's lock over, until it releases it.
   */
  get recovered(): boolean {
    return (Atomics.load(this.view, STATE) & DIED) !== 0 && (this.mine.length > 0 || this.writerIsMine());
  }

  /** How many read locks are held now (a snapshot; dead readers count until reclaimed). */
  get readers(): number {
    return this.slots.count();
  }

  /** Whether a writer holds the lock, or has taken the writer lock and waits for the readers to leave. */
  get writeLocked(): boolean {
    return (Atomics.load(this.view, STATE) & WRITER) !== 0;
  }

  /**
   * @internal Before the memory is closed (NamedRwLock#close): this handle's read locks are
   * released, and the write lock if no other handle of this thread is left to release it.
   */
  protected releaseMemory(lastInThread: boolean): void {
    for (let at = this.mine.pop(); at !== undefined; at = this.mine.pop()) {
      if (this.slots.isMine(at)) this.leaveSlot(at);
    }
    if (this.writerIsMine()) {
      const writer = Atomics.load(this.view, STATE) & WRITER;
      if (writer && lastInThread) this.writeUnlock();
      // a writeLockAsync of this handle that has the writer lock and not yet set WRITER: it sees the memory closed
      else if (!writer && (lastInThread || this.writeAcquiring > 0)) this.writer.unlock();
    }
    this.dropSleepers(WAITING);
  }

  /** One try at a read lock: true if taken; else the state to sleep on. */
  private tryRead(): true | number {
    const state = Atomics.load(this.view, STATE);
    if (state & WRITER) return state;
    const at = this.slots.claim();
    if (at < 0) return state; // every slot taken: a readUnlock changes state for the waiting
    const now = Atomics.load(this.view, STATE); // (after the claim: see the proof)
    if (now & WRITER) {
      this.leaveSlot(at); // a writer came meanwhile: it goes first
      return now;
    }
    this.mine.push(at);
    return true;
  }

  /** Frees slot `at`: a draining writer is told, else readers waiting for a slot. */
  private leaveSlot(at: number): void {
    this.slots.release(at);
    if (Atomics.load(this.view, STATE) & WRITER) {
      Atomics.add(this.view, DRAIN, 1);
      this.impl.wake(this.view, DRAIN, 1);
    } else if (Atomics.load(this.view, WAITING) > 0) this.setState(0, 0);
  }

  /** A reader's last look (deadline, or a slice without a change): a dead writer, dead readers. */
  private readRecheck(state: number, slept: boolean): boolean {
    if (state & WRITER) {
      if (!this.recoverDeadWriter()) return false;
    } else this.slots.scan(slept, true); // every slot taken: reclaim those of dead readers
    return this.tryRead() === true;
  }

  /** If the writer lock's holder died, takes it over, clears its WRITER with DIED set, unlocks it. */
  private recoverDeadWriter(): boolean {
    if (this.writerIsMine() || !this.writer.tryLock()) return false; // (mine: another task of this thread)
    if (this.writer.recovered) this.setState(DIED, WRITER);
    this.writer.unlock();
    return true;
  }

  /** The writer lock is ours: set WRITER and wait for the readers to leave (by `deadline`). */
  private excludeReaders(deadline: number): boolean {
    this.setState(this.writer.recovered ? WRITER | DIED : WRITER, 0);
    let ok = false;
    try {
      ok = waitSync(this.impl, this.view, this.drainSync, 0, deadline);
    } finally {
      if (!ok) this.abandon();
    }
    return ok;
  }

  /**
   * The writer's wait for the readers to leave, on the drain sequence: each wake, and each
   * slice's end (when dead readers are reclaimed), looks at the slots again.
   */
  private drainProtocol(sync: boolean): WaitProtocol {
    return {
      index: DRAIN,
      slice: () => CHECK_MS,
      grab: () => this.drained(sync, false, false),
      enter: () => {},
      attempt: () => {
        const seq = Atomics.load(this.view, DRAIN); // (before the scan: see the proof)
        return this.drained(sync, false, true) || seq;
      },
      recheck: (_seq, slept) => this.drained(sync, slept, false),
      exit: () => {},
    };
  }

  /** Whether the readers have all left (`judge`: reclaim dead ones now); a sync writer's own read lock throws. */
  private drained(sync: boolean, judge: boolean, slow: boolean): boolean {
    const found = this.slots.scan(judge, slow);
    if (found === SCAN.SELF && sync) throw nested('writeLock', 'a read lock (through another handle)');
    return found === SCAN.EMPTY;
  }

  /** A writer gives up while draining (timeout, abort, error): readers may go on. */
  private abandon(): void {
    this.setState(this.writer.recovered ? DIED : 0, WRITER);
    this.writer.unlock();
  }

  /** state -> state | set, without clear, one generation on; wakes the waiting readers if WRITER is not set. */
  private setState(set: number, clear: number): void {
    const v = this.view;
    let state = Atomics.load(v, STATE);
    for (;;) {
      const next = ((state + GENERATION) & GENERATION_MASK) | (state & ~clear & (WRITER | DIED)) | set;
      const seen = Atomics.compareExchange(v, STATE, state, next);
      if (seen === state) break;
      state = seen;
    }
    if (!(set & WRITER) && Atomics.load(v, WAITING) > 0) this.impl.wake(v, STATE, Infinity);
  }

  private writerIsMine(): boolean {
    return this.writer.ownerTid === this.slots.tid && this.writer.ownerPid === this.slots.pid;
  }

  /** Sync calls never nest (they would wait for the calling thread itself). */
  private refuseNested(method: string): void {
    if (this.mine.length > 0 || this.writerIsMine())
      throw nested(method, this.mine.length > 0 ? 'a read lock' : 'the write lock');
  }
}
