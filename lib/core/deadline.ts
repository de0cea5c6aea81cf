/**
 * Wait options and deadlines, shared by every blocking call. Deadlines are absolute, on
 * the performance.now() clock, so that a wait that wakes and sleeps again never stretches
 * its timeout.
 */
import { checkTimeout, describe } from './validate';

/** Options of a blocking call. */
export interface WaitOptions {
  /** How long to wait, in milliseconds (fractions allowed). Default: Infinity. 0: never sleep. */
  timeout?: number;
}

/**
 * What fastipc needs of an AbortSignal. Node's and the DOM's AbortSignal have all of it,
 * so the types need neither `@types/node` nor the DOM library.
 */
export interface AbortSignalLike {
  /** Whether it has been aborted. */
  readonly aborted: boolean;
  /** What the wait rejects with on abort. */
  readonly reason: unknown;
  /** fastipc listens for 'abort' while a wait is pending... */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  /** ...and stops listening when the wait ends. */
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Options of an async wait. */
export interface AsyncWaitOptions extends WaitOptions {
  /**
   * Aborting rejects the wait with `signal.reason` and leaves the primitive as if this
   * call had never waited (a wake it had taken goes on to another waiter).
   */
  signal?: AbortSignalLike;
}

/** Validates wait options; cheap enough for a fast path, which must reject bad input too. */
export function checkWaitOptions(options: WaitOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object like { timeout: 100 }, got ${String(options)}`);
  }
  checkTimeout(options.timeout, 'timeout');
}

/** Validates async wait options (the signal too); returns the signal. Throws like checkWaitOptions. */
export function checkAsyncWaitOptions(options: AsyncWaitOptions | undefined): AbortSignalLike | undefined {
  checkWaitOptions(options);
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  if (
    typeof signal !== 'object' ||
    signal === null ||
    typeof signal.addEventListener !== 'function' ||
    typeof signal.aborted !== 'boolean'
  ) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal;
}

/** Rejects (throws) with the signal's reason if it is aborted. */
export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/** The absolute deadline (performance.now() clock) of validated options. */
export function deadlineOf(options: WaitOptions | undefined): number {
  const timeout = options?.timeout;
  return timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
}

/** Milliseconds left until `deadline` (Infinity stays Infinity), never negative. */
export function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}
