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
 *                    one under which trying again is pointless until the word changes
 *     deadline?      recheck(value, false): a last look (a dead holder to take over) -> done
 *     sleep          on word `index` while it holds value, at most slice() ms: bounded
 *                    slices let the protocol look at what no wake announces (a dead owner)
 *     timed out?     recheck(word, true) -> done
 *   exit(taken)      undo enter(); leaving without it (timeout, abort, error): pass on a
 *                    wake that this waiter may have absorbed
 *
 * Async only: the signal aborts the sleep (exit(false), then its rejection goes on);
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
  /** Longest single sleep, ms (Infinity: until woken or the deadline). */
  slice(async: boolean): number;
  /** Takes it if that needs no waiting and no registration; true if taken. */
  grab(ctx: number): boolean;
  /** Registers this waiter (a sleepers count), before the first attempt. */
  enter(): void;
  /** Takes it as a registered waiter (true), or returns the word's value to sleep on. */
  attempt(ctx: number): true | number;
  /** What only time tells (a dead holder): true if it took it. `slept`: a slice just timed out. */
  recheck(value: number, slept: boolean): boolean;
  /** Unregisters; `taken` false: leaving without it, so pass on a wake it may have had. */
  exit(taken: boolean): void;
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
  try {
    for (;;) {
      const value = p.attempt(ctx);
      if (value === true) return (taken = true);
      const left = remaining(deadline);
      if (left === 0) return (taken = p.recheck(value, false));
      const result = impl.wait(view, p.index, value, Math.min(left, p.slice(false)));
      if (result === 'timed-out' && p.recheck(Atomics.load(view, p.index), true)) return (taken = true);
    }
  } finally {
    p.exit(taken);
  }
}

/** As waitSync, without blocking the event loop; `signal` aborts. */
export async function waitAsync(
  impl: Backend,
  view: Int32Array,
  p: WaitProtocol,
  ctx: number,
  deadline: number,
  signal: AbortSignalLike | undefined,
): Promise<boolean> {
  if (remaining(deadline) === 0) return p.grab(ctx) || p.recheck(Atomics.load(view, p.index), false);
  p.enter();
  let taken: boolean;
  try {
    for (;;) {
      const value = p.attempt(ctx);
      if (value === true) {
        taken = true;
        break;
      }
      const left = remaining(deadline);
      if (left === 0) {
        taken = p.recheck(value, false);
        break;
      }
      const result = await impl.waitAsync(view, p.index, value, Math.min(left, p.slice(true)), signal);
      if (view.length === 0) throw closedError();
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
