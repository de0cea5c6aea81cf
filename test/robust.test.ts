// Robustness cases found in review: stopping threads that sleep, closing memory under
// pending waits, two copies of the library, zombies and pid namespaces.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AtomicU32, Mutex, NamedMutex, NamedSemaphore, SharedMemory } from '../lib';
import { killAll, leftSegments, removeSegments, TASK, uniqueName, until } from './helpers';

afterAll(async () => {
  await killAll();
  removeSegments();
});

const DIST = path.join(__dirname, '..', 'dist');

test.each(['semaphore', 'event', 'futexword'])(
  'a worker asleep in a sync %s wait (futex backend) can be terminated at once',
  async (kind) => {
    const sab = new SharedArrayBuffer(128);
    const code = `
    const { Semaphore, Event, FutexWord, AtomicU32 } = require(${JSON.stringify(path.join(DIST, 'index.js'))});
    const { workerData: sab } = require('node:worker_threads');
    new AtomicU32(sab, 64).store(1);
    if ('${kind}' === 'semaphore') new Semaphore(sab, 0, { backend: 'futex' }).wait();
    else if ('${kind}' === 'event') new Event(sab, 0, { backend: 'futex' }).wait();
    else new FutexWord(sab, 0, { backend: 'futex' }).wait(0);`;
    const w = new Worker(code, { eval: true, workerData: sab });
    await until(() => new AtomicU32(sab, 64).load() === 1, 10000, 'the worker to sleep');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await w.terminate();
    expect(performance.now() - t0).toBeLessThan(1500); // a slice is 100 ms; without slices it took 2.2 s and more
  },
);

test('workers terminated with async waits pending on a segment never crash the process', () => {
  // a worker's teardown unmapped its segment while its waiter thread still read a word of it
  const name = uniqueName('term-async');
  const out = execFileSync(process.execPath, [path.join(__dirname, 'fixtures', 'terminate-async.mjs'), name, '300'], {
    encoding: 'utf8',
    timeout: 120000,
  });
  expect(out.trim()).toBe('ok 300');
  expect(leftSegments()).toEqual([]);
}, 150000);

test('two copies of the library in one thread (ESM and CJS) keep separate registrations', () => {
  const name = uniqueName('copies');
  const out = execFileSync(process.execPath, [
    '--input-type=module',
    '-e',
    `
    import { createRequire } from 'node:module';
    import * as esm from ${JSON.stringify(path.join(DIST, 'index.mjs'))};
    const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(DIST, 'index.js'))});
    const a = esm.SharedMemory.open(${JSON.stringify(name)}, { size: 64 });
    const b = cjs.SharedMemory.open(${JSON.stringify(name)}, { size: 64 });
    new Uint8Array(a.buffer)[0] = 42;
    b.close();                                   // the CJS copy is done; ESM still uses it
    const c = cjs.SharedMemory.open(${JSON.stringify(name)}, { size: 64 });
    console.log(JSON.stringify({ created: c.created, seen: new Uint8Array(c.buffer)[0] }));
    c.close(); a.close();`,
  ]).toString();
  expect(JSON.parse(out)).toEqual({ created: false, seen: 42 });
  expect(leftSegments()).toEqual([]);
});

test(
  'closing a Named primitive under pending async waits rejects them ' +
    'with ERR_FASTIPC_CLOSED and restores the sleepers',
  async () => {
    const name = uniqueName('closing');
    const other = new NamedSemaphore(name);
    const s = new NamedSemaphore(name);
    const pending = [s.waitAsync(), s.waitAsync({ timeout: 30000 })];
    const sleepers = () => fs.readFileSync(`/dev/shm/fastipc-semaphore.${name}`).readInt32LE(12);
    await until(() => sleepers() === 2, 5000, 'two sleepers');
    s.close();
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'ERR_FASTIPC_CLOSED' });
    expect(sleepers()).toBe(0);
    other.post(1); // nobody is left to absorb it
    expect(other.value).toBe(1);
    other.close();
  },
);

