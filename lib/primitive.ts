/**
 * What Mutex, Semaphore and Event share: a 64-byte block of caller-supplied memory,
 * viewed as 16 int32 words, with a header (lib/header.ts) and a backend.
 */
import { selectBackend, type Backend, type BackendName, type PrimitiveOptions } from './backend';
import { initOrAttach, VERSION } from './header';
import { region, type Memory } from './memory';
import { checkOptions } from './validate';

export const PRIMITIVE_BYTES = 64;

export abstract class Primitive {
  /** The backend this handle sleeps and wakes with. */
  readonly backend: BackendName;
  /** True if this handle initialised the memory (it was zeroed), false if it attached. */
  readonly initialized: boolean;
  protected readonly view: Int32Array;
  protected readonly impl: Backend;
  /** Sleepers this handle has counted in the shared sleepers word and not yet removed. */
  protected sleeping = 0;

  protected constructor(kind: string, memory: Memory, byteOffset: number, options: PrimitiveOptions | undefined, init: (view: Int32Array) => void) {
    checkOptions(options);
    const r = region(memory, byteOffset, PRIMITIVE_BYTES, 4, kind);
    this.impl = selectBackend(r, options, kind);
    this.backend = this.impl.name;
    this.view = new Int32Array(r.buffer, r.offset, PRIMITIVE_BYTES / 4);
    this.initialized = initOrAttach(this.view, kind, VERSION, byteOffset, () => init(this.view));
  }

  /** Whether the memory has been unmapped under us (SharedMemory#close detaches it). */
  protected get memoryClosed(): boolean {
    return this.view.length === 0;
  }

  /** Counts this thread in the sleepers word `index`. */
  protected addSleeper(index: number): void {
    Atomics.add(this.view, index, 1);
    this.sleeping++;
  }

  /** Uncounts it; returns the sleepers word as it was before. */
  protected removeSleeper(index: number): number {
    this.sleeping--;
    return Atomics.sub(this.view, index, 1);
  }

  /**
   * @internal Called by the Named helpers' close() before the memory is unmapped: leave
   * the shared state as if this handle had never been used (each primitive says how).
   * `lastInThread`: no other handle of this thread has the segment open.
   */
  protected abstract releaseMemory(lastInThread: boolean): void;

  /**
   * Before the memory goes: uncount the sleepers of waits still pending through this
   * handle, which will end with ERR_FASTIPC_CLOSED without touching the memory again.
   */
  protected dropSleepers(index: number): void {
    if (this.sleeping > 0 && !this.memoryClosed) Atomics.sub(this.view, index, this.sleeping);
    this.sleeping = 0;
  }
}
