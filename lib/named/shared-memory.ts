/**
 * SharedMemory: a named segment in /dev/shm, mapped MAP_SHARED, as an ArrayBuffer.
 *
 *   const shm = SharedMemory.open('jobs', { size: 4096 });   // create or attach
 *   const m = new Mutex(shm.buffer, 0);                       // futex backend
 *   shm.close();                                              // unmap; views now read nothing
 *
 * The file is /dev/shm/fastipc.<name> ($FASTIPC_SHM_DIR overrides the folder), mode 0600
 * unless `mode` says otherwise. A new segment is created under a temporary name, sized,
 * then published with link(2), so an attacher never sees it before it has its full size.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FastipcError } from '../core/errors';
import { requireNative } from '../core/native';
import { threadState } from '../core/thread-state';
import { forget, locked, processCount, register, sweep, unregister } from './registry';
import { checkInteger, checkOptions, describe } from '../core/validate';

export const NAME_MAX_BYTES = 200;
export const PREFIX = 'fastipc.';

/** Options of SharedMemory.open. */
export interface SharedMemoryOptions {
  /** Bytes; when attaching, the segment must have at least this many. */
  size: number;
  /** Create the segment if it does not exist (default true). */
  create?: boolean;
  /** Permission bits of a new segment (default 0o600). */
  mode?: number;
  /** Attach even to a segment that another user owns or that is a symlink (default false). */
  allowForeign?: boolean;
}

export function shmDir(): string {
  return process.env.FASTIPC_SHM_DIR || '/dev/shm';
}

/** Throws a TypeError unless `name` is a valid segment name. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${describe(name)}`);
  const rule = 'a segment name must be 1 to 200 bytes, without "/" or NUL, and not "." or ".."';
  if (name.length === 0) throw new TypeError(`name is empty: ${rule}`);
  if (name.includes('/') || name.includes('\0'))
    throw new TypeError(`name ${JSON.stringify(name)} is invalid: ${rule}`);
  if (name === '.' || name === '..') throw new TypeError(`name ${JSON.stringify(name)} is invalid: ${rule}`);
  if (Buffer.byteLength(name) > NAME_MAX_BYTES)
    throw new TypeError(`name is ${Buffer.byteLength(name)} bytes long: ${rule}`);
  return name;
}

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

function closed(name: string): FastipcError {
  return new FastipcError('ERR_FASTIPC_CLOSED', `SharedMemory ${JSON.stringify(name)} is closed`);
}

interface Opened {
  buffer: ArrayBuffer;
  created: boolean;
  ino: number;
}

/**
 * This thread's open handles, by segment (file and inode: after an unlink the name may
 * hold a newer segment): the PID registry counts threads, not handles. Shared with every
 * other copy of the library in this thread (thread-state.ts).
 */
const open = threadState().open;

function closeAllOnExit(): void {
  for (const handles of open.values()) for (const h of [...handles]) h.close();
}

/**
 * A named shared-memory segment (/dev/shm), mapped into this process: put primitives in
 * its `buffer` to share them between processes. The segment lives while any process has
 * it open; the last live user's close() removes it, and a crashed user never counts.
 *
 * @example
 * using shm = SharedMemory.open('jobs', { size: 4096 });
 * const lock = new Mutex(shm.buffer, 0);           // the futex backend, across processes
 * const done = new AtomicU32(shm.buffer, Mutex.BYTES);
 */
export class SharedMemory implements Disposable {
  /** The name given to open(). */
  readonly name: string;
  /** True if this open() created the segment (it is zeroed), false if it attached. */
  readonly created: boolean;
  /** The segment's file in the shm folder (e.g. 'fastipc.jobs'). */
  readonly file: string;
  private mapping: ArrayBuffer | null;
  private readonly bytes: number;
  private readonly ino: number;

  private constructor(name: string, file: string, opened: Opened) {
    this.name = name;
    this.file = file;
    this.mapping = opened.buffer;
    this.bytes = opened.buffer.byteLength;
    this.created = opened.created;
    this.ino = opened.ino;
  }

  /**
   * Creates (unless `create: false`) or attaches the segment `name`, maps it, and
   * registers this thread as a user in the PID directory. A new segment is zeroed.
   * @throws {TypeError} a bad name or options
   * @throws {RangeError} `size` larger than an existing segment
   * @throws {FastipcError} ENOENT with `create: false` and no such segment; EPERM or ELOOP
   *   for another user's segment or a symlink (unless allowForeign); ERR_FASTIPC_NO_ADDON
   */
  static open(name: string, options: SharedMemoryOptions): SharedMemory {
    return SharedMemory.openFile(PREFIX + checkName(name), name, options);
  }

