/**
 * AtomicU32: an unsigned 32-bit counter; add and sub wrap modulo 2^32. Every method is
 * one Atomics operation on a Uint32Array, with a one-comparison argument check.
 *
 * | offset | meaning                   |
 * |--------|---------------------------|
 * | +0     | the value, u32 (no magic) |
 */
import { region, type Memory } from '../core/memory';
import { describe } from '../core/validate';

function u32(value: number, name: string): number {
  if (value >>> 0 !== value) {
    const kind = typeof value === 'number' ? RangeError : TypeError;
    throw new kind(`${name} ${describe(value)} must be an integer from 0 to 4294967295`);
  }
  return value;
}

/**
 * An unsigned 32-bit counter in shared memory; every method is one atomic operation, and
 * add and sub wrap modulo 2^32.
 *
 * @example
 * const hits = new AtomicU32(new SharedArrayBuffer(AtomicU32.BYTES));
 * hits.add(1); // from any worker or process that shares the memory
 */
export class AtomicU32 {
  /** Bytes of memory an AtomicU32 takes. */
  static readonly BYTES = 4 as const;
  private readonly view: Uint32Array;

  /**
   * A handle on the u32 at `byteOffset` (a multiple of 4) in `memory`; the value is left as it is.
   * @throws {TypeError} memory of another kind
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0) {
    const r = region(memory, byteOffset, AtomicU32.BYTES, 4, 'AtomicU32');
    this.view = new Uint32Array(r.buffer, r.offset, 1);
  }

  /** The value. */
  load(): number {
    return Atomics.load(this.view, 0);
  }
  /** Stores `value` (0 to 2^32-1; otherwise a RangeError, or a TypeError for a non-number). */
  store(value: number): void {
    Atomics.store(this.view, 0, u32(value, 'value'));
  }
  /** Adds `n` (mod 2^32); returns the previous value. */
  add(n: number): number {
    return Atomics.add(this.view, 0, u32(n, 'n'));
  }
  /** Subtracts `n` (mod 2^32); returns the previous value. */
  sub(n: number): number {
    return Atomics.sub(this.view, 0, u32(n, 'n'));
  }
  /** Stores `value`; returns the previous value. */
  exchange(value: number): number {
    return Atomics.exchange(this.view, 0, u32(value, 'value'));
  }
  /** Stores `replacement` if the value is `expected`; returns the previous value either way. */
  compareExchange(expected: number, replacement: number): number {
    return Atomics.compareExchange(this.view, 0, u32(expected, 'expected'), u32(replacement, 'replacement'));
  }
}
