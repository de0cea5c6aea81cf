/**
 * What every lock-like primitive offers on top of take/release: a Disposable for `using`,
 * and run-this-holding-it, sync and async (ETIMEDOUT when the take timed out). `Lock` gives
 * them to a primitive with lock/lockAsync/unlock; the helpers serve other names (read/write).
 */
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import { FastipcError } from '../core/errors';
import { Primitive } from './primitive';

/** What acquire() and friends return: disposed by `using` or `await using`, it releases. */
export type Held = Disposable & AsyncDisposable;

/** A Disposable (and AsyncDisposable) that calls `release` once, however often it is disposed. */
export function holding(release: () => void): Held {
  let held = true;
  const dispose = () => {
    if (held) {
      held = false;
      release();
    }
  };
  return { [Symbol.dispose]: dispose, [Symbol.asyncDispose]: async () => dispose() };
}

function timedOut(what: string): FastipcError {
  return new FastipcError('ETIMEDOUT', `${what}: timed out`);
}

/** `taken` is what the take returned: a Disposable holding it, or ETIMEDOUT. */
export function held(taken: boolean, what: string, release: () => void): Held {
  if (!taken) throw timedOut(what);
  return holding(release);
}

/** Throws a TypeError unless `fn` is a function (before anything is taken). */
export function checkFunction(fn: unknown, what: string): void {
  if (typeof fn !== 'function') throw new TypeError(`${what}: fn must be a function`);
}

/** Runs `fn` having taken it (`taken`), releasing it however fn ends; ETIMEDOUT if not taken. */
export function runHolding<T>(taken: boolean, what: string, fn: () => T, release: () => void): T {
  if (!taken) throw timedOut(what);
  try {
    return fn();
  } finally {
    release();
  }
}

/** As runHolding, for an async take and a sync or async `fn`. */
export async function runHoldingAsync<T>(
  taken: Promise<boolean>,
  what: string,
  fn: () => T | Promise<T>,
  release: () => void,
): Promise<T> {
  if (!(await taken)) throw timedOut(what);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** A primitive with lock(), lockAsync() and unlock(), and what comes with them. */
export abstract class Lock extends Primitive {
  /** (a no-op once the memory is closed: closing released what this thread held) */
  private readonly release = () => void (this.view.length === 0 || this.unlock());

  /** Takes the lock, sleeping if need be: true when held, false when the timeout passed. */
  abstract lock(options?: WaitOptions): boolean;
  /** As lock(), without blocking the event loop. */
  abstract lockAsync(options?: AsyncWaitOptions): Promise<boolean>;
  /** Releases the lock. */
  abstract unlock(): void;

  /**
   * Takes the lock for a `using` block: `using _ = lock.acquire()`.
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as lock() otherwise
   */
  acquire(options?: WaitOptions): Held {
    return held(this.lock(options), `${this.kind.name}.acquire()`, this.release);
  }

  /**
   * Runs `fn` holding the lock, and releases it however `fn` ends.
   * @returns what `fn` returns
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  withLock<T>(fn: () => T, options?: WaitOptions): T {
    checkFunction(fn, `${this.kind.name}.withLock(fn)`);
    return runHolding(this.lock(options), `${this.kind.name}.withLock()`, fn, this.release);
  }

  /**
   * As acquire(), without blocking the event loop: `using _ = await lock.acquireAsync()`
   * (or `await using`: the result is AsyncDisposable too).
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as lockAsync() otherwise
   */
  async acquireAsync(options?: AsyncWaitOptions): Promise<Held> {
    return held(await this.lockAsync(options), `${this.kind.name}.acquireAsync()`, this.release);
  }

  /**
   * Runs `fn` (sync or async) holding the lock, and releases it however `fn` ends.
   * @returns a promise of what `fn` returns (or resolves to)
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  async withLockAsync<T>(fn: () => T | Promise<T>, options?: AsyncWaitOptions): Promise<T> {
    checkFunction(fn, `${this.kind.name}.withLockAsync(fn)`);
    return runHoldingAsync(this.lockAsync(options), `${this.kind.name}.withLockAsync()`, fn, this.release);
  }
}
