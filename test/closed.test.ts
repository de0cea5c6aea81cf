// After close(), every member of a Named handle (methods and getters, sync and async)
// throws, or rejects with, a FastipcError ERR_FASTIPC_CLOSED; close() again is a no-op;
// other handles of the same primitive go on working.
import {
  FastipcError,
  NamedBarrier,
  NamedChannel,
  NamedCondition,
  NamedEvent,
  NamedLatch,
  NamedMutex,
  NamedRwLock,
  NamedSemaphore,
} from '../lib';
import { removeSegments, uniqueName } from './helpers';

afterAll(() => removeSegments());

const KINDS = [
  ['NamedMutex', (name: string) => new NamedMutex(name)],
  ['NamedSemaphore', (name: string) => new NamedSemaphore(name, { initial: 1 })],
  ['NamedEvent', (name: string) => new NamedEvent(name)],
  ['NamedCondition', (name: string) => new NamedCondition(name)],
  ['NamedBarrier', (name: string) => new NamedBarrier(name, { parties: 2 })],
  ['NamedLatch', (name: string) => new NamedLatch(name, { count: 1 })],
  ['NamedRwLock', (name: string) => new NamedRwLock(name)],
  ['NamedChannel', (name: string) => new NamedChannel(name, { capacity: 2, maxMessageBytes: 8 })],
] as const;

/** Every method and getter along the prototype chain, but the constructor, close and dispose. */
function members(handle: object): Array<{ key: PropertyKey; getter: boolean }> {
  const out: Array<{ key: PropertyKey; getter: boolean }> = [];
  for (let p = Object.getPrototypeOf(handle); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === 'constructor' || key === 'close' || key === Symbol.dispose) continue;
      if (out.some((m) => m.key === key)) continue;
      const d = Object.getOwnPropertyDescriptor(p, key)!;
      if (d.get || typeof d.value === 'function') out.push({ key, getter: !!d.get });
    }
  }
  return out;
}

test.each(KINDS)('%s: after close() every member throws ERR_FASTIPC_CLOSED', async (label, make) => {
  const name = uniqueName('closed');
  const other = make(name);
  const h = make(name);
  const list = members(h);
  // the public API at least, so that the table cannot silently shrink
  const expected = {
    NamedMutex: [
      'lock',
      'tryLock',
      'unlock',
      'lockAsync',
      'acquire',
      'withLock',
      'acquireAsync',
      'withLockAsync',
      'isLocked',
      'ownerPid',
      'recovered',
      'forceUnlock',
      'processCount',
    ],
    NamedSemaphore: [
      'post',
      'wait',
      'tryWait',
      'waitAsync',
      'acquire',
      'acquireAsync',
      'withPermit',
      'withPermitAsync',
      'value',
      'processCount',
    ],
    NamedEvent: ['set', 'clear', 'isSet', 'wait', 'waitAsync', 'processCount'],
    NamedCondition: ['wait', 'waitAsync', 'waitFor', 'waitForAsync', 'notifyOne', 'notifyAll', 'processCount'],
    NamedBarrier: ['wait', 'waitAsync', 'parties', 'generation', 'waiting', 'processCount'],
    NamedLatch: ['countDown', 'wait', 'waitAsync', 'count', 'processCount'],
    NamedRwLock: [
      ...['readLock', 'tryReadLock', 'readUnlock', 'readLockAsync', 'read', 'readAsync', 'withRead', 'withReadAsync'],
      ...['writeLock', 'tryWriteLock', 'writeUnlock', 'writeLockAsync', 'write', 'writeAsync', 'withWrite'],
      ...['withWriteAsync', 'recovered', 'readers', 'writeLocked', 'processCount'],
    ],
    NamedChannel: [
      ...['send', 'trySend', 'sendAsync', 'receive', 'tryReceive', 'receiveAsync', 'receiveInto'],
      ...[Symbol.asyncIterator, 'end', 'ended', 'size', 'capacity', 'maxMessageBytes', 'processCount'],
    ],
  }[label];
  expect(list.map((m) => m.key)).toEqual(expect.arrayContaining(expected));
  h.close();
  const outcomes: Record<string, string> = {};
  for (const { key, getter } of list) {
    let outcome: string;
    try {
      const r = getter ? (h as never)[key] : (h as unknown as Record<PropertyKey, () => unknown>)[key]();
      if (r instanceof Promise) {
        outcome = await r.then(
          () => 'resolved',
          (e) => (e instanceof FastipcError ? `rejects ${e.code}` : `rejects ${e}`),
        );
      } else outcome = 'returned';
    } catch (e) {
      outcome = e instanceof FastipcError ? `throws ${e.code}` : `throws ${e}`;
    }
    outcomes[String(key)] = outcome;
  }
  for (const [key, outcome] of Object.entries(outcomes)) {
    expect([key, outcome]).toEqual([key, expect.stringMatching(/^(throws|rejects) ERR_FASTIPC_CLOSED$/)]);
  }
  expect(outcomes.lockAsync ?? outcomes.waitAsync ?? outcomes.readLockAsync ?? outcomes.sendAsync).toBe(
    'rejects ERR_FASTIPC_CLOSED',
  );
  expect(() => h.close()).not.toThrow();
  expect(() => h[Symbol.dispose]()).not.toThrow();
  // the other handle of the same primitive, and of this process, is untouched
  expect(other.processCount).toBe(1);
  other.close();
});

test('NamedRwLock closed right after writeLockAsync(): the writer lock is free, the call rejects CLOSED', async () => {
  const name = uniqueName('rwclose');
  const other = new NamedRwLock(name);
  const h = new NamedRwLock(name);
  const p = h.writeLockAsync();
  h.close();
  await expect(p).rejects.toMatchObject({ code: 'ERR_FASTIPC_CLOSED' });
  expect(other.writeLock({ timeout: 1000 })).toBe(true);
  other.writeUnlock();
  other.close();
});
