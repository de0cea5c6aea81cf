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
import { requireNative } from './native';
import { checkInteger, checkOptions, describe } from './validate';

export const NAME_MAX_BYTES = 200;
const PREFIX = 'fastipc.';

export interface SharedMemoryOptions {
  /** Bytes; when attaching, the segment must have at least this many. */
  size: number;
  /** Create the segment if it does not exist (default true). */
  create?: boolean;
  /** Permission bits of a new segment (default 0o600). */
  mode?: number;
}

export function shmDir(): string {
  return process.env.FASTIPC_SHM_DIR || '/dev/shm';
}

/** Throws a TypeError unless `name` is a valid segment name. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${describe(name)}`);
  const rule = 'a segment name must be 1 to 200 bytes, without "/" or NUL, and not "." or ".."';
  if (name.length === 0) throw new TypeError(`name is empty: ${rule}`);
  if (name.includes('/') || name.includes('\0')) throw new TypeError(`name ${JSON.stringify(name)} is invalid: ${rule}`);
  if (name === '.' || name === '..') throw new TypeError(`name ${JSON.stringify(name)} is invalid: ${rule}`);
  if (Buffer.byteLength(name) > NAME_MAX_BYTES) throw new TypeError(`name is ${Buffer.byteLength(name)} bytes long: ${rule}`);
  return name;
}

export function segmentPath(name: string): string {
  return path.join(shmDir(), PREFIX + name);
}

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

function closed(name: string): Error {
  const err = new Error(`SharedMemory ${JSON.stringify(name)} is closed`) as Error & { code: string };
  err.code = 'ERR_FASTIPC_CLOSED';
  return err;
}

export class SharedMemory implements Disposable {
  readonly name: string;
  readonly created: boolean;
  private mapping: ArrayBuffer | null;
  private readonly bytes: number;

  private constructor(name: string, buffer: ArrayBuffer, created: boolean) {
    this.name = name;
    this.mapping = buffer;
    this.bytes = buffer.byteLength;
    this.created = created;
  }

  /** Creates (unless `create: false`) or attaches the segment `name` and maps it. */
  static open(name: string, options: SharedMemoryOptions): SharedMemory {
    checkName(name);
    const opts = checkOptions<SharedMemoryOptions>(options);
    const size = checkInteger(opts.size, 'size', 1, Number.MAX_SAFE_INTEGER);
    const create = opts.create ?? true;
    if (typeof create !== 'boolean') throw new TypeError(`create must be a boolean, got ${describe(create)}`);
    const mode = opts.mode === undefined ? 0o600 : checkInteger(opts.mode, 'mode', 0, 0o777);
    const shim = requireNative('SharedMemory');

    const file = segmentPath(name);
    for (;;) {
      let fd: number;
      let created = false;
      try {
        fd = fs.openSync(file, O_RDWR | O_NOFOLLOW);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw err;
        fd = publish(file, size, mode);
        if (fd < 0) continue; // lost the race to create: attach the winner's segment
        created = true;
      }
      try {
        const actual = fs.fstatSync(fd).size;
        if (actual < size) {
          throw new RangeError(`size ${size} is larger than segment ${JSON.stringify(name)} (${actual} bytes)`);
        }
        return new SharedMemory(name, shim.mmap(fd, actual), created);
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  /** Removes the segment's name; processes that have it mapped keep their memory. */
  static unlink(name: string): void {
    fs.unlinkSync(segmentPath(checkName(name)));
  }

  /** The mapped memory. After close() it is detached (byteLength 0). */
  get buffer(): ArrayBuffer {
    if (!this.mapping) throw closed(this.name);
    return this.mapping;
  }

  get size(): number {
    if (!this.mapping) throw closed(this.name);
    return this.bytes;
  }

  get closed(): boolean {
    return this.mapping === null;
  }

  /** Unmaps the segment and detaches `buffer`; idempotent. The name stays (see unlink). */
  close(): void {
    if (!this.mapping) return;
    requireNative('SharedMemory').munmap(this.mapping);
    this.mapping = null;
  }

  unlink(): void {
    SharedMemory.unlink(this.name);
  }

  [Symbol.dispose](): void {
    this.close();
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