test('a holder that is a zombie (killed, not yet reaped) is recognised as dead', async () => {
  const sab = uniqueName('zombie');
  const shm = SharedMemory.open(sab, { size: 4096 });
  try {
    // sh starts the holder and then becomes `sleep`, which never reaps it
    const spec = JSON.stringify({ task: 'lockAndDie', memory: { shm: sab }, backend: 'futex', then: 'hold' });
    const parent = spawn('sh', ['-c', `"${process.execPath}" "${TASK}" '${spec}' & exec sleep 60`], {
      stdio: 'ignore',
    });
    await until(() => new AtomicU32(shm.buffer, 68).load() === 1, 15000, 'the holder');
    const m = new Mutex(shm.buffer, 0);
    process.kill(m.ownerPid, 'SIGKILL');
    await until(() => fs.readFileSync(`/proc/${m.ownerPid}/stat`, 'utf8').includes(') Z'), 5000, 'the zombie');
    expect(m.lock({ timeout: 3000 })).toBe(true);
    expect(m.recovered).toBe(true);
    m.unlock();
    parent.kill('SIGKILL');
  } finally {
    shm.close();
  }
});

const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((p) => fs.existsSync(p));
(process.getuid?.() === 0 && unshare ? test : test.skip)(
  'a live holder in another pid namespace is never taken over',
  async () => {
    const name = uniqueName('pidns');
    // --kill-child: the holder (pid 1 of the new namespace) dies with unshare; detached: its
    // own process group, so the finally below can end the whole group.
    const holder = spawn(
      unshare!,
      [
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        process.execPath,
        '--input-type=module',
        '-e',
        `
    import { NamedMutex } from ${JSON.stringify(path.join(DIST, 'index.mjs'))};
    const m = new NamedMutex(${JSON.stringify(name)});
    m.lock();
    console.log('locked ' + process.pid);
    setTimeout(() => {}, 60000);`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'], detached: true },
    );
    let out = '';
    holder.stdout!.on('data', (d) => (out += d));
    try {
      await until(() => out.includes('locked'), 15000, 'the holder');
      const m = new NamedMutex(name);
      expect(m.lock({ timeout: 1500 })).toBe(false); // alive, in a namespace we cannot judge
      expect(m.recovered).toBe(false);
      m.close();
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
      await new Promise((r) =>
        holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r),
      );
      fs.rmSync(`/dev/shm/fastipc-mutex.${name}`, { force: true });
    }
  },
);

test(
  'a record left half-written by a killed locker does not make ' + 'the next holder a stranger to its own lock',
  async () => {
    const sab = new SharedArrayBuffer(128);
    const m = new Mutex(sab, 0);
    m.lock();
    m.unlock(); // the owner record is this thread's
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.once('exit', r)); // a thread id that no longer runs
    const v = new Int32Array(sab, 0, 16);
    Atomics.store(v, 2, child.pid!); // a locker took the lock ...
    v[3] = child.pid!; // ... wrote its pid, and died before the rest of its record
    expect(m.lock({ timeout: 5000 })).toBe(true);
    expect(m.recovered).toBe(true);
    expect(m.ownerPid).toBe(process.pid);
    m.unlock(); // the holder knows its lock
    expect(m.isLocked).toBe(false);
  },
);

test('a lockAsync pending when its Named handle closes rejects with ERR_FASTIPC_CLOSED', async () => {
  const name = uniqueName('lockclose');
  const holder = new NamedMutex(name);
  const waiter = new NamedMutex(name);
  holder.lock();
  const pending = waiter.lockAsync();
  await new Promise((r) => setTimeout(r, 20));
  waiter.close();
  await expect(pending).rejects.toMatchObject({ code: 'ERR_FASTIPC_CLOSED' });
  holder.unlock();
  holder.close();
  expect(leftSegments()).toEqual([]);
});
