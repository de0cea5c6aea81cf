// Other users are kept out: private modes, no symlinks, no segments or PID directories
// that someone else owns, unless the caller opts in.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NamedMutex, SharedMemory } from '../lib';
import { leftSegments, removeSegments, uniqueName } from './helpers';

afterAll(removeSegments);

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

test('new segments are 0600 and the PID directory 0700', () => {
  const name = uniqueName('modes');
  using shm = SharedMemory.open(name, { size: 64 });
  expect(fs.statSync(`/dev/shm/fastipc.${name}`).mode & 0o777).toBe(0o600);
  expect(fs.statSync(process.env.FASTIPC_PID_DIR!).mode & 0o777).toBe(0o700);
  const m = new NamedMutex(uniqueName('gm'), { mode: 0o660 });
  expect(fs.statSync(`/dev/shm/fastipc-mutex.${m.name}`).mode & 0o777).toBe(0o660);
  m.close();
  void shm;
});

test('a symlink in place of a segment is refused unless allowForeign', () => {
  const name = uniqueName('link');
  const target = uniqueName('target');
  using real = SharedMemory.open(target, { size: 64 });
  fs.symlinkSync(`/dev/shm/fastipc.${target}`, `/dev/shm/fastipc.${name}`);
  try {
    expect(() => SharedMemory.open(name, { size: 64 })).toThrow(
      expect.objectContaining({ code: 'ELOOP', message: expect.stringMatching(/is a symlink; refusing it/) }),
    );
    const opted = SharedMemory.open(name, { size: 64, allowForeign: true });
    new Uint8Array(opted.buffer)[0] = 5;
    expect(new Uint8Array(real.buffer)[0]).toBe(5);
    opted.release(false);
  } finally {
    fs.rmSync(`/dev/shm/fastipc.${name}`, { force: true });
  }
});

(isRoot ? test : test.skip)('a segment owned by another user is refused unless allowForeign', () => {
  const name = uniqueName('foreign');
  const file = `/dev/shm/fastipc.${name}`;
  fs.writeFileSync(file, Buffer.alloc(64), { mode: 0o666 });
  fs.chownSync(file, NOBODY, NOBODY);
  try {
    expect(() => SharedMemory.open(name, { size: 64 })).toThrow(
      expect.objectContaining({ code: 'EPERM', message: expect.stringMatching(/belongs to uid 65534/) }),
    );
    const opted = SharedMemory.open(name, { size: 64, allowForeign: true });
    expect(opted.created).toBe(false);
    opted.release(false);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('a PID directory that is a symlink, writable by others, or not ours is refused', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastipc-piddir-'));
  const open = (dir: string) => {
    const script = `const { SharedMemory } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
      try { SharedMemory.open(${JSON.stringify(uniqueName('pd'))}, { size: 64 }).close(); console.log('opened'); }
      catch (e) { console.log(e.code + ' ' + e.message); }`;
    return execFileSync(process.execPath, ['-e', script], { env: { ...process.env, FASTIPC_PID_DIR: dir } })
      .toString()
      .trim();
  };
  try {
    fs.mkdirSync(path.join(tmp, 'open'), { mode: 0o777 });
    fs.chmodSync(path.join(tmp, 'open'), 0o777);
    expect(open(path.join(tmp, 'open'))).toMatch(/^EPERM .*writable by others/);
    fs.mkdirSync(path.join(tmp, 'real'), { mode: 0o700 });
    fs.symlinkSync(path.join(tmp, 'real'), path.join(tmp, 'link'));
    expect(open(path.join(tmp, 'link'))).toMatch(/^ENOTDIR .*not a directory/);
    if (isRoot) {
      fs.mkdirSync(path.join(tmp, 'theirs'), { mode: 0o700 });
      fs.chownSync(path.join(tmp, 'theirs'), NOBODY, NOBODY);
      expect(open(path.join(tmp, 'theirs'))).toMatch(/^EPERM .*belongs to uid 65534/);
    }
    expect(open(path.join(tmp, 'fresh'))).toBe('opened');
    expect(fs.statSync(path.join(tmp, 'fresh')).mode & 0o777).toBe(0o700);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  expect(leftSegments()).toEqual([]);
});
