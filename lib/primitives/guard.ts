/**
 * What every lock-like primitive offers on top of take/release: a Disposable for `using`,
 * and run-this-holding-it, sync and async (ETIMEDOUT when the take timed out). `Lock` gives
 * them to a primitive with lock/lockAsync/unlock, `ReadWriteLock` to one with a read and a
 * write side; the helpers serve other names.
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

/** A primitive with a read side and a write side, each taken and released, and what comes with them. */
export abstract class ReadWriteLock extends Primitive {
  /** (no-ops once the memory is closed: closing released what this handle held) */
  private readonly releaseRead = () => void (this.view.length === 0 || this.readUnlock());
  private readonly releaseWrite = () => void (this.view.length === 0 || this.writeUnlock());

  /** Takes a read lock, sleeping if need be: true when held, false when the timeout passed. */
  abstract readLock(options?: WaitOptions): boolean;
  /** As readLock(), without blocking the event loop. */
  abstract readLockAsync(options?: AsyncWaitOptions): Promise<boolean>;
  /** Releases a read lock. */
  abstract readUnlock(): void;
  /** Takes the write lock, sleeping if need be: true when held, false when the timeout passed. */
  abstract writeLock(options?: WaitOptions): boolean;
  /** As writeLock(), without blocking the event loop. */
  abstract writeLockAsync(options?: AsyncWaitOptions): Promise<boolean>;
  /** Releases the write lock. */
  abstract writeUnlock(): void;

  /**
   * Takes a read lock for a `using` block: `using _ = rw.read()`.
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as readLock() otherwise
   */
  read(options?: WaitOptions): Held {
    return held(this.readLock(options), `${this.kind.name}.read()`, this.releaseRead);
  }

  /**
   * Takes the write lock for a `using` block: `using _ = rw.write()`.
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as writeLock() otherwise
   */
  write(options?: WaitOptions): Held {
    return held(this.writeLock(options), `${this.kind.name}.write()`, this.releaseWrite);
  }

  /**
   * As read(), without blocking the event loop: `await using _ = await rw.readAsync()`.
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as readLockAsync() otherwise
   */
  async readAsync(options?: AsyncWaitOptions): Promise<Held> {
    return held(await this.readLockAsync(options), `${this.kind.name}.readAsync()`, this.releaseRead);
  }

  /**
   * As write(), without blocking the event loop: `await using _ = await rw.writeAsync()`.
   * @throws {FastipcError} ETIMEDOUT when the timeout passed; as writeLockAsync() otherwise
   */
  async writeAsync(options?: AsyncWaitOptions): Promise<Held> {
    return held(await this.writeLockAsync(options), `${this.kind.name}.writeAsync()`, this.releaseWrite);
  }

  /**
   * Runs `fn` holding a read lock, and releases it however `fn` ends.
   * @returns what `fn` returns
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  withRead<T>(fn: () => T, options?: WaitOptions): T {
    checkFunction(fn, `${this.kind.name}.withRead(fn)`);
    return runHolding(this.readLock(options), `${this.kind.name}.withRead()`, fn, this.releaseRead);
  }

  /**
   * Runs `fn` holding the write lock, and releases it however `fn` ends.
   * @returns what `fn` returns
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  withWrite<T>(fn: () => T, options?: WaitOptions): T {
    checkFunction(fn, `${this.kind.name}.withWrite(fn)`);
    return runHolding(this.writeLock(options), `${this.kind.name}.withWrite()`, fn, this.releaseWrite);
  }

  /**
   * Runs `fn` (sync or async) holding a read lock, and releases it however `fn` ends.
   * @returns a promise of what `fn` returns (or resolves to)
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  async withReadAsync<T>(fn: () => T | Promise<T>, options?: AsyncWaitOptions): Promise<T> {
    checkFunction(fn, `${this.kind.name}.withReadAsync(fn)`);
    return runHoldingAsync(this.readLockAsync(options), `${this.kind.name}.withReadAsync()`, fn, this.releaseRead);
  }

  /**
   * Runs `fn` (sync or async) holding the write lock, and releases it however `fn` ends.
   * @returns a promise of what `fn` returns (or resolves to)
   * @throws {FastipcError} ETIMEDOUT when the timeout passed (fn did not run); what `fn` throws
   */
  async withWriteAsync<T>(fn: () => T | Promise<T>, options?: AsyncWaitOptions): Promise<T> {
    checkFunction(fn, `${this.kind.name}.withWriteAsync(fn)`);
    return runHoldingAsync(this.writeLockAsync(options), `${this.kind.name}.withWriteAsync()`, fn, this.releaseWrite);
  }
}
