/**
 * The wait driver: the loop that every blocking call runs, written once, in a sync and an
 * async form that share everything but the sleep itself (musl's __timedwait serves every
 * primitive the same way). A primitive supplies a WaitProtocol for each kind of wait it
 * offers (taking a lock, taking a token, seeing an event), made once per handle so that a
 * wait allocates nothing, and passes a per-call number `ctx` (an event's state at the
 * call, say) through to it.
 *
 *   deadline now     grab() || recheck(word, false): take it if that needs no waiting;
 *                    never sleeps, never registers
 *   spin (sync)      grab() up to the protocol's Spinner budget (spin.ts), when it has one
 *   enter()          count this thread among the sleepers, if the protocol counts them
 *   loop
 *     attempt()      take it as a waiter -> true (done); else the word's value to sleep on:
 *                    one under which trying again is pointless until the word changes.
 *                    `sleptAt` tells a newcomer (-1) from a waiter that has slept (when it
 *                    first went to sleep): what is handed on to sleepers (fairness, in
 *                    mutex.ts and semaphore.ts) only the latter may take
 *     deadline?      recheck(value, false): a last look (a dead holder to take over) -> done
 *     sleep          on word `index` (or sleepIndex()) while it holds value, at most slice() ms: bounded
 *                    slices let the protocol look at what no wake announces (a dead owner)
 *     timed out?     recheck(word, true) -> done
 *   exit(taken)      undo enter(); leaving without it (timeout, abort, error): pass on a
 *                    wake that this waiter may have absorbed
 *
 * Async only: with a TurnQueue (one per handle and kind of wait), the async waits of a
 * thread queue in FIFO order and only the head runs the loop above: the others wait for
 * their turn (their deadline and signal apply meanwhile), so a thread's tasks neither wake
 * each other for nothing nor take the primitive ahead of each other through their async
 * calls (the primitive's async fast path must not take it while the queue is busy; its sync
 * calls still may). A queued wait counts as a sleeper (enter) and, giving up, leaves with
 * exit(false, true): it never looked at the word. The signal aborts the sleep (exit(false),
 * then its rejection goes on);
 * memory closed mid-wait (the handle's view is detached: length 0) ends the wait with
 * ERR_FASTIPC_CLOSED and never touches the memory again (its sleepers were uncounted by
 * Primitive#dropSleepers). The sync form cannot see its memory closed: the thread that
 * would close it is the one asleep.
 */
import type { Backend } from '../backend';
import { closedError, FastipcError } from '../core/errors';
import { remaining, type AbortSignalLike } from '../core/deadline';
import type { Spinner } from './spin';

export interface WaitProtocol {
  /** The int32 word (index in the handle's view) that waiters sleep on. */
  readonly index: number;
  /** Spin before sleeping (sync waits only); omitted: never spin. */
  readonly spinner?: Spinner;
  /** Longest single sleep on `value`, ms (Infinity: until woken or the deadline). */
  slice(async: boolean, value: number): number;
  /**
   * The word that the value attempt() just returned belongs to, if not always `index`: a
   * starving sync waiter sleeps on a queue of its own (starvers, below), whose slices the
   * driver sets (slice() is not asked for them). Omitted: `index`.
   */
  sleepIndex?(): number;
  /** Takes it if that needs no waiting and no registration; true if taken. */
  grab(ctx: number): boolean;
  /** Registers this waiter (a sleepers count), before the first attempt. */
  enter(): void;
  /**
   * Takes it as a registered waiter (true), or returns the word's value to sleep on.
   * `sleptAt`: performance.now() when this wait first slept, -1 before that. `async`: the
   * wait is an async one (which may be aborted: it does not sleep on the starvers' queue).
   */
  attempt(ctx: number, sleptAt: number, async: boolean): true | number;
  /** What only time tells (a dead holder): true if it took it. `slept`: a slice just timed out. */
  recheck(value: number, slept: boolean): boolean;
  /**
   * Unregisters; `taken` false: leaving without it, so pass on a wake it may have had.
   * `queued`: the wait only queued in a TurnQueue and never looked at the word.
   */
  exit(taken: boolean, queued?: boolean): void;
}

