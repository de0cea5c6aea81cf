/**
 * RwLock: many readers or one writer, writers preferred, robust against dead readers and
 * writers. Writers queue on a Mutex (its protocol, owner record, takeover and fairness:
 * mutex-word.ts) on line 1; each read lock is a slot that names its holder, so that a dead
 * reader is found and its slot reclaimed (a bare reader count, as in pthread rwlocks in
 * shared memory, is wedged for ever by one reader that dies).
 *
 * Lines (64 bytes each, from byteOffset; RwLock.BYTES = 18 lines = 1152 bytes):
 * | offset    | field       | meaning                                                   |
 * |-----------|-------------|-----------------------------------------------------------|
 * | +0        | magic       | 'RWLK'                                                    |
 * | +4        | version     | layout version (1); 0 while being initialised             |
 * | +8        | state       | readers sleep on it: WRITER, DIED, generation (below)     |
 * | +12       | waiting     | readers in or about to enter a wait on state              |
 * | +16       | drain       | a sequence the draining writer sleeps on; readers leaving |
 * |           |             | while WRITER is set add 1 and wake it                     |
 * | +64..127  | writer lock | a Mutex of kind 'RWLW' (a part: no Mutex attaches to it)  |
 * | +128..    | 16 lines of | +0 CONTINUED, +4 bytes back to byteOffset (header.ts);    |
 * |           | reader slots| two slots per line, at +8 and +32, of 5 words each:      |
 * |           |             | claim, pid, start lo, start hi, pid namespace             |
 *
 * state, non-negative: bit 0 WRITER (a writer holds the writer lock and excludes readers:
 * it drains them, then holds the lock), bit 1 DIED (the last writer died holding it),
 * bits 2-30 a generation that every change of WRITER and every slot freed for waiting
 * readers advances, so that a sleeper on state sees any change.
 * A slot's claim word: bits 0-21 TID of the reader (0: free; Linux tids < 2^22), bits
 * 22-29 a generation advanced by every claim, bit 30 SEALED (the record beside it is
 * written).
 *
 * Transitions:
 *   read     state has no WRITER: claim a slot (CAS free -> tid | gen+1, probing from a
 *            hash of tid), write the record, seal it; then load state again: WRITER set
 *            meanwhile -> free the slot (as readUnlock) and wait. All slots taken: wait.
 *            Waiting = sleeping on state (counted in waiting), in 200 ms slices.
 *   readUnlock  free the slot (store gen), then: WRITER set -> drain += 1, wake(drain, 1);
 *            else waiting > 0 -> generation += 1, wake(state, all) (a slot is free)
 *   write    take the writer lock; state -> WRITER | generation+1 (DIED too if it took the
 *            lock over from a dead writer); sleep on drain (200 ms slices) until every
 *            slot is free, reclaiming the slots of dead readers
 *   give up  (timeout, abort while draining) state -> no WRITER, generation+1 (DIED kept);
 *            wake readers if waiting; unlock the writer lock
 *   writeUnlock  state -> generation+1 (no WRITER, no DIED: the writer repaired the data);
 *            wake readers if waiting; unlock the writer lock
 *   recover  a waiting reader's slice ends with WRITER set: tryLock() the writer lock,
 *            which takes it over if its holder is dead (mutex.ts); if so, state -> DIED |
 *            generation+1, wake readers; then unlock it
 *   reclaim  a slot whose reader is dead (SEALED: its record fails isAlive; unsealed for
 *            STALE_MS: no thread has its tid; another pid namespace: never) is freed with
 *            one CAS from the claim word judged, by a draining writer or a reader that
 *            finds every slot taken
 * Proof sketch. Exclusion: a reader holds a slot whose claim preceded (seq_cst) its load of
 * state without WRITER; a writer's RMW setting WRITER preceded its scan finding every slot
 * free. Of the reader's (claim, load) and the writer's (set, scan), one pair is first in
 * the single total order of seq_cst operations: if the claim comes before the set, the
 * scan sees the slot; otherwise the load sees WRITER and the reader leaves. A slot is freed
 * only by its holder or by one CAS from a claim word whose record was judged dead (the
 * generation makes a claim word of a later holder differ). Writers exclude each other by
 * the writer lock, and WRITER is set only while it is held (invariant: WRITER => the
 * writer lock is held, by a live or dead thread); so only a thread that took the writer
 * lock over from a dead holder may clear the WRITER that holder left.
 * No lost wakeup: the drain sequence is loaded before the scan, and a reader that frees its
 * slot after the scan sees WRITER (it was set before the scan) and changes drain. A reader
 * counts itself in waiting before it loads state and scans the slots; a readUnlock frees
 * its slot before it loads waiting: either the reader's scan sees the slot free, or the
 * releaser sees the waiter and changes state. writeUnlock changes state before loading
 * waiting, which a reader incremented before loading the state it sleeps on.
 * Writers are not starved: once a writer holds the writer lock and WRITER is set, no new
 * reader gets in, and the readers inside only leave. Readers may wait while writers follow
 * each other (each writeUnlock clears WRITER before the next writer sets it, so woken
 * readers get their turn unless a writer is quicker).
 * Dead holders: a dead writer's WRITER is cleared by whoever takes the writer lock over
 * (a writer, which keeps WRITER and sets DIED, or a waiting reader); a dead reader's slot
 * is reclaimed by the draining writer within a slice or two (1 s for an unsealed one).
 *
 * This file holds the layout, the kinds and the reader slots; rwlock.ts is the protocol.
 */
