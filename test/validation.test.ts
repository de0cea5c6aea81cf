// Bad input: a clear error of the right type, and nothing changed.
import { AtomicU32, AtomicU64, FutexWord, SharedMemory, alignToCacheLine } from '../lib';
import { uniqueName } from './helpers';

const sab = () => new SharedArrayBuffer(64);

type Case = [string, () => unknown, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, RegExp];

const cases: Case[] = [
  ['misaligned byteOffset', () => new FutexWord(sab(), 2), RangeError, /byteOffset 2 must be a multiple of 4/],
  ['byteOffset past the end', () => new FutexWord(sab(), 64), RangeError, /byteOffset 64 leaves 0 bytes/],
  ['negative byteOffset', () => new AtomicU32(sab(), -4), RangeError, /byteOffset -4 must be an integer/],
  ['fractional byteOffset', () => new AtomicU32(sab(), 1.5), RangeError, /byteOffset 1.5/],
  ['string byteOffset', () => new AtomicU32(sab(), '4' as never), TypeError, /byteOffset must be a number/],
  ['AtomicU64 byteOffset not a multiple of 8', () => new AtomicU64(sab(), 4), RangeError, /multiple of 8/],
  ['misaligned view', () => new FutexWord(new Uint8Array(sab(), 1, 8)), RangeError, /view's byteOffset 1/],
  ['view too short', () => new AtomicU64(new Uint8Array(sab(), 0, 4)), RangeError, /needs 8/],
  ['not memory', () => new FutexWord({} as never), TypeError, /memory must be a SharedArrayBuffer/],
  ['atomics over ArrayBuffer', () => new FutexWord(new ArrayBuffer(8), 0, { backend: 'atomics' }), TypeError, /needs a SharedArrayBuffer/],
  ['unknown backend', () => new FutexWord(sab(), 0, { backend: 'spin' as never }), TypeError, /backend must be 'atomics' or 'futex'/],
  ['wait with NaN timeout', () => new FutexWord(sab()).wait(0, NaN), RangeError, /timeout NaN/],
  ['wait with negative timeout', () => new FutexWord(sab()).wait(0, -1), RangeError, /timeout -1/],
  ['wait with a string timeout', () => new FutexWord(sab()).wait(0, '5' as never), TypeError, /timeout must be a number/],
  ['wait with a fractional expected', () => new FutexWord(sab()).wait(0.5), RangeError, /expected 0.5/],
  ['wake(-1)', () => new FutexWord(sab()).wake(-1), RangeError, /count -1/],
  ['store past 32 bits', () => new FutexWord(sab()).store(2 ** 32), RangeError, /value 4294967296/],
  ['AtomicU32 add(-1)', () => new AtomicU32(sab()).add(-1), RangeError, /n -1 must be an integer from 0 to 4294967295/],
  ['AtomicU32 add(1.5)', () => new AtomicU32(sab()).add(1.5), RangeError, /n 1.5/],
  ['AtomicU32 store(NaN)', () => new AtomicU32(sab()).store(NaN), RangeError, /value NaN/],
  ['AtomicU32 store("1")', () => new AtomicU32(sab()).store('1' as never), TypeError, /value "1"/],
  ['AtomicU64 add(1)', () => new AtomicU64(sab()).add(1 as never), TypeError, /n must be a bigint/],
  ['AtomicU64 add(-1n)', () => new AtomicU64(sab()).add(-1n), RangeError, /n -1n/],
  ['AtomicU64 store(2n**64n)', () => new AtomicU64(sab()).store(1n << 64n), RangeError, /value 18446744073709551616n/],
  ['alignToCacheLine(-1)', () => alignToCacheLine(-1), RangeError, /bytes -1/],
  ['alignToCacheLine(10, 48)', () => alignToCacheLine(10, 48), RangeError, /power of two/],
  ['empty name', () => SharedMemory.open('', { size: 64 }), TypeError, /name is empty/],
  ['name with /', () => SharedMemory.open('a/b', { size: 64 }), TypeError, /"a\/b" is invalid/],
  ['name with NUL', () => SharedMemory.open('a\0b', { size: 64 }), TypeError, /is invalid/],
  ['name ..', () => SharedMemory.open('..', { size: 64 }), TypeError, /".." is invalid/],
  ['name too long', () => SharedMemory.open('x'.repeat(201), { size: 64 }), TypeError, /201 bytes long/],
  ['name not a string', () => SharedMemory.open(5 as never, { size: 64 }), TypeError, /name must be a string/],
  ['size 0', () => SharedMemory.open(uniqueName('v'), { size: 0 }), RangeError, /size 0/],
  ['size -1', () => SharedMemory.open(uniqueName('v'), { size: -1 }), RangeError, /size -1/],
  ['size NaN', () => SharedMemory.open(uniqueName('v'), { size: NaN }), RangeError, /size NaN/],
  ['size 1.5', () => SharedMemory.open(uniqueName('v'), { size: 1.5 }), RangeError, /size 1.5/],
  ['size past 2^53', () => SharedMemory.open(uniqueName('v'), { size: 2 ** 53 }), RangeError, /size 9007199254740992/],
  ['size missing', () => SharedMemory.open(uniqueName('v'), {} as never), TypeError, /size must be a number/],
  ['mode too large', () => SharedMemory.open(uniqueName('v'), { size: 64, mode: 0o1000 }), RangeError, /mode 512/],
  ['options not an object', () => SharedMemory.open(uniqueName('v'), 64 as never), TypeError, /options must be an object/],
];

test.each(cases)('%s', (_label, fn, type, message) => {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).message).toMatch(message);
});

test('a rejected operation changes nothing', () => {
  const memory = sab();
  const w = new FutexWord(memory, 0);
  const a = new AtomicU32(memory, 4);
  const b = new AtomicU64(memory, 8);
  w.store(5);
  a.store(6);
  b.store(7n);
  const before = Array.from(new Uint8Array(memory));
  expect(() => w.store(2 ** 32)).toThrow(RangeError);
  expect(() => a.add(-1)).toThrow(RangeError);
  expect(() => a.compareExchange(6, -1)).toThrow(RangeError);
  expect(() => b.sub(-1n)).toThrow(RangeError);
  expect(Array.from(new Uint8Array(memory))).toEqual(before);
  // no segment is left behind by a rejected open
  expect(require('node:fs').readdirSync('/dev/shm').filter((f: string) => f.includes(`-v-${process.pid}-`))).toEqual([]);
});
