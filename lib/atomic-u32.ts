/**
 * AtomicU32: an unsigned 32-bit counter; add and sub wrap modulo 2^32. Every method is
 * one Atomics operation on a Uint32Array, with a one-comparison argument check.
 *
 * | offset | meaning                   |
 * |--------|---------------------------|
 * | +0     | the value, u32 (no magic) |
 */
import { region, type Memory } from './memory';
import { describe } from './validate';

function u32(value: number, name: string): number {
  if (value >>> 0 !== value) {
    const kind = typeof value === 'number' ? RangeError : TypeError;
    throw new kind(`${name} ${describe(value)} must be an integer from 0 to 4294967295`);
  }
  return value;
}

export class AtomicU32 {
  static readonly BYTES = 4 as const;
  private readonly view: Uint32Array;

  constructor(memory: Memory, byteOffset = 0) {
    const r = region(memory, byteOffset, AtomicU32.BYTES, 4, 'AtomicU32');
    this.view = new Uint32Array(r.buffer, r.offset, 1);
  }

  load(): number {
    return Atomics.load(this.view, 0);
  }
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
  exchange(value: number): number {
    return Atomics.exchange(this.view, 0, u32(value, 'value'));
  }
  /** Stores `replacement` if the value is `expected`; returns the previous value either way. */
  compareExchange(expected: number, replacement: number): number {
    return Atomics.compareExchange(this.view, 0, u32(expected, 'expected'), u32(replacement, 'replacement'));
  }
}
