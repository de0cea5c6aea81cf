// Bad input: a clear error of the right type, and nothing changed.
import { AtomicU32, AtomicU64, FutexWord, SharedMemory, alignToCacheLine } from '../lib';
import { uniqueName } from './helpers';

const sab = () => new SharedArrayBuffer(64);

/**
 * [label, the bad call over a fresh 64-byte SharedArrayBuffer, the error class, the text
 * that names the argument (and its value, where it has one), the rule as we word it].
 * What is asserted is behaviour: the class, the argument named, the memory unchanged;
 * never V8's own wording (a check that we skipped would surface as V8's RangeError).
 */
type Case = [
  string,
  (m: SharedArrayBuffer) => unknown,
  ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor,
  string,
  RegExp,
];

/** Phrases of V8's own errors for typed arrays and Atomics: never ours. */
const V8_WORDING =
  /should be a multiple of|Invalid typed array length|Start offset|out of bounds|Cannot perform Atomics/i;

const cases: Case[] = [
  [
    'misaligned byteOffset',
    (m) => new FutexWord(m, 2),
    RangeError,
    'byteOffset 2',
    /byteOffset 2 must be a multiple of 4/,
  ],
  ['byteOffset past the end', (m) => new FutexWord(m, 64), RangeError, 'byteOffset 64', /byteOffset 64 leaves 0 bytes/],
  ['negative byteOffset', (m) => new AtomicU32(m, -4), RangeError, 'byteOffset -4', /byteOffset -4 must be an integer/],
  ['fractional byteOffset', (m) => new AtomicU32(m, 1.5), RangeError, 'byteOffset 1.5', /byteOffset 1.5/],
  [
    'string byteOffset',
    (m) => new AtomicU32(m, '4' as never),
    TypeError,
    'byteOffset must be',
    /byteOffset must be a number/,
  ],
  ['AtomicU64 byteOffset not a multiple of 8', (m) => new AtomicU64(m, 4), RangeError, 'byteOffset 4', /multiple of 8/],
  [
    'misaligned view',
    (m) => new FutexWord(new Uint8Array(m, 1, 8)),
    RangeError,
    "view's byteOffset 1",
    /view's byteOffset 1/,
  ],
  ['view too short', (m) => new AtomicU64(new Uint8Array(m, 0, 4)), RangeError, 'needs 8', /needs 8/],
  ['not memory', (m) => new FutexWord({} as never), TypeError, 'memory must be', /memory must be a SharedArrayBuffer/],
  [
    'atomics over ArrayBuffer',
    (m) => new FutexWord(new ArrayBuffer(8), 0, { backend: 'atomics' }),
    TypeError,
    "'atomics' backend",
    /needs a SharedArrayBuffer/,
  ],
  [
    'hybrid over ArrayBuffer',
    (m) => new FutexWord(new ArrayBuffer(8), 0, { backend: 'hybrid' }),
    TypeError,
    "'hybrid' backend",
    /'hybrid' backend needs a SharedArrayBuffer/,
  ],
  [
    'unknown backend',
    (m) => new FutexWord(m, 0, { backend: 'spin' as never }),
    TypeError,
    'backend must be',
    /backend must be 'atomics', 'futex' or 'hybrid'/,
  ],
  ['wait with NaN timeout', (m) => new FutexWord(m).wait(0, NaN), RangeError, 'timeout NaN', /timeout NaN/],
  ['wait with negative timeout', (m) => new FutexWord(m).wait(0, -1), RangeError, 'timeout -1', /timeout -1/],
  [
    'wait with a string timeout',
    (m) => new FutexWord(m).wait(0, '5' as never),
    TypeError,
    'timeout must be',
    /timeout must be a number/,
  ],
  ['wait with a fractional expected', (m) => new FutexWord(m).wait(0.5), RangeError, 'expected 0.5', /expected 0.5/],
  ['wake(-1)', (m) => new FutexWord(m).wake(-1), RangeError, 'count -1', /count -1/],
  ['store past 32 bits', (m) => new FutexWord(m).store(2 ** 32), RangeError, 'value 4294967296', /value 4294967296/],
  [
    'AtomicU32 add(-1)',
    (m) => new AtomicU32(m).add(-1),
    RangeError,
    'n -1',
    /n -1 must be an integer from 0 to 4294967295/,
  ],
  ['AtomicU32 add(1.5)', (m) => new AtomicU32(m).add(1.5), RangeError, 'n 1.5', /n 1.5/],
  ['AtomicU32 store(NaN)', (m) => new AtomicU32(m).store(NaN), RangeError, 'value NaN', /value NaN/],
  ['AtomicU32 store("1")', (m) => new AtomicU32(m).store('1' as never), TypeError, 'value "1"', /value "1"/],
  ['AtomicU64 add(1)', (m) => new AtomicU64(m).add(1 as never), TypeError, 'n must be', /n must be a bigint/],
  ['AtomicU64 add(-1n)', (m) => new AtomicU64(m).add(-1n), RangeError, 'n -1n', /n -1n/],
  [
    'AtomicU64 store(2n**64n)',
    (m) => new AtomicU64(m).store(1n << 64n),
    RangeError,
    'value 18446744073709551616n',
    /value 18446744073709551616n/,
  ],
  ['alignToCacheLine(-1)', (m) => alignToCacheLine(-1), RangeError, 'bytes -1', /bytes -1/],
  ['alignToCacheLine(10, 48)', (m) => alignToCacheLine(10, 48), RangeError, 'line 48', /power of two/],
  ['empty name', (m) => SharedMemory.open('', { size: 64 }), TypeError, 'name is empty', /name is empty/],
  ['name with /', (m) => SharedMemory.open('a/b', { size: 64 }), TypeError, 'name "a/b"', /"a\/b" is invalid/],
  ['name with NUL', (m) => SharedMemory.open('a\0b', { size: 64 }), TypeError, 'name "a', /is invalid/],
  ['name ..', (m) => SharedMemory.open('..', { size: 64 }), TypeError, 'name ".."', /".." is invalid/],
  [
    'name too long',
    (m) => SharedMemory.open('x'.repeat(201), { size: 64 }),
    TypeError,
    'name is 201 bytes',
    /201 bytes long/,
  ],
  [
    'name not a string',
    (m) => SharedMemory.open(5 as never, { size: 64 }),
    TypeError,
    'name must be',
    /name must be a string/,
  ],
  ['size 0', (m) => SharedMemory.open(uniqueName('v'), { size: 0 }), RangeError, 'size 0', /size 0/],
  ['size -1', (m) => SharedMemory.open(uniqueName('v'), { size: -1 }), RangeError, 'size -1', /size -1/],
  ['size NaN', (m) => SharedMemory.open(uniqueName('v'), { size: NaN }), RangeError, 'size NaN', /size NaN/],
  ['size 1.5', (m) => SharedMemory.open(uniqueName('v'), { size: 1.5 }), RangeError, 'size 1.5', /size 1.5/],
  [
    'size past 2^53',
    (m) => SharedMemory.open(uniqueName('v'), { size: 2 ** 53 }),
    RangeError,
    'size 9007199254740992',
    /size 9007199254740992/,
  ],
  [
    'size missing',
    (m) => SharedMemory.open(uniqueName('v'), {} as never),
    TypeError,
    'size must be',
    /size must be a number/,
  ],
  [
    'mode too large',
    (m) => SharedMemory.open(uniqueName('v'), { size: 64, mode: 0o1000 }),
    RangeError,
    'mode 512',
    /mode 512/,
  ],
  [
    'options not an object',
    (m) => SharedMemory.open(uniqueName('v'), 64 as never),
    TypeError,
    'options must be',
    /options must be an object/,
  ],
];

