/**
 * Picks a backend for a primitive: `atomics` on a SharedArrayBuffer, `futex` elsewhere, or the one asked for.
 */
import type { Region } from '../core/memory';
import { describe } from '../core/validate';
import { atomicsBackend } from './atomics';
import { futexBackend } from './futex';
import type { Backend, PrimitiveOptions } from './types';

export type { Backend, BackendName, PrimitiveOptions, WaitResult } from './types';

let futex: Backend | undefined;

/**
 * The backend for a primitive over `memory`: `options.backend` if given, else `atomics`
 * for a SharedArrayBuffer and `futex` for anything else.
 */
export function selectBackend(memory: Region, options: PrimitiveOptions | undefined, what: string): Backend {
  const name = options?.backend ?? (memory.shared ? 'atomics' : 'futex');
  if (name === 'atomics') {
    if (!memory.shared) {
      throw new TypeError(
        `${what}: the 'atomics' backend needs a SharedArrayBuffer (Atomics.wait works only on shared memory); ` +
          "use backend 'futex' for other memory",
      );
    }
    return atomicsBackend;
  }
  if (name === 'futex') return (futex ??= futexBackend());
  throw new TypeError(`${what}: backend must be 'atomics' or 'futex', got ${describe(name)}`);
}
