/**
 * Who the calling thread is, as a lock owner: (pid, thread id, thread start time).
 * Thread ids are kernel tids from the shim; PIDs and TIDs are reused (pid_max may be
 * 32768), so the thread's start time, in clock ticks after boot, tells a reused id from
 * the original. Computed once per thread (each worker has its own module instance).
 *
 * Without the shim only the `atomics` backend works, and only within this process, so
 * `threadId + 1` stands in for the tid; owner death is then not detected.
 */
import { threadId } from 'node:worker_threads';
import { native } from './native';

export interface Identity {
  readonly pid: number;
  readonly tid: number;
  /** Start time of the thread (clock ticks after boot); 0 when unknown. */
  readonly start: number;
}

let self: Identity | undefined;

export function currentThread(): Identity {
  if (self) return self;
  const shim = native();
  if (!shim) return (self = { pid: process.pid, tid: threadId + 1, start: 0 });
  const tid = shim.gettid();
  let start = 0;
  try {
    start = shim.startTime(process.pid, tid);
  } catch {
    /* /proc unreadable: owner checks fall back to the tid alone */
  }
  return (self = { pid: process.pid, tid, start });
}

/** Whether thread `tid` of process `pid`, started at `start`, still runs. Errs towards alive. */
export function isAlive(pid: number, tid: number, start: number): boolean {
  const shim = native();
  if (!shim || pid <= 0 || tid <= 0) return true;
  try {
    // /proc/<pid>/task/<tid>: the thread tid of process pid, and it started at `start`
    return shim.startTime(pid, tid) === start || start === 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return !(code === 'ENOENT' || code === 'ESRCH');
  }
}

/** Whether some thread with this tid exists (in any process). Errs towards yes. */
export function threadExists(tid: number): boolean {
  const shim = native();
  if (!shim || tid <= 0) return true;
  try {
    shim.startTime(tid, tid); // /proc/<tid>/task/<tid> exists for every thread
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return !(code === 'ENOENT' || code === 'ESRCH');
  }
}