test.each(cases)('%s', (_label, fn, type, arg, rule) => {
  const memory = new SharedArrayBuffer(64);
  new Uint8Array(memory).forEach((_, i, a) => (a[i] = (i * 37 + 11) & 0xff));
  const before = Buffer.from(new Uint8Array(memory)).toString('hex');
  let thrown: unknown;
  try {
    fn(memory);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).constructor).toBe(type);
  const message = (thrown as Error).message;
  expect(message).toContain(arg);
  expect(message).toMatch(rule);
  expect(message).not.toMatch(V8_WORDING);
  expect(Buffer.from(new Uint8Array(memory)).toString('hex')).toBe(before);
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
  expect(
    require('node:fs')
      .readdirSync('/dev/shm')
      .filter((f: string) => f.includes(`-v-${process.pid}-`)),
  ).toEqual([]);
});

// The primitives' matrix: each case builds its own state, attempts one bad call, and
// must get the named error while every byte of the memory stays as it was.
import { Event, Mutex, NamedMutex, Semaphore } from '../lib';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

interface PrimCase {
  label: string;
  setup: (m: SharedArrayBuffer) => () => unknown;
  error: string; // error name, or code when it has one
  message: RegExp;
}

const prim: PrimCase[] = [
  {
    label: 'post(-1)',
    setup: (m) => {
      const s = new Semaphore(m);
      return () => s.post(-1);
    },
    error: 'RangeError',
    message: /n -1 must be an integer from 1/,
  },
  {
    label: 'post(1.5)',
    setup: (m) => {
      const s = new Semaphore(m);
      return () => s.post(1.5);
    },
    error: 'RangeError',
    message: /n 1.5/,
  },
  {
    label: 'post(0)',
    setup: (m) => {
      const s = new Semaphore(m);
      return () => s.post(0);
    },
    error: 'RangeError',
    message: /n 0/,
  },
  {
    label: 'post past 2^31-1',
    setup: (m) => {
      const s = new Semaphore(m, 0, { initial: 2 ** 31 - 5 });
      return () => s.post(5);
    },
    error: 'RangeError',
    message: /would pass the maximum/,
  },
  {
    label: 'initial -1',
    setup: (m) => () => new Semaphore(m, 0, { initial: -1 }),
    error: 'RangeError',
    message: /initial -1/,
  },
  {
    label: 'lock({ timeout: NaN })',
    setup: (m) => {
      const x = new Mutex(m);
      return () => x.lock({ timeout: NaN });
    },
    error: 'RangeError',
    message: /timeout NaN/,
  },
  {
    label: 'lock({ timeout: -1 })',
    setup: (m) => {
      const x = new Mutex(m);
      return () => x.lock({ timeout: -1 });
    },
    error: 'RangeError',
    message: /timeout -1/,
  },
  {
    label: 'lock(5)',
    setup: (m) => {
      const x = new Mutex(m);
      return () => x.lock(5 as never);
    },
    error: 'TypeError',
    message: /options must be an object/,
  },
  {
    label: 'Semaphore wait({ timeout: NaN })',
    setup: (m) => {
      const s = new Semaphore(m, 0, { initial: 1 });
      return () => s.wait({ timeout: NaN });
    },
    error: 'RangeError',
    message: /timeout NaN/,
  },
  {
    label: 'Event wait({ timeout: -5 })',
    setup: (m) => {
      const e = new Event(m);
      e.set();
      return () => e.wait({ timeout: -5 });
    },
    error: 'RangeError',
    message: /timeout -5/,
  },
  {
    label: 'unlock of an unlocked mutex',
    setup: (m) => {
      const x = new Mutex(m);
      return () => x.unlock();
    },
    error: 'ERR_FASTIPC_NOT_OWNER',
    message: /not locked/,
  },
  {
    label: 'recursive lock',
    setup: (m) => {
      const x = new Mutex(m);
      x.lock();
      return () => x.lock();
    },
    error: 'ERR_FASTIPC_RECURSIVE',
    message: /not recursive/,
  },
  {
    label: 'wrong primitive in the memory',
    setup: (m) => {
      new Semaphore(m);
      return () => new Mutex(m);
    },
    error: 'TypeError',
    message: /holds a Semaphore, not a Mutex/,
  },
  {
    label: 'a newer layout version',
    setup: (m) => {
      new Event(m);
      new Int32Array(m)[1] = 9;
      return () => new Event(m);
    },
    error: 'TypeError',
    message: /layout version 9, newer/,
  },
  {
    label: 'memory too small for a Mutex',
    setup: (m) => () => new Mutex(m, 96),
    error: 'RangeError',
    message: /byteOffset 96 leaves 32 bytes; a Mutex needs 64/,
  },
  {
    label: 'misaligned Mutex',
    setup: (m) => () => new Mutex(m, 6),
    error: 'RangeError',
    message: /byteOffset 6 must be a multiple of 4 for a Mutex/,
  },
  {
    label: 'misaligned Semaphore',
    setup: (m) => () => new Semaphore(m, 2),
    error: 'RangeError',
    message: /byteOffset 2 must be a multiple of 4 for a Semaphore/,
  },
  {
    label: 'misaligned Event',
    setup: (m) => () => new Event(m, 10),
    error: 'RangeError',
    message: /byteOffset 10 must be a multiple of 4 for an? Event/,
  },
];

