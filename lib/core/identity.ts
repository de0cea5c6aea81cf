/**
 * Who the calling thread is, as a lock owner or segment user: (pid, thread id, thread
 * start time, pid namespace). Thread ids are kernel tids from the shim; pids and tids are
 * reused (pid_max may be 32768), so the thread's start time, in clock ticks after boot,
 * tells a reused id from the original. Ids mean something only within one pid namespace,
 * so the namespace is recorded too, and nobody judges a thread of another namespace.
 * Computed once per thread, and shared by every copy of the library in it.
 *
 * Without the shim only the `atomics` backend works, and only within this process, so
 * `threadId + 1` stands in for the tid; owner death is then not detected.
 */
import fs from 'node:fs';
import { threadId } from 'node:worker_threads';
import { native } from './native';
import { threadState } from './thread-state';

export interface Identity {
  readonly pid: number;
  readonly tid: number;
  /** Start time of the thread (clock ticks after boot); 0 when unknown. */
  readonly start: number;
  /** Inode of our pid namespace, as an int32 (0 when unknown). */
  readonly ns: number;
}

function pidNamespace(): number {
  try {
    return fs.statSync('/proc/self/ns/pid').ino | 0;
  } catch {
    return 0;
  }
}

export function currentThread(): Identity {
  const state = threadState();
  if (state.identity) return state.identity;
  const shim = native();
  // not kept: a copy with the addon may come
  if (!shim) return { pid: process.pid, tid: threadId + 1, start: 0, ns: 0 };
  const tid = shim.gettid();
  let start = 0;
  try {
    start = shim.startTime(process.pid, tid);
  } catch {
    /* /proc unreadable: owner checks fall back to whether the thread exists */
  }
  return (state.identity = { pid: process.pid, tid, start, ns: pidNamespace() });
}

/**
 * Whether thread `tid` of process `pid`, started at `start`, in pid namespace `ns`, still
 * runs. Errs towards alive: a live owner taken over would break mutual exclusion, while
 * a dead one judged alive only delays recovery.
 */
export function isAlive(pid: number, tid: number, start: number, ns: number): boolean {
  const shim = native();
  if (!shim || pid <= 0 || tid <= 0) return true;
  const me = currentThread();
  if (ns !== 0 && me.ns !== 0 && ns !== me.ns) return true; // its ids are not ours to read
  try {
    if (!shim.threadExists(pid, tid)) return false; // tgkill: ESRCH, whatever /proc shows
  } catch {
    return true;
  }
  if (start === 0) return true;
  try {
    return shim.startTime(pid, tid) === start; // a zombie reads as gone (ESRCH)
  } catch (err) {
    // The thread exists (tgkill said so) but /proc will not tell (hidepid=): alive, unless
    // /proc says it is a zombie.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Whether some thread with this tid exists in our pid namespace (tkill, signal 0). Errs towards yes. */
export function threadExists(tid: number): boolean {
  const shim = native();
  if (!shim || tid <= 0) return true;
  try {
    return shim.threadExists(0, tid);
  } catch {
    return true;
  }
}
