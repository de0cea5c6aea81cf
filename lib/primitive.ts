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

  protected constructor(kind: string, memory: Memory, byteOffset: number, options: PrimitiveOptions | undefined, init: (view: Int32Array) => void) {
    checkOptions(options);
    const r = region(memory, byteOffset, PRIMITIVE_BYTES, 4, kind);
    this.impl = selectBackend(r, options, kind);
    this.backend = this.impl.name;
    this.view = new Int32Array(r.buffer, r.offset, PRIMITIVE_BYTES / 4);
    this.initialized = initOrAttach(this.view, kind, VERSION, byteOffset, () => init(this.view));
  }
}
