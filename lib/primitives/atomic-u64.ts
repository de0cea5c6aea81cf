/**
 * AtomicU64: an unsigned 64-bit counter as bigint; add and sub wrap modulo 2^64.
 *
 * | offset | meaning                                             |
 * |--------|-----------------------------------------------------|
 * | +0     | the value, u64 (byteOffset must be a multiple of 8) |
 */
import { region, type Memory } from '../core/memory';
import { describe } from '../core/validate';

const MAX = (1n << 64n) - 1n;

function u64(value: bigint, name: string): bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
  if (value < 0n || value > MAX) throw new RangeError(`${name} ${value}n must be from 0n to ${MAX}n`);
  return value;
}

/**
 * An unsigned 64-bit counter in shared memory, as bigint; every method is one atomic
 * operation, and add and sub wrap modulo 2^64.
 *
 * @example
 * const bytes = new AtomicU64(new SharedArrayBuffer(AtomicU64.BYTES));
 * bytes.add(4096n);
 */
export class AtomicU64 {
  /** Bytes of memory an AtomicU64 takes. */
  static readonly BYTES = 8 as const;
  private readonly view: BigUint64Array;

  /**
   * A handle on the u64 at `byteOffset` (a multiple of 8) in `memory`; the value is left as it is.
   * @throws {TypeError} memory of another kind
   * @throws {RangeError} a misaligned or out-of-bounds offset
   */
  constructor(memory: Memory, byteOffset = 0) {
    const r = region(memory, byteOffset, AtomicU64.BYTES, 8, 'AtomicU64');
    this.view = new BigUint64Array(r.buffer, r.offset, 1);
  }

  /** The value. */
  load(): bigint {
    return Atomics.load(this.view, 0);
  }
  /** Stores `value` (0n to 2n**64n-1n; otherwise a RangeError, or a TypeError for a non-bigint). */
  store(value: bigint): void {
    Atomics.store(this.view, 0, u64(value, 'value'));
  }
  /** Adds `n` (mod 2^64); returns the previous value. */
  add(n: bigint): bigint {
    return Atomics.add(this.view, 0, u64(n, 'n'));
  }
  /** Subtracts `n` (mod 2^64); returns the previous value. */
  sub(n: bigint): bigint {
    return Atomics.sub(this.view, 0, u64(n, 'n'));
  }
  /** Stores `value`; returns the previous value. */
  exchange(value: bigint): bigint {
    return Atomics.exchange(this.view, 0, u64(value, 'value'));
  }
  /** Stores `replacement` if the value is `expected`; returns the previous value either way. */
  compareExchange(expected: bigint, replacement: bigint): bigint {
    return Atomics.compareExchange(this.view, 0, u64(expected, 'expected'), u64(replacement, 'replacement'));
  }
}
