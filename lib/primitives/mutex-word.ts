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
 * | +32    | starvers   | a wake sequence that starving waiters sleep on (fairness)     |
 * | +36..63| reserved   | zero                                                          |
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
 *   try      HANDOFF | WAITERS -> WAITERS -> tid | WAITERS   tryLock or timeout 0 on a
 *                                           reservation: wake(1); if it woke nobody (the
 *                                           one woken for it died, or an aborted wait
 *                                           took the wake), void the reservation, take it
 *   starvers  a starving sync waiter sleeps on the starvers word, not on state (wait.ts,
 *            STARVER_SLICE_MS): it reads starvers (its ticket), then ORs in WAITERS |
 *            HANDOFF; held -> it sleeps while starvers == ticket, for a slice of
 *            STARVER_SLICE_MS doubled after each that timed out; free -> it takes it
 *   unlock   ... HANDOFF ... -> HANDOFF | WAITERS, then starvers += 1, wake(starvers, 1);
 *            only if that woke nobody, wake(state, 1) as above. A leaving waiter and
 *            tryLock on a reservation also wake a starver first; forceUnlock wakes both
 * Why a starving waiter gets the lock: once HANDOFF is set no unlock frees the lock for
 * newcomers; each unlock hands it on, to a starving waiter first: they sleep in a queue of
 * their own, which the backends wake in the order they slept (the kernel's futex queue,
 * V8's waiter list). In the state's queue a starving waiter would not be near the front:
 * it starved by being woken and losing to a barger, and slept again behind every sleeper
 * that came after it, newcomers sleeping on the reservation too, which would then take the
 * handoff and, not starved, clear HANDOFF; two threads taking the lock in turn kept a
 * third waiting 30-70 ms that way (4 workers, 0.1 ms holds, before the starvers' queue).
 * The starvers' queue loses no handoff: the starver reads its ticket before its OR; an
 * unlock whose CAS comes after the OR sees HANDOFF and adds to starvers after the ticket
 * was read (a starver is woken, maybe another one, or this one's sleep returns at once),
 * and one whose CAS comes before it leaves the lock free, which the OR sees. Async waits
 * do not sleep there (an aborted one would absorb a wake for the queue: wait.ts). A taker that did not starve clears
 * HANDOFF (barging resumes: the queue moves fast); one that starved keeps it, so handing
 * on goes on while waiters starve. Nothing counts starving waiters, so a dead one leaves
 * nothing behind; a reservation whose taker died is taken by another sleeper at its next
 * slice, or by a newcomer after one HANDOFF_GRACE_MS sleep. Mutual exclusion is unchanged:
 * every take is still one CAS from a state with TID 0.
 * The bound holds in practice, not strictly: a woken starver can still lose the
 * reservation to a waiter woken earlier (any waiter that has slept may take it), a starver
 * re-queues at the tail of its queue when a slice ends, and HANDOFF can be dropped while a
 * starver sleeps (a taker that did not starve after a starvers wake found nobody asleep, a
 * takeover); a starver then waits out its slice and asks again.
 * The layout stays version 2: starvers was a zero word, and a fastipc that does not know
 * it hands on through the state's queue: a starver then waits out its slices (unfair, not
 * stuck).
 * In one thread, async lockers also queue in FIFO order (wait.ts, TurnQueue): only the
 * head waits on the word, and no lockAsync() of the thread takes the lock ahead of them
 * (a sync lock() or tryLock() of the same thread still may).
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
 * This file holds the layout and the kind (how `fastipc inspect` shows the words);
 * mutex.ts implements the protocol.
 */
import { defineKind } from './kinds';
import { describeOwner, OWNER_FIELDS, ownerText } from './owner';

/**
 * The Mutex's word indexes (int32, from byteOffset) and the bits of its state word
 * (mutex.ts). A const enum, so that the bundle has them as literals: V8 does not fold a
 * module's constants, and loading and checking them cost the uncontended lock+unlock pair
 * 21 of its 378 instructions (callgrind; the raw Atomics pair is 275). With the class
 * fields change (tsconfig: useDefineForClassFields) it went from 1.17-1.32x to 1.03-1.17x
 * the raw pair (bench/mutex.bench.mjs's loops, alternating builds; BENCHMARKS.md).
 */
export const enum MUTEX_WORDS {
  STATE = 2,
  OWNER_PID = 3,
  OWNER_START_LO = 4,
  OWNER_START_HI = 5,
  OWNER_TID = 6,
  STARVERS = 8,
  UNLOCKED = 0,
  TID_MASK = 0x0fffffff,
  HANDOFF = 0x10000000,
  OWNER_DIED = 0x20000000,
  WAITERS = 0x40000000,
}

function stateText(state: number): string {
  const tid = state & MUTEX_WORDS.TID_MASK;
  const parts = [tid ? `tid ${tid}` : 'unlocked'];
  if (state & MUTEX_WORDS.HANDOFF) parts.push('HANDOFF');
  if (state & MUTEX_WORDS.OWNER_DIED) parts.push('OWNER_DIED');
  if (state & MUTEX_WORDS.WAITERS) parts.push('WAITERS');
  return parts.join(' | ');
}

export const MUTEX_KIND = defineKind({
  name: 'Mutex',
  tag: 'MUTX',
  bytes: 64,
  named: 'mutex',
  version: 2,
  fields: [{ name: 'state', meaning: stateText }, ...OWNER_FIELDS, { name: 'starvers' }],
  decode: (w) => {
    const state = w[MUTEX_WORDS.STATE];
    return {
      locked: (state & MUTEX_WORDS.TID_MASK) !== 0,
      ...describeOwner(w, MUTEX_WORDS.OWNER_PID, state & MUTEX_WORDS.TID_MASK), // ownerPid, ownerTid, ownerAlive
      ownerDied: (state & MUTEX_WORDS.OWNER_DIED) !== 0,
      waiters: (state & MUTEX_WORDS.WAITERS) !== 0,
      ...(state & MUTEX_WORDS.HANDOFF ? { handoff: true } : {}), // only when set: the usual state keeps its fields
    };
  },
  describe: (s) =>
    (s.locked ? ownerText(s) : 'unlocked') +
    (s.waiters ? ', waiters' : '') +
    (s.handoff ? (s.locked ? ', to be handed to a waiter' : ', reserved for a waiter') : '') +
    (s.locked && s.ownerDied ? ', recovered from a dead owner' : ''),
});