/** A waiter starves once it has waited this long since it first slept (Go's sync.Mutex: 1 ms). */
export const STARVE_MS = 1;

/**
 * Starving sync waiters sleep on a word of their own (a wake sequence beside the
 * primitive's word), not in the primitive's queue. Under load a waiter usually starves by
 * being woken and losing the race to a barger, so in the primitive's queue it would sleep
 * again behind every sleeper that came after it (newcomers sleeping on a reservation, too),
 * and a handoff would go to one of them (seen: 30-70 ms waits behind two threads that took
 * the lock in turn, 4 workers, 0.1 ms holds). A release that hands on wakes this queue
 * first (wakeStarvers), so the handoff reaches a starving waiter, in the order they slept.
 * The starver reads the sequence before it asks for the handoff (an RMW on the primitive's
 * word) and sleeps on that value; a releaser that saw the ask adds 1 to it before it
 * wakes, so a starver is woken (maybe another one) or its sleep returns at once. A wake
 * that misses a starver (an ask some path dropped: a taker that did not starve, a
 * takeover) costs it at most its slice: STARVER_SLICE_MS at first, doubled after each that
 * times out, up to STARVER_SLICE_MAX_MS (so an idle waiter, one that starved because
 * nothing came, is back to the usual slice within a few); the driver keeps it per wait.
 * Only sync waits sleep here: an aborted async wait lingers in its backend's queue, and a
 * wake it absorbs is passed on in that queue (lib/backend), where nothing else might
 * sleep. A starving async waiter asks for the handoff as a sync one does, and sleeps in
 * the primitive's queue (so it is served as before this queue, the order it slept in).
 * Nothing registers, so a dead starver leaves nothing behind.
 */
export const STARVER_SLICE_MS = 5;

/** The longest slice of a starver: the usual slice of the Mutex and the Semaphore (200 ms). */
const STARVER_SLICE_MAX_MS = 200;

/** Wakes up to `n` starving waiters sleeping on word `seq` (see STARVER_SLICE_MS); how many were asleep. */
export function wakeStarvers(impl: Backend, view: Int32Array, seq: number, n: number): number {
  Atomics.add(view, seq, 1);
  return impl.wake(view, seq, n);
}

/** Whether a waiter that first slept at `sleptAt` (-1: never) starves (reads the clock only if it slept). */
export function starved(sleptAt: number): boolean {
  return sleptAt >= 0 && performance.now() - sleptAt >= STARVE_MS;
}

/** Runs a sync wait to its end: true if taken, false at the deadline. */
export function waitSync(impl: Backend, view: Int32Array, p: WaitProtocol, ctx: number, deadline: number): boolean {
  if (remaining(deadline) === 0) return p.grab(ctx) || p.recheck(Atomics.load(view, p.index), false);
  const spinner = p.spinner;
  if (spinner !== undefined) {
    for (let i = spinner.budget(); i > 0; i--) {
      if (p.grab(ctx)) {
        spinner.succeeded();
        return true;
      }
    }
    spinner.failed();
  }
  p.enter();
  let taken = false;
  let sleptAt = -1;
  let starverSlice = STARVER_SLICE_MS;
  try {
    for (;;) {
      const value = p.attempt(ctx, sleptAt, false);
      if (value === true) return (taken = true);
      const index = p.sleepIndex === undefined ? p.index : p.sleepIndex();
      const left = remaining(deadline);
      if (left === 0) return (taken = p.recheck(index === p.index ? value : Atomics.load(view, p.index), false));
      const at = sleptAt < 0 ? performance.now() : sleptAt;
      const slice = index === p.index ? p.slice(false, value) : starverSlice;
      const result = impl.wait(view, index, value, Math.min(left, slice));
      if (result !== 'not-equal') sleptAt = at; // (a wait that never slept leaves a newcomer one)
      if (result === 'timed-out' && index !== p.index) starverSlice = Math.min(slice * 2, STARVER_SLICE_MAX_MS);
      if (result === 'timed-out' && p.recheck(Atomics.load(view, p.index), true)) return (taken = true);
    }
  } finally {
    p.exit(taken);
  }
}

