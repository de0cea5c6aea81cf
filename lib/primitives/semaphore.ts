/**
 * Semaphore: a counting semaphore. Its words, the protocol and its proof sketch are the
 * table at the top of semaphore-word.ts; this file implements them. Waiting is the wait
 * driver's (wait.ts): `tokenWait` below is this semaphore's protocol.
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import type { Memory } from '../core/memory';
import { checkInteger, checkOptions } from '../core/validate';
import { SEMAPHORE_KIND, SEMAPHORE_WORDS } from './semaphore-word';
import { checkFunction, held, runHolding, runHoldingAsync, type Held } from './guard';
import { Primitive } from './primitive';
import { Spinner } from './spin';
import { starved, TurnQueue, waitAsync, waitSync, wakeStarvers } from './wait';
import type { WaitProtocol } from './wait';

const { COUNT, SLEEPERS, HANDOFF, STARVING, STARVERS } = SEMAPHORE_WORDS;
/** Longest sleep of a newcomer on tokens reserved for the sleepers (whose taker may be gone). */
const HANDOFF_GRACE_MS = 5;
export const SEMAPHORE_MAX = 2147483647; // 2^31 - 1: the count is an int32
/** Longest sync sleep before a waiter looks at the count again (see the protocol). */
const RECHECK_MS = 200;
/** Async waits look again far less often: a thousand pending waits waking every 200 ms would shake the loop. */
const asyncRecheckMs = () => 4000 + Math.random() * 2000;

export { SEMAPHORE_KIND };

/** Options of a new Semaphore. */
export interface SemaphoreOptions extends PrimitiveOptions {
  /** Tokens of a new semaphore, 0 to Semaphore.MAX (default 0); ignored when attaching to an existing one. */
  initial?: number;
}

/** @internal Validates the options that a Semaphore reads (its Named form checks them before opening). */
export function semaphoreInitial(options: SemaphoreOptions): number {
  return options.initial === undefined ? 0 : checkInteger(options.initial, 'initial', 0, SEMAPHORE_MAX);
}

/**
 * A counting semaphore over shared memory: `post()` adds tokens, `wait()` takes one,
 * sleeping while there are none. Between the worker threads of a process over a
 * SharedArrayBuffer, or between processes over a SharedMemory segment (see NamedSemaphore).
 *
 * @example
 * const sab = new SharedArrayBuffer(Semaphore.BYTES);
 * const jobs = new Semaphore(sab, 0, { initial: 0 });
 * // producer                 // consumer (another worker, same sab)
 * jobs.post();                if (jobs.wait({ timeout: 1000 })) handleJob();
 */
export class Semaphore extends Primitive {
  /** Bytes of memory a Semaphore takes. */
  static readonly BYTES = 64 as const;
  /** The largest count: 2^31 - 1. */
  static readonly MAX = SEMAPHORE_MAX;
  private readonly tokenWait: WaitProtocol;
  private readonly turns = new TurnQueue();
  /** The value the last attempt of tokenWait returned is a STARVERS ticket (a starving sync waiter's sleep). */
  private onStarvers = false;
  /** (a no-op once the memory is closed) */
  private readonly release = () => void (this.memoryClosed || this.post());

