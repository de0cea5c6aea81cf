/**
 * AtomicU64: an unsigned 64-bit counter as bigint; add and sub wrap modulo 2^64.
 *
 * | offset | meaning                                             |
 * |--------|-----------------------------------------------------|
 * | +0     | the value, u64 (byteOffset must be a multiple of 8) |
 */
import { region, type Memory } from './memory';
import { describe } from './validate';

const MAX = (1n << 64n) - 1n;

function u64(value: bigint, name: string): bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
  if (value < 0n || value > MAX) throw new RangeError(`${name} ${value}n must be from 0n to ${MAX}n`);
  return value;
}

export class AtomicU64 {
  static readonly BYTES = 8 as const;
  private readonly view: BigUint64Array;

  constructor(memory: Memory, byteOffset = 0) {
    const r = region(memory, byteOffset, AtomicU64.BYTES, 8, 'AtomicU64');
    this.view = new BigUint64Array(r.buffer, r.offset, 1);
  }

  load(): bigint {
    return Atomics.load(this.view, 0);
  }
  store(value: bigint): void {
    Atomics.store(this.view, 0, u64(value, 'value'));
  }
  add(n: bigint): bigint {
    return Atomics.add(this.view, 0, u64(n, 'n'));
  }
  sub(n: bigint): bigint {
    return Atomics.sub(this.view, 0, u64(n, 'n'));
  }
  exchange(value: bigint): bigint {
    return Atomics.exchange(this.view, 0, u64(value, 'value'));
  }
  compareExchange(expected: bigint, replacement: bigint): bigint {
    return Atomics.compareExchange(this.view, 0, u64(expected, 'expected'), u64(replacement, 'replacement'));
  }
}