/** As waitSync, without blocking the event loop; `signal` aborts; `turns` queues this thread's waits. */
export async function waitAsync(
  impl: Backend,
  view: Int32Array,
  p: WaitProtocol,
  ctx: number,
  deadline: number,
  signal: AbortSignalLike | undefined,
  turns?: TurnQueue,
): Promise<boolean> {
  if (turns === undefined) return run(impl, view, p, ctx, deadline, signal, false);
  if (remaining(deadline) === 0) return turns.idle && run(impl, view, p, ctx, deadline, signal, false);
  // A queued wait counts as a sleeper (a sleepers count then tells every pending wait).
  p.enter();
  let turn = false;
  try {
    turn = await turns.enter(deadline, signal);
  } finally {
    // no turn (the deadline, an abort): leave as a wait that never looked at the word
    if (!turn && view.length === 0) throw closedError();
    if (!turn) p.exit(false, true);
  }
  if (!turn) return false;
  try {
    return await run(impl, view, p, ctx, deadline, signal, true);
  } finally {
    turns.leave();
  }
}

async function run(
  impl: Backend,
  view: Int32Array,
  p: WaitProtocol,
  ctx: number,
  deadline: number,
  signal: AbortSignalLike | undefined,
  entered: boolean,
): Promise<boolean> {
  if (remaining(deadline) === 0 && !entered) return p.grab(ctx) || p.recheck(Atomics.load(view, p.index), false);
  if (!entered) p.enter();
  let taken: boolean;
  let sleptAt = -1;
  try {
    for (;;) {
      const value = p.attempt(ctx, sleptAt, true);
      if (value === true) {
        taken = true;
        break;
      }
      const index = p.sleepIndex === undefined ? p.index : p.sleepIndex();
      const left = remaining(deadline);
      if (left === 0) {
        taken = p.recheck(index === p.index ? value : Atomics.load(view, p.index), false);
        break;
      }
      const at = sleptAt < 0 ? performance.now() : sleptAt;
      const result = await impl.waitAsync(view, index, value, Math.min(left, p.slice(true, value)), signal);
      if (view.length === 0) throw closedError();
      if (result !== 'not-equal') sleptAt = at;
      if (result === 'timed-out' && p.recheck(Atomics.load(view, p.index), true)) {
        taken = true;
        break;
      }
    }
  } catch (err) {
    if (view.length === 0) throw isClosed(err) ? err : closedError(); // leave the (gone) memory alone
    p.exit(false);
    throw err;
  }
  p.exit(taken);
  return taken;
}

function isClosed(err: unknown): boolean {
  return err instanceof FastipcError && err.code === 'ERR_FASTIPC_CLOSED';
}

/**
 * The FIFO queue of one thread's async waits on one primitive (per handle): `enter()`
 * resolves true when it is the caller's turn (at once when nobody is ahead), false at the
 * deadline, and rejects on abort; whoever got its turn calls `leave()` when done.
 */
export class TurnQueue {
  /** Entries that have entered and not left (the head included). */
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  /** Nobody of this thread waits or has its turn: the fast path may take the primitive. */
  get idle(): boolean {
    return this.busy === 0;
  }

  enter(deadline: number, signal: AbortSignalLike | undefined): Promise<boolean> | boolean {
    if (this.busy++ === 0) return true;
    return new Promise<boolean>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (settle: () => void, gotTurn: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (!gotTurn) {
          this.waiting.splice(this.waiting.indexOf(turn), 1);
          this.busy--;
        }
        settle();
      };
      const turn = () => done(() => resolve(true), true);
      const onAbort = () => done(() => reject(signal!.reason), false);
      this.waiting.push(turn);
      // (setTimeout takes at most 2^31-1 ms: a longer deadline is armed again in pieces)
      const arm = () => {
        const left = remaining(deadline);
        timer = setTimeout(
          () => (remaining(deadline) > 0 ? arm() : done(() => resolve(false), false)),
          Math.min(left, 2 ** 31 - 1),
        );
      };
      if (deadline !== Infinity) arm();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The caller's turn is over: the next in line gets its turn. */
  leave(): void {
    this.busy--;
    this.waiting.shift()?.();
  }
}