test.each(prim)('$label: the right error, and the memory unchanged', ({ setup, error, message }) => {
  const memory = new SharedArrayBuffer(128);
  const attempt = setup(memory);
  const before = Buffer.from(new Uint8Array(memory)).toString('hex');
  let thrown: (Error & { code?: string }) | undefined;
  try {
    attempt();
  } catch (err) {
    thrown = err as Error & { code?: string };
  }
  expect(thrown?.code ?? thrown?.name).toBe(error);
  expect(thrown?.message).toMatch(message);
  expect(thrown?.message).not.toMatch(V8_WORDING);
  expect(Buffer.from(new Uint8Array(memory)).toString('hex')).toBe(before);
});

test('unlock by a non-owner thread: an Error, and the owner keeps the lock', async () => {
  const memory = new SharedArrayBuffer(128);
  const m = new Mutex(memory);
  m.lock();
  const before = Buffer.from(new Uint8Array(memory)).toString('hex');
  const code = await new Promise((resolve, reject) => {
    const w = new Worker(
      `const { Mutex } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
       const { workerData, parentPort } = require('worker_threads');
       try { new Mutex(workerData).unlock(); parentPort.postMessage('none'); }
       catch (e) { parentPort.postMessage(e.code); }`,
      { eval: true, workerData: memory },
    );
    w.once('message', resolve);
    w.once('error', reject);
  });
  expect(code).toBe('ERR_FASTIPC_NOT_OWNER');
  expect(Buffer.from(new Uint8Array(memory)).toString('hex')).toBe(before);
  m.unlock();
});

test('use after close and a segment too small: Errors, never a crash', () => {
  const name = uniqueName('tiny');
  fs.writeFileSync(`/dev/shm/fastipc-mutex.${name}`, Buffer.alloc(16), { mode: 0o600 });
  try {
    expect(() => new NamedMutex(name)).toThrow(/size 64 is larger than segment/);
  } finally {
    fs.rmSync(`/dev/shm/fastipc-mutex.${name}`, { force: true });
  }
  const m = new NamedMutex(uniqueName('after'));
  m.close();
  for (const call of [() => m.lock(), () => m.tryLock(), () => m.unlock(), () => m.forceUnlock(), () => m.isLocked])
    expect(call).toThrow(Error);
});
