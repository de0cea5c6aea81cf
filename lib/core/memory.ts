/**
 * Caller-supplied memory: a SharedArrayBuffer, an ArrayBuffer (e.g. SharedMemory#buffer,
 * or the buffer of a Buffer that another mmap library made) or any view of one. A view
 * stands for its own bytes: offsets count from its byteOffset, bounded by its byteLength.
 */
import { checkInteger, describe } from './validate';

/**
 * Memory a primitive lives in: a SharedArrayBuffer (between the worker threads of a
 * process), an ArrayBuffer that maps shared memory (SharedMemory#buffer, between
 * processes), or a view of either (its byteOffset and byteLength bound the primitive).
 */
export type Memory = SharedArrayBuffer | ArrayBuffer | ArrayBufferView;

export interface Region {
  readonly buffer: ArrayBufferLike;
  /** Absolute offset of the region in `buffer`. */
  readonly offset: number;
  readonly shared: boolean;
}

export function isSharedArrayBuffer(b: unknown): b is SharedArrayBuffer {
  return Object.prototype.toString.call(b) === '[object SharedArrayBuffer]';
}

function isArrayBuffer(b: unknown): b is ArrayBuffer {
  return Object.prototype.toString.call(b) === '[object ArrayBuffer]';
}

/**
 * The `bytes` bytes at `byteOffset` in `memory`, checked: the memory kind (TypeError),
 * the offset's type, alignment and bounds (RangeError).
 */
export function region(memory: unknown, byteOffset: unknown, bytes: number, align: number, what: string): Region {
  let buffer: ArrayBufferLike;
  let base = 0;
  let length: number;
  if (isSharedArrayBuffer(memory) || isArrayBuffer(memory)) {
    buffer = memory;
    length = memory.byteLength;
  } else if (ArrayBuffer.isView(memory)) {
    buffer = memory.buffer;
    base = memory.byteOffset;
    length = memory.byteLength;
  } else {
    throw new TypeError(
      `${what}: memory must be a SharedArrayBuffer, an ArrayBuffer or a view of one, got ${describe(memory)}`,
    );
  }
  const offset = byteOffset === undefined ? 0 : checkInteger(byteOffset, 'byteOffset', 0, Number.MAX_SAFE_INTEGER);
  if ((base + offset) % align !== 0) {
    throw new RangeError(
      base === 0
        ? `byteOffset ${offset} must be a multiple of ${align} for a ${what}`
        : `byteOffset ${offset} plus the view's byteOffset ${base} must be a multiple of ${align} for a ${what}`,
    );
  }
  if (offset + bytes > length) {
    throw new RangeError(
      `byteOffset ${offset} leaves ${Math.max(0, length - offset)} bytes; ` +
        `a ${what} needs ${bytes} (memory is ${length} bytes)`,
    );
  }
  return { buffer, offset: base + offset, shared: isSharedArrayBuffer(buffer) };
}

/** Rounds `bytes` up to a multiple of `line` (default 64, one cache line). */
export function alignToCacheLine(bytes: number, line = 64): number {
  checkInteger(bytes, 'bytes', 0, Number.MAX_SAFE_INTEGER);
  checkInteger(line, 'line', 1, 2 ** 30);
  if ((line & (line - 1)) !== 0) throw new RangeError(`line ${line} must be a power of two`);
  return Math.ceil(bytes / line) * line;
}