import { FastipcError } from '../core/errors';
import { isAlive, currentThread, threadExists } from '../core/identity';
import { LINE } from './header';
import { defineKind } from './kinds';

export const RWLOCK_WORDS = {
  STATE: 2,
  WAITING: 3,
  DRAIN: 4,
  WRITER: 1,
  DIED: 2,
  GENERATION: 4,
  GENERATION_MASK: 0x7ffffffc,
  /** Reader slots: a read lock each; more readers than this wait for one. */
  SLOTS: 32,
} as const;
const { STATE, WAITING, WRITER, DIED, SLOTS } = RWLOCK_WORDS;
const TID_MASK = 0x3fffff;
const CLAIM_GEN = 0x400000;
const CLAIM_GEN_MASK = 0x3fc00000;
const SEALED = 0x40000000;
const SLOT_LINES = SLOTS / 2;
/** The first line of reader slots (line 1 is the writer lock). */
const SLOT_LINE = 2;
export const RWLOCK_BYTES = (SLOT_LINE + SLOT_LINES) * LINE;
/** Longest sleep between checks for dead readers (draining) or a dead writer (reading). */
export const CHECK_MS = 200;
/** How long a claimed, unsealed slot is given to be sealed (owner.ts: the same grace). */
const STALE_MS = 1000;
/** Least time between two judgements of the slots by one handle that has not slept. */
const RECHECK_MS = 50;
const W = LINE / 4;

/** Word index (in the RwLock's view) of slot `i`'s claim word. */
function slotWord(i: number): number {
  return (SLOT_LINE + (i >> 1)) * W + 2 + (i & 1) * 6;
}

export const RWLOCK_KIND = defineKind({
  name: 'RwLock',
  tag: 'RWLK',
  bytes: RWLOCK_BYTES,
  named: 'rwlock',
  version: 1,
  fields: [
    {
      name: 'state',
      meaning: (v) => `${v & WRITER ? 'WRITER' : 'no writer'}${v & DIED ? ' | DIED' : ''}, generation ${v >>> 2}`,
    },
    { name: 'readers waiting' },
    { name: 'drain sequence' },
  ],
  decode: (w) => ({
    writeLocked: (w[STATE] & WRITER) !== 0,
    writerDied: (w[STATE] & DIED) !== 0,
    waiting: w[WAITING],
  }),
  describe: (s) =>
    (s.writeLocked ? 'write-locked (or draining readers)' : 'no writer') +
    (s.waiting ? `, ${s.waiting} readers waiting` : '') +
    (s.writerDied ? ', a writer died holding it' : ''),
});

