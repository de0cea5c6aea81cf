// NamedMutex, NamedSemaphore, NamedEvent across processes, namespaces, close.
import fs from 'node:fs';
import { NamedEvent, NamedMutex, NamedSemaphore, Semaphore, SharedMemory } from '../lib';
import { inProcess, inWorker, killAll, leftSegments, removeSegments, uniqueName } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

test('4 processes x 25,000 NamedMutex lock/increment/unlock: exact total', async () => {
  const name = uniqueName('nm');
  const ctl = uniqueName('ctl');
  using counter = SharedMemory.open(ctl, { size: 4096 });
  const n = 25_000;
  const runs = Array.from({ length: 4 }, () => inProcess({ task: 'namedHammer', name, n, memory: { shm: ctl } }));
  expect(await Promise.all(runs)).toEqual([n, n, n, n]);
  expect(new Int32Array(counter.buffer, 0, 1)[0]).toBe(4 * n);
  expect(fs.existsSync(`/dev/shm/fastipc-mutex.${name}`)).toBe(false); // last close unlinked it
});

test('the three kinds live in separate namespaces', () => {
  const name = uniqueName('ns');
  const m = new NamedMutex(name);
  const s = new NamedSemaphore(name, { initial: 2 });
  const e = new NamedEvent(name);
  const plain = SharedMemory.open(name, { size: 64 });
  try {
    expect(m.lock()).toBe(true);
    expect(s.value).toBe(2);
    expect(e.isSet).toBe(false);
    expect(new Uint8Array(plain.buffer).every((b) => b === 0)).toBe(true);
    m.unlock();
  } finally {
    for (const h of [m, s, e, plain]) h.close();
  }
  expect(leftSegments()).toEqual([]);
});

test('initial applies only on creation; attaching never resets', () => {
  const name = uniqueName('init');
  const a = new NamedSemaphore(name, { initial: 5 });
  a.wait();
  const b = new NamedSemaphore(name, { initial: 50 });
  expect([a.initialized, b.initialized, b.value]).toEqual([true, false, 4]);
  expect(a.processCount).toBe(1);
  a.close();
  b.close();
});

test("after close every method throws and nothing crashes; a thread's last close releases its lock", async () => {
  const name = uniqueName('closed');
  const m = new NamedMutex(name);
  const other = new NamedMutex(name);
  m.lock();
  m.close();
  m.close(); // idempotent
  expect(other.isLocked).toBe(true); // this thread still has a handle: the lock stays
  other.unlock();
  expect(await inWorker({ task: 'namedLockClose', name, memory: null })).toBe('closed');
  expect(other.tryLock()).toBe(true); // the worker's last close released its lock
  other.unlock();
  for (const call of [() => m.lock(), () => m.tryLock(), () => m.unlock(), () => m.isLocked, () => m.processCount]) {
    expect(call).toThrow(Error);
  }
  other.close();
  const s = new NamedSemaphore(name);
  const e = new NamedEvent(name);
  s.close();
  e.close();
  for (const call of [
    () => s.post(),
    () => s.wait({ timeout: 1 }),
    () => s.value,
    () => e.set(),
    () => e.wait({ timeout: 1 }),
  ]) {
    expect(call).toThrow(Error);
  }
  expect(leftSegments()).toEqual([]);
});

test('a segment holding garbage is a TypeError, and the handle is not left open', () => {
  const name = uniqueName('garbage');
  const path = `/dev/shm/fastipc-mutex.${name}`;
  fs.writeFileSync(path, Buffer.alloc(64, 0xab), { mode: 0o600 });
  try {
    expect(() => new NamedMutex(name)).toThrow(TypeError);
    expect(() => new NamedMutex(name)).toThrow(/holds no Mutex/);
    expect(fs.readFileSync(path)).toEqual(Buffer.alloc(64, 0xab)); // left as it was
    // not registered
    expect(fs.readdirSync(`${process.env.FASTIPC_PID_DIR}`).filter((f) => f.includes(name))).toEqual([]);
  } finally {
    fs.rmSync(path, { force: true });
  }
});

test('a NamedEvent set in one process wakes waiters in 3 others', async () => {
  const name = uniqueName('ev');
  const ctl = uniqueName('ctl');
  using shm = SharedMemory.open(ctl, { size: 4096 });
  using e = new NamedEvent(name);
  const waits = Array.from({ length: 3 }, () =>
    inProcess<{ ok: boolean }>({ task: 'namedEventWait', name, memory: { shm: ctl } }),
  );
  const arrived = new Int32Array(shm.buffer, 0, 1);
  const deadline = Date.now() + 15000;
  while (Atomics.load(arrived, 0) < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  e.set();
  expect((await Promise.all(waits)).map((r) => r.ok)).toEqual([true, true, true]);
});

test('a Named form reads its options as the primitive does (inherited ones too); an instance of both', () => {
  const name = uniqueName('opts');
  using s = new NamedSemaphore(name, Object.create({ initial: 5 }) as { initial: number });
  expect(s.value).toBe(5);
  expect(s).toBeInstanceOf(NamedSemaphore);
  expect(s).toBeInstanceOf(Semaphore);
  expect(s.constructor.name).toBe('NamedSemaphore');
  expect(() => new NamedSemaphore(name, Object.create({ initial: -1 }) as { initial: number })).toThrow(RangeError);
});
