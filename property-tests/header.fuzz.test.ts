// Header words in shared memory are untrusted: whatever bytes another process left there,
// every operation ends in a result, an Error or a timeout; never a crash, an access out
// of bounds or an unbounded loop. fast-check writes arbitrary words into a primitive's
// 64 bytes (often with a valid magic and version, so the fields behind them are reached).
import fc from 'fast-check';
import { Event, Mutex, Semaphore } from '../lib';
import { kindOfMagic, magicOf } from '../lib/primitives/kinds';
import { variants } from '../test/backends';
import { removeSegments } from '../test/helpers';

afterAll(removeSegments);

const kinds = [
  { tag: 'MUTX', make: (m: ArrayBuffer | SharedArrayBuffer, backend: never) => new Mutex(m, 0, { backend }) },
  { tag: 'SEMA', make: (m: ArrayBuffer | SharedArrayBuffer, backend: never) => new Semaphore(m, 0, { backend }) },
  { tag: 'EVNT', make: (m: ArrayBuffer | SharedArrayBuffer, backend: never) => new Event(m, 0, { backend }) },
];

const word = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 0x1fffffff, 0x20000000, 0x40000000, process.pid),
);

const header = fc.record({
  kind: fc.integer({ min: 0, max: 2 }),
  magic: fc.oneof(fc.constant('valid'), fc.constant('other'), word),
  version: fc.oneof(fc.constant('current' as const), word),
  words: fc.array(word, { minLength: 14, maxLength: 14 }),
});

async function everyOperation(p: Mutex | Semaphore | Event): Promise<void> {
  const attempts: Array<() => unknown> =
    p instanceof Mutex
      ? [
          () => p.tryLock(),
          () => p.lock({ timeout: 2 }),
          () => p.lockAsync({ timeout: 2 }),
          () => p.unlock(),
          () => p.isLocked,
          () => p.ownerPid,
          () => p.recovered,
          () => p.forceUnlock(),
        ]
      : p instanceof Semaphore
        ? [
            () => p.tryWait(),
            () => p.wait({ timeout: 2 }),
            () => p.waitAsync({ timeout: 2 }),
            () => p.post(1),
            () => p.post(2 ** 31 - 1),
            () => p.value,
          ]
        : [
            () => p.wait({ timeout: 2 }),
            () => p.waitAsync({ timeout: 2 }),
            () => p.set(),
            () => p.clear(),
            () => p.isSet,
          ];
  for (const attempt of attempts) {
    try {
      await attempt();
    } catch (err) {
      expect(err).toBeInstanceOf(Error);
    }
  }
}

describe.each(variants)('corrupt headers: $name', (variant) => {
  test('every operation ends, with a result, an Error or a timeout', async () => {
    const s = variant.setup(4096);
    try {
      await fc.assert(
        fc.asyncProperty(header, async (h) => {
          const view = new Int32Array(s.memory, 0, 16);
          const kind = kinds[h.kind];
          view[0] =
            h.magic === 'valid'
              ? magicOf(kind.tag)
              : h.magic === 'other'
                ? magicOf(kinds[(h.kind + 1) % 3].tag)
                : h.magic;
          view[1] = h.version === 'current' ? kindOfMagic(magicOf(kind.tag))!.version : h.version;
          view.set(h.words, 2);
          const t0 = performance.now();
          let p: Mutex | Semaphore | Event;
          try {
            p = kind.make(s.memory, s.backend as never);
          } catch (err) {
            expect(err).toBeInstanceOf(Error); // wrong magic, version, never initialised
            return;
          }
          await everyOperation(p);
          expect(performance.now() - t0).toBeLessThan(5000);
        }),
        { numRuns: 150 },
      );
    } finally {
      s.close();
    }
  });
});
