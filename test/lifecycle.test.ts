// The segment lifecycle: PID registrations, the last live close unlinks, dead users are
// swept but never unlink, and open/close/unlink never race.
import fs from 'node:fs';
import path from 'node:path';
import { AtomicU32, FutexWord, SharedMemory } from '../lib';
import { inProcess, inWorker, killAll, leftSegments, removeSegments, TASK, uniqueName, until } from './helpers';
import { spawn } from 'node:child_process';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const file = (name: string) => `/dev/shm/fastipc.${name}`;
const regs = (name: string) => {
  try {
    return fs.readdirSync(path.join(process.env.FASTIPC_PID_DIR!, `fastipc.${name}`));
  } catch {
    return [];
  }
};

function release(shm: SharedMemory) {
  const w = new FutexWord(shm.buffer, 8);
  w.store(1);
  w.wake(Infinity);
}

test('processCount counts live processes; the last close unlinks', async () => {
  const name = uniqueName('count');
  const shm = SharedMemory.open(name, { size: 4096 });
  expect(shm.processCount).toBe(1);
  const holders = [
    inProcess<{ count: number }>({ task: 'holdShm', name, memory: null }),
    inProcess<{ count: number }>({ task: 'holdShm', name, memory: null }),
  ];
  const opened = new AtomicU32(shm.buffer, 0);
  await until(() => opened.load() === 2, 15000, 'both holders');
  expect(shm.processCount).toBe(3);
  expect(regs(name)).toHaveLength(3);
  release(shm);
  const counts = (await Promise.all(holders)).map((r) => r.count);
  expect(counts.every((c) => c >= 2 && c <= 3)).toBe(true);
  expect(shm.processCount).toBe(1);
  shm.close();
  expect(fs.existsSync(file(name))).toBe(false);
  expect(regs(name)).toEqual([]);
});

test('a worker thread with a handle keeps its process registered and the segment alive', async () => {
  const name = uniqueName('worker');
  const shm = SharedMemory.open(name, { size: 4096 });
  const holder = inWorker<{ count: number }>({ task: 'holdShm', name, create: false, memory: null });
  const view = new AtomicU32(shm.buffer, 0);
  await until(() => view.load() === 1, 15000, 'the worker');
  expect(shm.processCount).toBe(1); // one process, two threads
  expect(regs(name)).toHaveLength(2);
  const other = SharedMemory.open(name, { size: 4096, create: false });
  release(other);
  shm.close();
  other.close(); // this thread is done; the worker may still hold it
  expect((await holder).count).toBe(1);
  expect(fs.existsSync(file(name))).toBe(false); // the worker's close was the last
});

test('dead users are swept, and a segment whose users all died is kept for the next opener', async () => {
  const name = uniqueName('dead');
  const child = spawn(process.execPath, [TASK, JSON.stringify({ task: 'holdShm', name, memory: null })], {
    stdio: 'ignore',
  });
  await until(
    () => {
      try {
        return fs.readFileSync(file(name)).readUInt32LE(0) === 1;
      } catch {
        return false;
      }
    },
    15000,
    'the child to open',
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  expect(regs(name)).toHaveLength(1); // the dead child's registration is still there
  expect(fs.existsSync(file(name))).toBe(true);
  const shm = SharedMemory.open(name, { size: 4096 });
  expect(shm.created).toBe(false);
  expect(new AtomicU32(shm.buffer, 0).load()).toBe(1); // its state survived
  expect(shm.processCount).toBe(1); // swept
  shm.close();
  expect(fs.existsSync(file(name))).toBe(false);
});

test('unlink while others hold it: they keep their memory; their close spares a newer segment', () => {
  const name = uniqueName('unlink');
  const old = SharedMemory.open(name, { size: 4096 });
  new Uint8Array(old.buffer)[0] = 7;
  SharedMemory.unlink(name);
  expect(fs.existsSync(file(name))).toBe(false);
  expect(() => SharedMemory.unlink(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  const fresh = SharedMemory.open(name, { size: 4096 });
  expect(fresh.created).toBe(true);
  expect(new Uint8Array(old.buffer)[0]).toBe(7);
  old.close();
  expect(fs.existsSync(file(name))).toBe(true); // the old handle's close left the new segment
  fresh.close();
  expect(fs.existsSync(file(name))).toBe(false);
});

test('4 processes open/close one name in a loop while one holds it: one segment, exact count', async () => {
  const name = uniqueName('race');
  const shm = SharedMemory.open(name, { size: 4096 });
  const loops = 150;
  const runs = Array.from({ length: 4 }, (_, slot) =>
    inProcess<{ violations: number }>({ task: 'shmCycle', name, loops, slot, memory: null }),
  );
  expect(await Promise.all(runs)).toEqual(Array(4).fill({ violations: 0 }));
  expect(new AtomicU32(shm.buffer, 0).load()).toBe(4 * loops);
  expect(shm.processCount).toBe(1);
  shm.close();
  expect(leftSegments()).toEqual([]);
});

test('4 processes open/close one name with nobody holding it: never unlinked under a user', async () => {
  const name = uniqueName('churn');
  const runs = Array.from({ length: 4 }, (_, slot) =>
    inProcess<{ violations: number }>({ task: 'shmCycle', name, loops: 150, slot, memory: null }),
  );
  expect(await Promise.all(runs)).toEqual(Array(4).fill({ violations: 0 }));
  expect(fs.existsSync(file(name))).toBe(false);
  expect(regs(name)).toEqual([]);
});

test('4 processes creating one NamedSemaphore at once: initialised once', async () => {
  const name = uniqueName('init');
  const ctl = uniqueName('ctl');
  const barrier = SharedMemory.open(ctl, { size: 4096 });
  try {
    const runs = Array.from({ length: 4 }, () =>
      inProcess<{ took: boolean; initialized: boolean; value: number }>({
        task: 'namedInit',
        name,
        parties: 4,
        memory: { shm: ctl },
      }),
    );
    const results = await Promise.all(runs);
    expect(results.filter((r) => r.initialized)).toHaveLength(1);
    expect(results.every((r) => r.took)).toBe(true);
    expect(Math.min(...results.map((r) => r.value))).toBe(96); // 100 once, 4 taken
  } finally {
    barrier.close();
  }
  expect(leftSegments()).toEqual([]);
});

test('unlink and reopen in one thread: the new segment is registered; closing in either order leaves nothing', () => {
  for (const order of ['new first', 'old first']) {
    const name = uniqueName('reopen');
    const old = SharedMemory.open(name, { size: 4096 });
    SharedMemory.unlink(name);
    const fresh = SharedMemory.open(name, { size: 4096 });
    expect(fresh.created).toBe(true);
    expect(fresh.processCount).toBe(1);
    expect(regs(name)).toHaveLength(1);
    const [first, second] = order === 'new first' ? [fresh, old] : [old, fresh];
    first.close();
    second.close();
    expect(fs.existsSync(file(name))).toBe(false);
    expect(regs(name)).toEqual([]);
  }
});