  /** @internal The Named helpers keep their segments under their own prefixes. */
  static openFile(file: string, name: string, options: SharedMemoryOptions): SharedMemory {
    const opts = checkOptions<SharedMemoryOptions>(options);
    const size = checkInteger(opts.size, 'size', 1, Number.MAX_SAFE_INTEGER);
    const create = opts.create ?? true;
    if (typeof create !== 'boolean') throw new TypeError(`create must be a boolean, got ${describe(create)}`);
    const mode = opts.mode === undefined ? 0o600 : checkInteger(opts.mode, 'mode', 0, 0o777);
    const allowForeign = opts.allowForeign ?? false;
    if (typeof allowForeign !== 'boolean')
      throw new TypeError(`allowForeign must be a boolean, got ${describe(allowForeign)}`);
    requireNative('SharedMemory');

    const handle = locked(() => {
      sweep(file);
      const opened = mapSegment(path.join(shmDir(), file), name, size, create, mode, allowForeign);
      const shm = new SharedMemory(name, file, opened);
      const key = `${file}@${opened.ino}`;
      let mine = open.get(key);
      if (!mine) {
        try {
          register(file, opened.ino);
        } catch (err) {
          requireNative('SharedMemory').munmap(opened.buffer);
          throw err;
        }
        open.set(key, (mine = new Set()));
      }
      mine.add(shm);
      return shm;
    });
    const state = threadState();
    if (!state.exitHook) {
      state.exitHook = true;
      process.on('exit', closeAllOnExit);
    }
    return handle;
  }

  /**
   * Removes the segment's name now; processes that have it mapped keep their memory.
   * @throws {FastipcError|Error} ENOENT when there is no such segment
   */
  static unlink(name: string): void {
    unlinkFile(PREFIX + checkName(name));
  }

  /** The mapped memory. After close() it is detached (byteLength 0). */
  get buffer(): ArrayBuffer {
    return this.mapped();
  }

  /** The segment's size in bytes. @throws {FastipcError} ERR_FASTIPC_CLOSED after close() */
  get size(): number {
    this.mapped();
    return this.bytes;
  }

  /** Whether this handle has been closed. */
  get closed(): boolean {
    return this.mapping === null;
  }

  /** @internal How many open handles this thread (this copy of the library) has on the segment. */
  get threadHandles(): number {
    return open.get(`${this.file}@${this.ino}`)?.size ?? 0;
  }

  /** Live processes that have the segment open (dead registrations are swept first). */
  get processCount(): number {
    this.mapped();
    return locked(() => processCount(sweep(this.file).filter((r) => r.ino === this.ino)));
  }

  /**
   * Unmaps the segment and detaches `buffer`; idempotent. When this was the last handle
   * of the last live process, the segment is unlinked.
   */
  close(): void {
    this.release(true);
  }

  /** @internal Closes; unlinks the segment if this was its last live user and `unlinkIfLast`. */
  release(unlinkIfLast: boolean): void {
    if (!this.mapping) return;
    requireNative('SharedMemory').munmap(this.mapping);
    this.mapping = null;
    const key = `${this.file}@${this.ino}`;
    const mine = open.get(key);
    if (!mine?.delete(this) || mine.size > 0) return;
    open.delete(key);
    locked(() => {
      if (unregister(this.file, this.ino).length > 0 || !unlinkIfLast) return;
      const file = path.join(shmDir(), this.file);
      // Only our segment: after an unlink() the name may hold a newer one.
      if (inode(file) === this.ino) fs.rmSync(file, { force: true });
    });
  }

  /** Removes the segment's name now (see the static unlink). */
  unlink(): void {
    unlinkFile(this.file);
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  private mapped(): ArrayBuffer {
    if (!this.mapping) throw closed(this.name);
    return this.mapping;
  }
}

function inode(file: string): number {
  try {
    return fs.lstatSync(file).ino;
  } catch {
    return -1;
  }
}

function unlinkFile(file: string): void {
  locked(() => {
    fs.unlinkSync(path.join(shmDir(), file));
    forget(file);
  });
}

function mapSegment(
  file: string,
  name: string,
  size: number,
  create: boolean,
  mode: number,
  allowForeign: boolean,
): Opened {
  const shim = requireNative('SharedMemory');
  const noFollow = allowForeign ? 0 : O_NOFOLLOW;
  for (;;) {
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(file, O_RDWR | noFollow);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') {
        throw new FastipcError(
          'ELOOP',
          `segment ${JSON.stringify(name)} is a symlink; refusing it (allowForeign: true opts in)`,
        );
      }
      if (code !== 'ENOENT' || !create) throw err;
      fd = publish(file, size, mode);
      if (fd < 0) continue; // another creator published first: attach to theirs
      created = true;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new FastipcError('EINVAL', `segment ${JSON.stringify(name)} is not a regular file`);
      if (!allowForeign && st.uid !== process.getuid?.()) {
        throw new FastipcError(
          'EPERM',
          `segment ${JSON.stringify(name)} belongs to uid ${st.uid}, not to us; ` +
            'refusing it (allowForeign: true opts in)',
        );
      }
      if (st.size < size)
        throw new RangeError(`size ${size} is larger than segment ${JSON.stringify(name)} (${st.size} bytes)`);
      return { buffer: shim.mmap(fd, st.size), created, ino: st.ino };
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Creates the segment under a temporary name, sizes it, and links it into place.
 * Returns the open fd, or -1 if another process published the name first.
 */
function publish(file: string, size: number, mode: number): number {
  const temp = `${file}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  const fd = fs.openSync(temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    fs.fchmodSync(fd, mode); // the umask must not narrow an explicit mode
    fs.ftruncateSync(fd, size);
    fs.linkSync(temp, file);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return -1;
    throw err;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}
