// Without the native addon: the package loads, the atomics backend works, and what needs
// the addon says so.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const script = `
  const f = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
  const out = {};
  const w = new f.FutexWord(new SharedArrayBuffer(4));
  out.backend = w.backend;
  out.timedOut = w.wait(0, 1);
  const m = new f.Mutex(new SharedArrayBuffer(64)); // the default there without the addon: atomics
  out.mutexBackend = m.backend; out.locked = m.lock({ timeout: 10 }); m.unlock();
  const c = new f.AtomicU32(new ArrayBuffer(4)); c.add(3); out.count = c.load();
  for (const [k, fn] of [['futex', () => new f.FutexWord(new ArrayBuffer(4))],
                         ['shm', () => f.SharedMemory.open('noaddon', { size: 64 })],
                         ['hybrid', () => new f.Mutex(new SharedArrayBuffer(64), 0, { backend: 'hybrid' })]]) {
    try { fn(); out[k] = 'no error'; } catch (e) { out[k] = { name: e.name, code: e.code, message: e.message }; }
  }
  console.log(JSON.stringify(out));
`;

test('import works and atomics works without the addon; futex and SharedMemory explain', () => {
  const out = JSON.parse(
    execFileSync(process.execPath, ['-e', script], { env: { ...process.env, FASTIPC_NO_ADDON: '1' } }).toString(),
  );
  expect(out).toMatchObject({
    backend: 'atomics',
    mutexBackend: 'atomics',
    locked: true,
    timedOut: 'timed-out',
    count: 3,
  });
  for (const k of ['futex', 'shm', 'hybrid']) {
    expect(out[k]).toMatchObject({ name: 'Error', code: 'ERR_FASTIPC_NO_ADDON' });
    expect(out[k].message).toMatch(/needs the native addon.*npm rebuild fastipc/);
  }
});
