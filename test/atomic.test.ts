// AtomicU32 / AtomicU64: exact totals under concurrent adds from 4 workers and from
// 4 processes, across the 2^32 / 2^64 wrap.
import { AtomicU32, AtomicU64, SharedMemory } from '../lib';
import { inProcess, inWorker, killAll, removeSegments, uniqueName } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const N = 250_000;
const START32 = 2 ** 32 - 400_000; // wraps after 400,000 of the 1,000,000 adds
const START64 = (1n << 64n) - 400_000n;

function seed(memory: ArrayBuffer | SharedArrayBuffer) {
  const a = new AtomicU32(memory, 0);
  const b = new AtomicU64(memory, 8);
  a.store(START32);
  b.store(START64);
  return { a, b };
}

test('4 workers x 250,000 adds: exact totals, wrapping mod 2^32 and 2^64', async () => {
  const sab = new SharedArrayBuffer(64);
  const { a, b } = seed(sab);
  const runs = Array.from({ length: 4 }, () => inWorker({ task: 'atomicAdd', memory: { sab }, n: N }));
  expect(await Promise.all(runs)).toEqual([N, N, N, N]);
  expect(a.load()).toBe((START32 + 4 * N) % 2 ** 32);
  expect(b.load()).toBe((START64 + BigInt(4 * N)) % (1n << 64n));
});

test('4 processes x 250,000 adds over SharedMemory: exact totals', async () => {
  const name = uniqueName('atomic');
  using shm = SharedMemory.open(name, { size: 4096 });
  try {
    const { a, b } = seed(shm.buffer);
    const runs = Array.from({ length: 4 }, () => inProcess({ task: 'atomicAdd', memory: { shm: name }, n: N }));
    expect(await Promise.all(runs)).toEqual([N, N, N, N]);
    expect(a.load()).toBe((START32 + 4 * N) % 2 ** 32);
    expect(b.load()).toBe((START64 + BigInt(4 * N)) % (1n << 64n));
  } finally {
    shm.unlink();
  }
});

test('every operation returns the previous value', () => {
  const a = new AtomicU32(new SharedArrayBuffer(4));
  expect(a.add(5)).toBe(0);
  expect(a.sub(7)).toBe(5);
  expect(a.load()).toBe(2 ** 32 - 2);
  expect(a.exchange(9)).toBe(2 ** 32 - 2);
  expect(a.compareExchange(1, 3)).toBe(9);
  expect(a.load()).toBe(9);
  expect(a.compareExchange(9, 3)).toBe(9);
  expect(a.load()).toBe(3);
  const b = new AtomicU64(new ArrayBuffer(8));
  expect(b.sub(1n)).toBe(0n);
  expect(b.load()).toBe((1n << 64n) - 1n);
  expect(b.compareExchange((1n << 64n) - 1n, 4n)).toBe((1n << 64n) - 1n);
  expect(b.exchange(6n)).toBe(4n);
});
