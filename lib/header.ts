/**
 * The header every primitive (but FutexWord and the atomics) starts with, and the
 * initialise-or-attach step.
 *
 * | offset | meaning                                                              |
 * |--------|----------------------------------------------------------------------|
 * | +0     | magic: four ASCII letters naming the kind ('MUTX', 'SEMA', 'EVNT')   |
 * | +4     | layout version; 0 while the initialiser is still writing the fields  |
 *
 * Zeroed memory is "fresh". Whoever wins CAS(magic, 0 -> MAGIC) writes the fields and
 * then stores the version; everyone else waits for the version and checks it. So an
 * attacher never uses fields that are still being written (a semaphore's initial count).
 */
import { checkTimeout } from './validate';

export const MAGIC = 0;
export const VERSION = 1;

/** The int32 of four ASCII letters, little-endian, as it reads from memory. */
export function magicOf(tag: string): number {
  return tag.charCodeAt(0) | (tag.charCodeAt(1) << 8) | (tag.charCodeAt(2) << 16) | (tag.charCodeAt(3) << 24);
}

const KINDS: Record<number, string> = {
  [magicOf('MUTX')]: 'Mutex',
  [magicOf('SEMA')]: 'Semaphore',
  [magicOf('EVNT')]: 'Event',
};

export function kindOf(magic: number): string | undefined {
  return KINDS[magic];
}

const INIT_GRACE_MS = 1000;

/**
 * Initialises the primitive at `view` (index 0 = its byteOffset) or attaches to it.
 * Returns true if this call initialised it.
 */
export function initOrAttach(
  view: Int32Array,
  kind: string,
  version: number,
  byteOffset: number,
  init: () => void,
): boolean {
  const magic = magicOf(kind === 'Mutex' ? 'MUTX' : kind === 'Semaphore' ? 'SEMA' : 'EVNT');
  const found = Atomics.compareExchange(view, MAGIC, 0, magic);
  if (found === 0) {
    init();
    Atomics.store(view, MAGIC + 1, version);
    return true;
  }
  if (found !== magic) {
    const other = kindOf(found);
    const a = (k: string) => (/^[AEIOU]/.test(k) ? `an ${k}` : `a ${k}`);
    throw new TypeError(
      other
        ? `memory at byteOffset ${byteOffset} holds ${a(other)}, not ${a(kind)}`
        : `memory at byteOffset ${byteOffset} holds no ${kind} (magic 0x${(found >>> 0).toString(16)}): ` +
          'not zeroed and not a fastipc primitive',
    );
  }
  let v = Atomics.load(view, MAGIC + 1);
  const deadline = performance.now() + INIT_GRACE_MS;
  while (v === 0) {
    // The initialiser writes a handful of fields; this loop practically never turns.
    if (performance.now() > deadline) {
      throw new Error(`the ${kind} at byteOffset ${byteOffset} was never initialised (its initialiser died?)`);
    }
    v = Atomics.load(view, MAGIC + 1);
  }
  if (v !== version) {
    throw new TypeError(
      v > version
        ? `the ${kind} at byteOffset ${byteOffset} has layout version ${v}, newer than this fastipc's ${version}: upgrade fastipc`
        : `the ${kind} at byteOffset ${byteOffset} has unknown layout version ${v}`,
    );
  }
  return false;
}

/** Normalised wait options: the deadline on the performance.now() clock. */
export interface WaitOptions {
  /** Milliseconds (fractions allowed); default Infinity; 0 = never sleep. */
  timeout?: number;
}

/** Validates wait options; cheap enough for a fast path, which must reject bad input too. */
export function checkWaitOptions(options: WaitOptions | undefined): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object like { timeout: 100 }, got ${String(options)}`);
  }
  checkTimeout(options.timeout, 'timeout');
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

export interface AsyncWaitOptions extends WaitOptions {
  /** Aborting rejects the wait with `signal.reason` and leaves the primitive as if it never waited. */
  signal?: AbortSignal;
}

/** Validates async wait options (including the signal); throws like checkWaitOptions. */
export function checkAsyncWaitOptions(options: AsyncWaitOptions | undefined): AbortSignal | undefined {
  checkWaitOptions(options);
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  if (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean') {
    throw new TypeError(`signal must be an AbortSignal, got ${String(signal)}`);
  }
  return signal;
}
