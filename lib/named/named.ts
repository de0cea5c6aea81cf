/**
 * The Named form of any primitive, defined once: a primitive in its own segment, found by
 * name, for use across processes in one line:
 *
 *   using m = new NamedMutex('jobs');     // create or attach /dev/shm/fastipc-mutex.jobs
 *   m.withLock(() => ...);
 *
 * `named(Base, kind)` makes the class; each kind lives in its own namespace (the file prefix
 * of its kind, kinds.ts), so a NamedMutex and a NamedSemaphore may share a name. The
 * segment's lifecycle is SharedMemory's: the last live user's close() unlinks it; a segment
 * whose users all died stays for the next one. Every handle uses the futex backend (the
 * memory is shared between processes). Options are validated before the segment is opened,
 * so bad input creates nothing.
 */
import type { PrimitiveOptions } from '../backend';
import type { Memory } from '../core/memory';
import { closedError } from '../core/errors';
import { checkOptions } from '../core/validate';
import type { Kind, Primitive } from '../primitives';
import { checkName, SharedMemory } from './shared-memory';

/** Options of every Named primitive, about its segment. */
export interface NamedOptions {
  /** Permission bits of a new segment (default 0o600). */
  mode?: number;
  /** Attach even to a segment that another user owns or that is a symlink (default false). */
  allowForeign?: boolean;
}

/** What the Named form adds to a primitive. */
export interface NamedHandle extends Disposable {
  /** The name given to the constructor. */
  readonly name: string;
  /**
   * Live processes that have this segment open (dead ones are swept first).
   * @throws {FastipcError} ERR_FASTIPC_CLOSED after close()
   */
  readonly processCount: number;
  /**
   * Closes this handle: unmaps the segment, and unlinks it if this was its last live user.
   * What this thread holds through it is released first when this is the thread's last
   * handle on the segment (as closing a file releases its locks); waits still pending
   * through it reject with ERR_FASTIPC_CLOSED. Idempotent; afterwards every method throws.
   */
  close(): void;
  /** Same as close(), for `using`. */
  [Symbol.dispose](): void;
}

/** The class that `named()` makes: constructed from a name and options, an instance of Base too. */
export interface NamedClass<T, O> {
  /**
   * Creates the segment and the primitive in it, or attaches to both.
   * @param name 1 to 200 bytes, without "/" or NUL, not "." or ".."
   * @throws {TypeError} a bad name or options; a segment that holds another kind or other data
   * @throws {FastipcError} EPERM or ELOOP for a segment of another user or a symlink
   *   (unless allowForeign), ERR_FASTIPC_NO_ADDON without the native addon
   */
  new (...args: NamedArgs<O>): T & NamedHandle;
  /** The prototype of every handle: the primitive's methods and NamedHandle's. */
  readonly prototype: T & NamedHandle;
}

/** (name, options): the options optional unless the primitive requires one (a Barrier's `parties`). */
type NamedArgs<O> = object extends O
  ? [name: string, options?: Omit<O, 'backend'> & NamedOptions]
  : [name: string, options: Omit<O, 'backend'> & NamedOptions];

type PrimitiveClass<T, O> = new (memory: Memory, byteOffset: number, options: O & PrimitiveOptions) => T;

/** Access to what the Named form calls on every primitive (protected there). */
interface Releasable {
  releaseMemory(lastInThread: boolean): void;
}

/**
 * The Named form of `Base` (a Primitive of `kind`). `check` validates Base's own options
 * before the segment is opened (Base checks them again, harmlessly).
 */
export function named<T extends Primitive, O extends object = object>(
  Base: PrimitiveClass<T, O>,
  kind: Kind,
  check: (options: Partial<O>) => void = () => {},
  sizeOf: (options: Partial<O>) => number = () => kind.bytes,
): NamedClass<T, O> {
  const Unsafe = Base as unknown as new (memory: Memory, byteOffset: number, options?: object) => object;
  class Named extends Unsafe implements NamedHandle {
    readonly name: string;
    private readonly shm: SharedMemory;

    constructor(name: string, options?: O & NamedOptions) {
      const opts = checkOptions<O & NamedOptions>(options);
      check(opts as Partial<O>);
      checkName(name);
      const open = (size: number) =>
        SharedMemory.openFile(kind.namedPrefix + name, name, {
          size,
          mode: opts.mode,
          allowForeign: opts.allowForeign,
        });
      const size = sizeOf(opts as Partial<O>);
      let shm: SharedMemory;
      let tooSmall: unknown;
      try {
        shm = open(size);
      } catch (err) {
        // an existing segment smaller than these options need (a Channel of another shape):
        // attach anyway, so that the primitive's own check says what differs
        if (!(err instanceof RangeError) || size === kind.bytes) throw err;
        tooSmall = err;
        shm = open(kind.bytes);
      }
      try {
        // (the options as given, inherited properties too, with the futex backend)
        super(shm.buffer, 0, Object.assign(Object.create(opts) as object, { backend: 'futex' }));
        if (tooSmall) throw tooSmall;
      } catch (err) {
        // Other data in the segment: close it, and leave the segment alone (not ours to remove);
        // one that this call made (its old one went meanwhile) goes again
        shm.release(shm.created);
        throw err;
      }
      this.name = name;
      this.shm = shm;
    }

    get processCount(): number {
      return this.shm.processCount;
    }

    close(): void {
      if (this.shm.closed) return;
      (this as unknown as Releasable).releaseMemory(this.shm.threadHandles === 1);
      this.shm.close();
      closeMembers(this, `Named${kind.name} ${JSON.stringify(this.name)}`);
    }

    [Symbol.dispose](): void {
      this.close();
    }
  }
  return Named as unknown as NamedClass<T, O>;
}

const KEPT = new Set<PropertyKey>(['constructor', 'close', Symbol.dispose]);

/**
 * After close(): every method and getter of `handle` (its prototype chain's, shadowed on
 * the handle itself) throws ERR_FASTIPC_CLOSED, and every async one rejects with it, instead
 * of V8's errors about a detached buffer. Only a closed handle changes shape, so open
 * handles keep their fast paths. close() and [Symbol.dispose] stay: they are no-ops now.
 */
function closeMembers(handle: object, what: string): void {
  const fail = () => {
    throw closedError(`${what} is closed`);
  };
  const failAsync = () => Promise.reject(closedError(`${what} is closed`));
  for (let proto = Object.getPrototypeOf(handle); proto && proto !== Object.prototype;) {
    for (const key of Reflect.ownKeys(proto)) {
      if (KEPT.has(key) || Object.prototype.hasOwnProperty.call(handle, key)) continue;
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      if (d.get) Object.defineProperty(handle, key, { get: fail, configurable: true });
      else if (typeof d.value === 'function') {
        // (by name, not by the function's kind, which a consumer's bundler may have lowered)
        const async = typeof key === 'string' && key.endsWith('Async');
        Object.defineProperty(handle, key, { value: async ? failAsync : fail, configurable: true, writable: true });
      }
    }
    proto = Object.getPrototypeOf(proto);
  }
}