  /**
   * Creates the semaphore at `byteOffset` in `memory` if the memory there is zeroed, or
   * attaches to the one already there.
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Semaphore.BYTES bytes within it (default 0)
   * @throws {TypeError} memory of another kind, or another primitive at that offset
   * @throws {RangeError} a misaligned or out-of-bounds offset, `initial` out of range
   */
  constructor(memory: Memory, byteOffset = 0, options?: SemaphoreOptions) {
    const opts = checkOptions<SemaphoreOptions>(options);
    const initial = semaphoreInitial(opts);
    super(SEMAPHORE_KIND, memory, byteOffset, opts, (view) => Atomics.store(view, COUNT, initial));
    this.tokenWait = {
      index: COUNT,
      spinner: new Spinner(),
      // a positive count to sleep on is one reserved for the sleepers: a newcomer sleeps on it briefly
      slice: (async, count) => (count > 0 ? HANDOFF_GRACE_MS : async ? asyncRecheckMs() : RECHECK_MS),
      // a starving sync waiter sleeps on the starvers' queue, which post() wakes first (wait.ts)
      sleepIndex: () => (this.onStarvers ? STARVERS : COUNT),
      grab: () => this.tryWait(),
      enter: () => this.addSleeper(SLEEPERS),
      attempt: (_ctx, sleptAt, async) => {
        const v = this.view;
        this.onStarvers = false;
        for (;;) {
          if (sleptAt >= 0 ? this.takeAsSleeper(sleptAt) : this.tryWait()) return true;
          // Sleep on the count seen: 0, or a corrupt negative one (never spin on it), or
          // (a newcomer) tokens reserved for the sleepers.
          const count = Atomics.load(v, COUNT);
          if (count <= 0) {
            const starving = starved(sleptAt);
            // a starving sync waiter: ticket, ask, look again (see the top), sleep on STARVERS
            const ticket = starving && !async ? Atomics.load(v, STARVERS) : 0;
            if (starving) Atomics.store(v, STARVING, 1);
            if (!starving || async) return count;
            if (Atomics.load(v, COUNT) > 0) continue;
            this.onStarvers = true;
            return ticket;
          }
          if (sleptAt < 0 && !this.free(count)) return count;
        }
      },
      recheck: () => false,
      exit: (taken, queued) => {
        // Leaving without a token while tokens remain and others sleep: the wake that a
        // post() meant for one of them may have come to us, so pass it on. The last
        // sleeper to leave leaves no reservation behind.
        const before = this.removeSleeper(SLEEPERS);
        const passOn = before > 1 && !taken && !queued;
        if (passOn && Atomics.load(this.view, COUNT) > 0 && wakeStarvers(this.impl, this.view, STARVERS, 1) === 0) {
          this.impl.wake(this.view, COUNT, 1);
        }
        if (before === 1) {
          if (Atomics.load(this.view, HANDOFF) !== 0) Atomics.store(this.view, HANDOFF, 0);
          if (Atomics.load(this.view, STARVING) !== 0) Atomics.store(this.view, STARVING, 0);
        }
      },
    };
  }

  /**
   * Adds `n` tokens (default 1) and wakes up to `n` sleepers; no system call when nobody sleeps.
   * @throws {RangeError} `n` not an integer from 1 to Semaphore.MAX, or the count would pass Semaphore.MAX
   *   (then nothing is added)
   */
  post(n = 1): void {
    if (n !== 1) checkInteger(n, 'n', 1, SEMAPHORE_MAX);
    const v = this.view;
    let count = Atomics.load(v, COUNT);
    if (this.overflows(count, n)) throw this.overflow(n, count);
    // a starving waiter asked, and sleepers remain: reserve a token for them, before it is there
    const reserve =
      Atomics.load(v, STARVING) !== 0 && Atomics.exchange(v, STARVING, 0) !== 0 && Atomics.load(v, SLEEPERS) > 0;
    if (reserve) Atomics.add(v, HANDOFF, 1);
    for (;;) {
      if (this.overflows(count, n)) {
        if (reserve) decrementIfPositive(v, HANDOFF);
        throw this.overflow(n, count);
      }
      const seen = Atomics.compareExchange(v, COUNT, count, count + n);
      if (seen === count) break;
      count = seen;
    }
    const sleepers = Atomics.load(v, SLEEPERS);
    if (sleepers === 0) return;
    // starving waiters first (they sleep on STARVERS): when one asked, before or since the add,
    // or a reservation is still there (a post just before this one woke a starver for it)
    let wakes = Math.min(n, sleepers);
    if (reserve || Atomics.load(v, STARVING) !== 0 || Atomics.load(v, HANDOFF) !== 0) {
      wakes -= wakeStarvers(this.impl, v, STARVERS, wakes);
    }
    if (wakes > 0) this.impl.wake(v, COUNT, wakes);
  }

  /**
   * Takes a token, sleeping until one comes; blocks the calling thread.
   * @returns true when a token was taken, false only when the timeout passed
   * @throws {TypeError|RangeError} bad options
   */
  wait(options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    const count = Atomics.load(this.view, COUNT);
    if (count > 0 && this.free(count) && Atomics.compareExchange(this.view, COUNT, count, count - 1) === count) {
      return true;
    }
    return waitSync(this.impl, this.view, this.tokenWait, 0, deadlineOf(options));
  }