/** The kind of a RwLock's writer lock (a Mutex on its line 1). */
export const RWLOCK_WRITER_KIND = defineKind({
  name: 'RwLock writer lock',
  tag: 'RWLW',
  bytes: 64,
  named: 'rwlock-writer',
  part: true,
  version: 1,
  fields: [],
  decode: () => ({}),
  describe: () => '',
});

/**
 * Who holds the RwLock whose words these are (index 0 = its magic), for display and for
 * locks.query(): the writer (while WRITER is set: the writer lock's recorded holder, once
 * its record is written) and every reader whose slot is claimed.
 */
export function rwLockHolders(
  words: ArrayLike<number>,
): Array<{ mode: 'exclusive' | 'shared'; pid: number; tid: number }> {
  const out: Array<{ mode: 'exclusive' | 'shared'; pid: number; tid: number }> = [];
  if (words[STATE] & WRITER) {
    const base = W; // the writer lock (a Mutex) on line 1: its state at +8, its owner record from +12
    const tid = words[base + 2] & 0x0fffffff;
    if (tid !== 0 && words[base + 6] === tid) out.push({ mode: 'exclusive', pid: words[base + 3], tid });
  }
  for (let i = 0; i < SLOTS; i++) {
    const claim = words[slotWord(i)];
    const tid = claim & TID_MASK;
    if (tid !== 0) out.push({ mode: 'shared', pid: claim & SEALED ? words[slotWord(i) + 1] : 0, tid });
  }
  return out;
}

/**
 * What a scan of the slots found: every slot free; some reader holding one; one held by
 * the calling thread itself (a sync writer would wait for itself for ever).
 */
export const SCAN = { EMPTY: 0, BUSY: 1, SELF: 2 } as const;
type Scan = (typeof SCAN)[keyof typeof SCAN];

/**
 * One handle's view of the reader slots: claiming and freeing one as the calling thread,
 * finding its own, and judging whether the holders of the others still run.
 */
export class ReaderSlots {
  readonly tid: number;
  readonly pid: number;
  private readonly startLo: number;
  private readonly startHi: number;
  private readonly ns: number;
  /** Where this thread's probing starts (a hash of its tid), so threads spread out. */
  private readonly home: number;
  /** Per slot: the unsealed claim word last seen, and since when. */
  private readonly unsealed = new Int32Array(SLOTS);
  private readonly unsealedSince = new Float64Array(SLOTS);
  private judgedAt = -Infinity;

  constructor(private readonly view: Int32Array) {
    const me = currentThread();
    this.tid = me.tid & TID_MASK;
    this.pid = me.pid;
    this.startLo = (me.start % 2 ** 32) | 0;
    this.startHi = Math.floor(me.start / 2 ** 32) | 0;
    this.ns = me.ns;
    this.home = Math.imul(this.tid, 0x9e3779b1) >>> 27;
  }

  /** Claims a free slot and records the calling thread in it: its word index, or -1 if none is free. */
  claim(): number {
    const v = this.view;
    for (let k = 0; k < SLOTS; k++) {
      const at = slotWord((this.home + k) & (SLOTS - 1));
      const word = Atomics.load(v, at);
      if ((word & TID_MASK) !== 0) continue;
      const claim = this.tid | ((word + CLAIM_GEN) & CLAIM_GEN_MASK);
      if (Atomics.compareExchange(v, at, word, claim) !== word) continue;
      // (only the fields that differ: a thread usually claims the same slot again)
      if (v[at + 2] !== this.startLo) v[at + 2] = this.startLo;
      if (v[at + 3] !== this.startHi) v[at + 3] = this.startHi;
      if (v[at + 1] !== this.pid) v[at + 1] = this.pid;
      if (v[at + 4] !== this.ns) v[at + 4] = this.ns;
      Atomics.store(v, at, claim | SEALED);
      return at;
    }
    return -1;
  }

