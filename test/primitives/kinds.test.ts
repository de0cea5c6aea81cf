// The registry of kinds: every primitive's kind is declared once, in its own file, and a
// kind that only this test registers gets its own magic and is shown by its own table.
import { Event, Mutex, Semaphore } from '../../lib';
import { allKinds, defineKind, kindOfMagic, magicOf, Primitive, type Kind } from '../../lib/primitives';
import { decodeState } from '../../lib/tools/inspect';
import { headerWords, stateText } from '../../lib/tools/cli/text';

const WIDGET = defineKind({
  name: 'Widget',
  tag: 'WDGT',
  bytes: 128,
  named: 'widget',
  fields: [{ name: 'turns', meaning: (v) => `${v} turns` }],
  decode: (w) => ({ turns: w[2] }),
  describe: (s) => `turned ${s.turns} times`,
});

class Widget extends Primitive {
  constructor(memory: SharedArrayBuffer, byteOffset = 0) {
    super(WIDGET as Kind, memory, byteOffset, undefined, (view) => Atomics.store(view, 2, 7));
  }
  protected releaseMemory(): void {}
  get words(): Int32Array {
    return this.view;
  }
}

test('the built-in kinds are listed in order, each with its own tag and Named namespace', () => {
  const kinds = allKinds().filter((k) => k !== WIDGET);
  expect(kinds.map((k) => [k.name, k.tag, k.named, k.namedPrefix])).toEqual([
    ['Mutex', 'MUTX', 'mutex', 'fastipc-mutex.'],
    ['Semaphore', 'SEMA', 'semaphore', 'fastipc-semaphore.'],
    ['Event', 'EVNT', 'event', 'fastipc-event.'],
    ['Condition', 'COND', 'condition', 'fastipc-condition.'],
    ['Barrier', 'BARR', 'barrier', 'fastipc-barrier.'],
    ['Latch', 'LTCH', 'latch', 'fastipc-latch.'],
    ['RwLock', 'RWLK', 'rwlock', 'fastipc-rwlock.'],
    ['Channel', 'CHAN', 'channel', 'fastipc-channel.'],
  ]);
});

test('a kind registered only here gets its own magic, size and table, and no other kind attaches to it', () => {
  const sab = new SharedArrayBuffer(256);
  const w = new Widget(sab, 64);
  expect(w.initialized).toBe(true);
  expect(w.words.length).toBe(128 / 4);
  const words = Array.from(new Int32Array(sab, 64, 16));
  expect(words[0]).toBe(magicOf('WDGT'));
  expect(kindOfMagic(words[0])).toBe(WIDGET);
  for (const Other of [Mutex, Semaphore, Event]) {
    expect(() => new Other(sab, 64)).toThrow(
      new TypeError(
        `memory at byteOffset 64 holds a Widget, not ${/^[AEIOU]/.test(Other.name) ? 'an' : 'a'} ${Other.name}`,
      ),
    );
  }
  expect(new Widget(sab, 64).initialized).toBe(false);
  // and the Widget refuses the others' memory
  new Mutex(sab, 0);
  expect(() => new Widget(sab, 0)).toThrow(new TypeError('memory at byteOffset 0 holds a Mutex, not a Widget'));

  const info = { kind: 'shm', words, status: 'ready', state: decodeState(words), error: undefined } as never;
  expect(decodeState(words)).toEqual({ primitive: 'Widget', turns: 7 });
  expect(stateText(info)).toBe('Widget at +0: turned 7 times');
  expect(
    headerWords(info)
      .slice(0, 4)
      .map((x) => [x.field, x.meaning]),
  ).toEqual([
    ['magic', "'WDGT' (Widget)"],
    ['version', 'current'],
    ['turns', '7 turns'],
    ['reserved', ''],
  ]);
});

test('a tag, name or Named namespace that a kind has already is refused, and so is a bad tag', () => {
  const spec = { bytes: 64, fields: [], decode: () => ({}), describe: () => '' };
  expect(() => defineKind({ ...spec, name: 'Other', tag: 'MUTX', named: 'other' })).toThrow(/clashes with Mutex/);
  expect(() => defineKind({ ...spec, name: 'Event', tag: 'EVN2', named: 'other' })).toThrow(/clashes with Event/);
  expect(() => defineKind({ ...spec, name: 'Other', tag: 'OTHR', named: 'semaphore' })).toThrow(
    /clashes with Semaphore/,
  );
  expect(() => defineKind({ ...spec, name: 'Other', tag: 'OT', named: 'other' })).toThrow(TypeError);
  expect(() => defineKind({ ...spec, name: 'Other', tag: 'OTHR', named: 'other', bytes: 60 })).toThrow(RangeError);
  expect(allKinds().map((k) => k.name)).not.toContain('Other');
});