  /**
   * Takes a token if one is there (and not reserved for a waiter that has waited long); never sleeps.
   * @returns whether it took one
   */
  tryWait(): boolean {
    const v = this.view;
    let count = Atomics.load(v, COUNT);
    while (count > 0 && this.free(count)) {
      const seen = Atomics.compareExchange(v, COUNT, count, count - 1);
      if (seen === count) return true;
      count = seen;
    }
    return false;
  }

  /**
   * As wait(), without blocking the event loop.
   * @returns a promise of true when a token was taken, false when the timeout passed; it
   *   rejects with `signal.reason` on abort (taking no token), and with a FastipcError
   *   ERR_FASTIPC_CLOSED if the memory is closed meanwhile
   */
  async waitAsync(options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    if (this.turns.idle && this.tryWait()) return true; // not ahead of this thread's queued waits (FIFO)
    return waitAsync(this.impl, this.view, this.tokenWait, 0, deadlineOf(options), signal, this.turns);
  }

  /**
   * Takes a token for a `using` block: `using _ = sem.acquire()` posts it back at the block's end.
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as wait() otherwise
   */
  acquire(options?: WaitOptions): Held {
    return held(this.wait(options), 'Semaphore.acquire()', this.release);
  }

  /**
   * As acquire(), without blocking the event loop: `using _ = await sem.acquireAsync()` (or `await using`).
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as waitAsync() otherwise
   */
  async acquireAsync(options?: AsyncWaitOptions): Promise<Held> {
    return held(await this.waitAsync(options), 'Semaphore.acquireAsync()', this.release);
  }

  /**
   * Runs `fn` holding a token, and posts it back however `fn` ends.
   * @returns what `fn` returns
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  withPermit<T>(fn: () => T, options?: WaitOptions): T {
    checkFunction(fn, 'Semaphore.withPermit(fn)');
    return runHolding(this.wait(options), 'Semaphore.withPermit()', fn, this.release);
  }

  /**
   * Runs `fn` (sync or async) holding a token, without blocking the event loop; posts it back however `fn` ends.
   * @returns a promise of what `fn` returns (or resolves to)
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  async withPermitAsync<T>(fn: () => T | Promise<T>, options?: AsyncWaitOptions): Promise<T> {
    checkFunction(fn, 'Semaphore.withPermitAsync(fn)');
    return runHoldingAsync(this.waitAsync(options), 'Semaphore.withPermitAsync()', fn, this.release);
  }

  /**
   * A waiter that has slept takes any token, and one reservation with it if there is one;
   * if it starved, it asks for the next token to be reserved too (see the top).
   */
  private takeAsSleeper(sleptAt: number): boolean {
    const v = this.view;
    let count = Atomics.load(v, COUNT);
    while (count > 0) {
      const seen = Atomics.compareExchange(v, COUNT, count, count - 1);
      if (seen === count) {
        // took a reservation, starving, others still waiting: ask for the next one too
        if (decrementIfPositive(v, HANDOFF) && starved(sleptAt) && Atomics.load(v, SLEEPERS) > 1) {
          Atomics.store(v, STARVING, 1);
        }
        return true;
      }
      count = seen;
    }
    return false;
  }

  /** Whether a newcomer may take from `count`: more tokens than reservations, or nobody to reserve them for. */
  private free(count: number): boolean {
    return count > Atomics.load(this.view, HANDOFF) || Atomics.load(this.view, SLEEPERS) === 0;
  }

  private overflows(count: number, n: number): boolean {
    return count > SEMAPHORE_MAX - n;
  }

  private overflow(n: number, count: number): RangeError {
    return new RangeError(`Semaphore.post(${n}): the count ${count} would pass the maximum ${SEMAPHORE_MAX}`);
  }

  /** @internal Before the memory is closed under pending async waits (NamedSemaphore#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(SLEEPERS);
  }

  /** Tokens available now. */
  get value(): number {
    return Atomics.load(this.view, COUNT);
  }
}

/** Takes 1 off word `index` if it is positive; whether it did. */
function decrementIfPositive(v: Int32Array, index: number): boolean {
  for (let h = Atomics.load(v, index); h > 0;) {
    const was = Atomics.compareExchange(v, index, h, h - 1);
    if (was === h) return true;
    h = was;
  }
  return false;
}
