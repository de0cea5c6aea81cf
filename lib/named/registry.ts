/**
 * The PID directory: which threads of which processes use each segment, so the last live
 * user's close can unlink it and a crashed user is never counted as live.
 *
 *   $FASTIPC_PID_DIR, or /dev/shm/fastipc-<uid> (mode 0700, owned by us, not a symlink)
 *     .lock                      one flock(2) for every open/close/unlink below
 *     <segment file>/            one folder per segment name (e.g. fastipc.jobs)
 *       <pid>.<tid>.<start>.<ino>.<ns>.<copy>
 *                                a thread with at least one open handle on the segment
 *                                whose inode is <ino> (after an unlink the name may hold
 *                                a newer segment); `start` is the thread's start time,
 *                                since pids and tids are reused; <ns> its pid namespace;
 *                                <copy> a random id of the thread's library state (every
 *                                copy loaded in the thread shares one: thread-state.ts)
 *
 * A process counts while any of its threads holds a handle. A registration is dead when
 * no thread (pid, tid) started at `start` runs any more; dead ones are swept on open and
 * close, but sweeping never unlinks a segment: one whose users all died keeps its state
 * for the next opener.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FastipcError, type FastipcErrorCode } from '../core/errors';
import { currentThread, isAlive } from '../core/identity';
import { requireNative } from '../core/native';
import { threadState } from '../core/thread-state';

const LOCK_EX = 2;

function fail(code: FastipcErrorCode, message: string): FastipcError {
  return new FastipcError(code, message);
}

export function pidDir(): string {
  return process.env.FASTIPC_PID_DIR || `/dev/shm/fastipc-${process.getuid?.() ?? 0}`;
}

let checkedDir: string | undefined;

/** Creates the PID directory, or checks that the existing one is ours and private. */
function ensureDir(dir: string): void {
  if (checkedDir === dir) return;
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw fail('ENOTDIR', `the PID directory ${dir} is not a directory (a symlink?)`);
  if (st.uid !== process.getuid?.())
    throw fail('EPERM', `the PID directory ${dir} belongs to uid ${st.uid}, not to us`);
  if (st.mode & 0o022)
    throw fail('EPERM', `the PID directory ${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
  checkedDir = dir;
}

/** Runs `fn` holding the PID directory's lock (exclusive, across processes and threads). */
export function locked<T>(fn: () => T): T {
  const dir = pidDir();
  ensureDir(dir);
  const fd = fs.openSync(
    path.join(dir, '.lock'),
    fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    requireNative('the PID directory').flock(fd, LOCK_EX);
    return fn();
  } finally {
    fs.closeSync(fd); // releases the flock
  }
}

export interface Registration {
  pid: number;
  tid: number;
  start: number;
  /** Inode of the segment registered for. */
  ino: number;
  /** The registrant's pid namespace (inode, uint32) and library copy. */
  ns: number;
  copy: string;
  alive: boolean;
}

function folder(file: string): string {
  return path.join(pidDir(), file);
}

/** Every registration of the segment `file`, live and dead. */
export function registrations(file: string): Registration[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(folder(file));
  } catch {
    return [];
  }
  const out: Registration[] = [];
  for (const entry of entries) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.(\d+)\.([0-9a-f]+)$/.exec(entry);
    if (!m) continue;
    const [pid, tid, start, ino, ns] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
    out.push({ pid, tid, start, ino, ns, copy: m[6], alive: isAlive(pid, tid, start, ns | 0) });
  }
  return out;
}

/** Removes dead registrations; returns the live ones. Call under `locked`. */
export function sweep(file: string): Registration[] {
  const all = registrations(file);
  for (const r of all) {
    if (!r.alive) fs.rmSync(path.join(folder(file), entryName(r)), { force: true });
  }
  return all.filter((r) => r.alive);
}

function entryName(r: Omit<Registration, 'alive'>): string {
  return `${r.pid}.${r.tid}.${r.start}.${r.ino}.${r.ns >>> 0}.${r.copy}`;
}

function mine(ino: number): string {
  const me = currentThread();
  return entryName({ pid: me.pid, tid: me.tid, start: me.start, ino, ns: me.ns, copy: threadState().copy });
}

/** Records that this thread uses segment `file` with inode `ino`. Call under `locked`. */
export function register(file: string, ino: number): void {
  fs.mkdirSync(folder(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(folder(file), mine(ino)), '');
}

/**
 * Removes this thread's record of segment `file` with inode `ino`; returns the live users
 * of that same segment that are left. Call under `locked`.
 */
export function unregister(file: string, ino: number): Registration[] {
  fs.rmSync(path.join(folder(file), mine(ino)), { force: true });
  const live = sweep(file);
  if (live.length === 0) fs.rmSync(folder(file), { recursive: true, force: true });
  return live.filter((r) => r.ino === ino);
}

/** Forgets every registration of `file` (the segment was unlinked). Call under `locked`. */
export function forget(file: string): void {
  fs.rmSync(folder(file), { recursive: true, force: true });
}

/** The distinct live processes among `regs`. */
export function processCount(regs: Registration[]): number {
  return new Set(regs.map((r) => `${r.ns}:${r.pid}`)).size; // pids repeat across pid namespaces
}
