import fs from 'node:fs';
import { FutexWord, SharedMemory } from '../lib';
import { removeSegments, uniqueName } from './helpers';

afterAll(removeSegments);

const file = (name: string) => `/dev/shm/fastipc.${name}`;

test('create, attach, share bytes, close, unlink', () => {
  const name = uniqueName('shm');
  const a = SharedMemory.open(name, { size: 8192 });
  const b = SharedMemory.open(name, { size: 100, create: false });
  try {
    expect([a.created, b.created]).toEqual([true, false]);
    expect([a.size, b.size]).toEqual([8192, 8192]); // an attacher maps the whole segment
    new Uint8Array(a.buffer)[4000] = 99;
    expect(new Uint8Array(b.buffer)[4000]).toBe(99);
    expect(fs.statSync(file(name)).mode & 0o777).toBe(0o600);
  } finally {
    a.close();
    expect(fs.existsSync(file(name))).toBe(true); // b still has it open
    b.close();
  }
  expect(fs.existsSync(file(name))).toBe(false); // the last close unlinked it
});

test('mode sets the permission bits exactly, umask notwithstanding', () => {
  const name = uniqueName('mode');
  using shm = SharedMemory.open(name, { size: 64, mode: 0o640 });
  expect(fs.statSync(file(name)).mode & 0o777).toBe(0o640);
  shm.unlink();
});

test('attaching with a size larger than the segment is a RangeError', () => {
  const name = uniqueName('small');
  using shm = SharedMemory.open(name, { size: 64 });
  expect(() => SharedMemory.open(name, { size: 65 })).toThrow(RangeError);
  expect(() => SharedMemory.open(name, { size: 65 })).toThrow(/larger than segment/);
  shm.unlink();
});

test("create: false on a missing name is an Error with code 'ENOENT'", () => {
  expect(() => SharedMemory.open(uniqueName('missing'), { size: 64, create: false })).toThrow(
    expect.objectContaining({ code: 'ENOENT' }),
  );
});

test('after close: buffer is detached, views read nothing, words throw instead of crashing', () => {
  const name = uniqueName('closed');
  const shm = SharedMemory.open(name, { size: 64 });
  const buffer = shm.buffer;
  const view = new Int32Array(buffer);
  const word = new FutexWord(buffer, 0);
  shm.close();
  shm.close(); // idempotent
  expect(buffer.byteLength).toBe(0);
  expect(view.length).toBe(0);
  expect(view[0]).toBeUndefined();
  expect(() => word.load()).toThrow(TypeError);
  // (errors made by the addon come from the main realm, not jest's: compare by name)
  expect(() => word.wait(0, 1)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
  expect(() => word.wake()).toThrow(expect.objectContaining({ name: 'RangeError' }));
  expect(() => shm.buffer).toThrow(expect.objectContaining({ code: 'ERR_FASTIPC_CLOSED' }));
  expect(fs.existsSync(file(name))).toBe(false);
});

test('the `using` declaration closes the segment', () => {
  const name = uniqueName('using');
  let buffer: ArrayBuffer;
  {
    using shm = SharedMemory.open(name, { size: 64 });
    buffer = shm.buffer;
    expect(buffer.byteLength).toBe(64);
  }
  expect(buffer.byteLength).toBe(0);
  expect(fs.existsSync(file(name))).toBe(false);
});

test('concurrent creators of one name end on one segment', () => {
  // Many opens in a row with the name removed in between exercise create and attach;
  // the link(2) publish means an attacher never sees a segment shorter than its size.
  const name = uniqueName('race');
  for (let i = 0; i < 50; i++) {
    const a = SharedMemory.open(name, { size: 4096 });
    const b = SharedMemory.open(name, { size: 4096 });
    new Uint32Array(a.buffer)[0] = i;
    expect(new Uint32Array(b.buffer)[0]).toBe(i);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    a.close();
    b.close();
  }
  expect(fs.readdirSync('/dev/shm').filter((f) => f.includes(name))).toEqual([]);
});
