/**
 * NamedMutex, NamedSemaphore, NamedEvent: a primitive in its own 64-byte segment, found
 * by name, for use across processes in one line:
 *
 *   using m = new NamedMutex('jobs');     // create or attach /dev/shm/fastipc-mutex.jobs
 *   m.withLock(() => ...);
 *
 * The three kinds live in separate namespaces (file prefixes), so a NamedMutex and a
 * NamedSemaphore may share a name. The segment's lifecycle is SharedMemory's: the last
 * live user's close() unlinks it; a segment whose users all died stays for the next one.
 * Every handle uses the futex backend (the memory is shared between processes).
 */
import { Event } from './event';
import { Mutex } from './mutex';
import { Semaphore } from './semaphore';
import { checkName, SharedMemory } from './shared-memory';
import { checkInteger, checkOptions } from './validate';

export const NAMED_PREFIX = { mutex: 'fastipc-mutex.', semaphore: 'fastipc-semaphore.', event: 'fastipc-event.' } as const;
export type NamedKind = keyof typeof NAMED_PREFIX;

export interface NamedOptions {
  /** Permission bits of a new segment (default 0o600). */
  mode?: number;
  /** Attach even to a segment that another user owns or that is a symlink (default false). */
  allowForeign?: boolean;
}

function openNamed(kind: NamedKind, name: string, options: NamedOptions | undefined): SharedMemory {
  checkName(name);
  const opts = checkOptions<NamedOptions>(options);
  return SharedMemory.openFile(NAMED_PREFIX[kind] + name, name, { size: 64, mode: opts.mode, allowForeign: opts.allowForeign });
}

/**
 * Closes the segment when the primitive cannot be built over it (other data in it), and
 * leaves the segment itself alone: it is not ours to remove.
 */
function closing(shm: SharedMemory, err: unknown): unknown {
  shm.release(false);
  return err;
}

export class NamedMutex extends Mutex implements Disposable {
  readonly name: string;
  private readonly shm: SharedMemory;

  constructor(name: string, options?: NamedOptions) {
    const shm = openNamed('mutex', name, options);
    try {
      super(shm.buffer, 0, { backend: 'futex' });
    } catch (err) {
      throw closing(shm, err);
    }
    this.name = name;
    this.shm = shm;
  }

  /** Live processes that have this mutex open. */
  get processCount(): number {
    return this.shm.processCount;
  }

  /**
   * Closes this handle. A lock this thread still holds is released first when this is
   * the thread's last handle on the mutex (as closing a file releases its locks).
   * Idempotent; afterwards every method throws.
   */
  close(): void {
    if (this.shm.closed) return;
    this.releaseMemory(this.shm.threadHandles === 1);
    this.shm.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export class NamedSemaphore extends Semaphore implements Disposable {
  readonly name: string;
  private readonly shm: SharedMemory;

  /** `initial` applies only when this call creates the semaphore; attaching never resets it. */
  constructor(name: string, options?: NamedOptions & { initial?: number }) {
    const opts = checkOptions<NamedOptions & { initial?: number }>(options);
    if (opts.initial !== undefined) checkInteger(opts.initial, 'initial', 0, Semaphore.MAX);
    const shm = openNamed('semaphore', name, opts);
    try {
      super(shm.buffer, 0, { backend: 'futex', initial: opts.initial });
    } catch (err) {
      throw closing(shm, err);
    }
    this.name = name;
    this.shm = shm;
  }

  get processCount(): number {
    return this.shm.processCount;
  }

  close(): void {
    if (this.shm.closed) return;
    this.releaseMemory(this.shm.threadHandles === 1);
    this.shm.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export class NamedEvent extends Event implements Disposable {
  readonly name: string;
  private readonly shm: SharedMemory;

  constructor(name: string, options?: NamedOptions) {
    const shm = openNamed('event', name, options);
    try {
      super(shm.buffer, 0, { backend: 'futex' });
    } catch (err) {
      throw closing(shm, err);
    }
    this.name = name;
    this.shm = shm;
  }

  get processCount(): number {
    return this.shm.processCount;
  }

  close(): void {
    if (this.shm.closed) return;
    this.releaseMemory(this.shm.threadHandles === 1);
    this.shm.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
