/**
 * What every primitive with a header shares: a block of caller-supplied memory of its
 * kind's size (kinds.ts), viewed as int32 words, with the header (header.ts) and a backend.
 * Its blocking calls run the wait driver (wait.ts) with protocols of their own.
 */
import { selectBackend, type Backend, type BackendName, type PrimitiveOptions } from '../backend';
import { region, type Memory } from '../core/memory';
import { checkOptions } from '../core/validate';
import { initOrAttach, LINE } from './header';
import { article, kindOfMagic, type Kind } from './kinds';

/**
 * Primitives with a header start on a 64-byte line of their buffer (and take whole lines),
 * so that two of them either coincide (the same kind attaches, another is a TypeError) or
 * do not overlap at all (header.ts marks the later lines of a larger one).
 */
export { LINE };

/**
 * What every primitive with a header has: its backend, and whether this handle created it.
 * It takes its kind's size, or `bytes` (a multiple of 64) for a kind whose size its options
 * set (a Channel's capacity).
 */
export abstract class Primitive {
  /** The backend this handle sleeps and wakes with. */
  readonly backend: BackendName;
  /** True if this handle initialised the memory (it was zeroed), false if it attached to a primitive there. */
  readonly initialized: boolean;
  /** @internal */
  protected readonly view: Int32Array;
  /** @internal */
  protected readonly impl: Backend;
  /** @internal What this primitive is. */
  protected readonly kind: Kind;
  /** @internal Sleepers this handle has counted in a shared sleepers word and not yet removed. */
  protected sleeping = 0;

  /** @internal */
  protected constructor(
    kind: Kind,
    memory: Memory,
    byteOffset: number,
    options: PrimitiveOptions | undefined,
    init: (view: Int32Array) => void,
    bytes: number = kind.bytes,
  ) {
    checkOptions(options);
    this.kind = kind;
    const r = region(memory, byteOffset, bytes, 4, kind.name);
    if (r.offset % LINE !== 0) throw misaligned(kind, byteOffset as number, r.offset, r.buffer);
    this.impl = selectBackend(r, options, kind.name);
    this.backend = this.impl.name;
    this.view = new Int32Array(r.buffer, r.offset, bytes / 4);
    this.initialized = initOrAttach(this.view, kind, byteOffset, () => init(this.view));
  }

  /** @internal Whether the memory has been unmapped under us (SharedMemory#close detaches it). */
  protected get memoryClosed(): boolean {
    return this.view.length === 0;
  }

  /** @internal Counts this thread in the sleepers word `index`. */
  protected addSleeper(index: number): void {
    Atomics.add(this.view, index, 1);
    this.sleeping++;
  }

  /** @internal Uncounts it; returns the sleepers word as it was before. */
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
   * @internal Before the memory goes: uncount the sleepers of waits still pending through
   * this handle, which will end with ERR_FASTIPC_CLOSED without touching the memory again.
   */
  protected dropSleepers(index: number): void {
    if (this.sleeping > 0 && !this.memoryClosed) Atomics.sub(this.view, index, this.sleeping);
    this.sleeping = 0;
  }
}

function misaligned(kind: Kind, byteOffset: number, at: number, buffer: ArrayBufferLike): RangeError {
  const line = at - (at % LINE);
  const other = kindOfMagic(new Int32Array(buffer, line, 1)[0]);
  const base = at - byteOffset; // the view's own byteOffset in the buffer
  const where = (abs: number) => (base === 0 ? `byteOffset ${abs}` : `buffer offset ${abs}`);
  return new RangeError(
    `byteOffset ${byteOffset}${base === 0 ? '' : ` (buffer offset ${at})`} must be a multiple of ${LINE} for ` +
      `${article(kind.name)}: primitives start on a ${LINE}-byte line, so that they never partly overlap` +
      (other ? `; this one would overlap the ${other.name} at ${where(line)}` : ''),
  );
}