  /** Frees slot `at`, which the calling thread holds (its claim generation stays). */
  release(at: number): void {
    Atomics.store(this.view, at, this.view[at] & CLAIM_GEN_MASK);
  }

  /** Whether slot `at` is held by the calling thread. */
  isMine(at: number): boolean {
    const v = this.view;
    const word = Atomics.load(v, at);
    return (
      (word & (SEALED | TID_MASK)) === (SEALED | this.tid) &&
      v[at + 1] === this.pid &&
      v[at + 2] === this.startLo &&
      v[at + 3] === this.startHi
    );
  }

  /** A slot the calling thread holds (taken through another handle), or -1. */
  findMine(): number {
    for (let i = 0; i < SLOTS; i++) if (this.isMine(slotWord(i))) return slotWord(i);
    return -1;
  }

  /** Read locks held (slots claimed). */
  count(): number {
    let n = 0;
    for (let i = 0; i < SLOTS; i++) if ((Atomics.load(this.view, slotWord(i)) & TID_MASK) !== 0) n++;
    return n;
  }

  /**
   * Whether every slot is free. Slots of dead readers are reclaimed when `force`, or when
   * RECHECK_MS (CHECK_MS if `slow`) have passed since this handle last judged them.
   */
  scan(force: boolean, slow = false): Scan {
    const now = performance.now();
    const judge = force || now - this.judgedAt >= (slow ? CHECK_MS : RECHECK_MS);
    if (judge) this.judgedAt = now;
    let result: Scan = SCAN.EMPTY;
    for (let i = 0; i < SLOTS; i++) {
      const at = slotWord(i);
      if ((Atomics.load(this.view, at) & TID_MASK) === 0) continue;
      if (this.isMine(at)) result = SCAN.SELF;
      else if ((!judge || !this.reclaimIfDead(i, at, now)) && result === SCAN.EMPTY) result = SCAN.BUSY;
    }
    return result;
  }

  /** Frees slot `i` (claim word `at`) if its reader is dead: true if it is free now. */
  private reclaimIfDead(i: number, at: number, now: number): boolean {
    const v = this.view;
    const word = Atomics.load(v, at);
    const tid = word & TID_MASK;
    if (tid === 0) return true;
    if (!(word & SEALED)) {
      // claimed, record not yet sealed: killed in between, or just slow (owner.ts: the same)
      if (this.unsealed[i] !== word) {
        this.unsealed[i] = word;
        this.unsealedSince[i] = now;
        return false;
      }
      if (now - this.unsealedSince[i] < STALE_MS || threadExists(tid)) return false;
    } else {
      const pid = v[at + 1];
      const lo = v[at + 2];
      const hi = v[at + 3];
      const ns = v[at + 4];
      if (Atomics.load(v, at) !== word || isAlive(pid, tid, (lo >>> 0) + (hi >>> 0) * 2 ** 32, ns)) return false;
      // judged dead: the record must still be the one judged (not a later claim's, half-read)
      if (v[at + 1] !== pid || v[at + 2] !== lo || v[at + 3] !== hi || v[at + 4] !== ns) return false;
    }
    return Atomics.compareExchange(v, at, word, word & CLAIM_GEN_MASK) === word;
  }
}

/** ERR_FASTIPC_RECURSIVE for a sync call of a thread that holds `what` already. */
export function nested(method: string, what: string): FastipcError {
  return new FastipcError(
    'ERR_FASTIPC_RECURSIVE',
    `RwLock.${method}(): the calling thread holds ${what} already; the lock is not recursive, ` +
      'and a read lock is never upgraded: release it first',
  );
}
