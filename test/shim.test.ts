// The shim's identity calls agree with /proc, and its errors carry codes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { native } from '../lib/core/native';

const shim = native()!;

function startFromProc(pid: number, tid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]); // field 22
}

test('the addon loads', () => {
  expect(shim).not.toBeNull();
});

test('gettid is the pid on the main thread; startTime matches /proc and does not drift', () => {
  expect(shim.gettid()).toBe(process.pid);
  const before = shim.startTime(process.pid, process.pid);
  expect(before).toBe(startFromProc(process.pid, process.pid));
  const junk = Array.from({ length: 1e5 }, (_, i) => ({ i })); // grow the heap: vsize moves, start must not
  expect(junk.length).toBe(1e5);
  expect(shim.startTime(process.pid, process.pid)).toBe(before);
});

test('startTime of another process matches /proc; a gone one is ENOENT', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    expect(shim.startTime(child.pid!, child.pid!)).toBe(startFromProc(child.pid!, child.pid!));
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  let code: string | undefined;
  try {
    shim.startTime(child.pid!, child.pid!);
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code;
  }
  expect(code).toBe('ENOENT');
});

test('system errors carry code, errno and syscall', () => {
  let err: NodeJS.ErrnoException | undefined;
  try {
    shim.mmap(987654, 4096); // not an open fd
  } catch (e) {
    err = e as NodeJS.ErrnoException;
  }
  expect(err).toMatchObject({ code: 'EBADF', syscall: 'mmap', errno: -9 });
});
