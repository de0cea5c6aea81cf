/**
 * Picks a backend for a primitive. The protocol primitives (Mutex, Semaphore, Event, …) on
 * a SharedArrayBuffer get `hybrid` when the addon is loaded (else `atomics`), and `futex`
 * on any other memory; a FutexWord gets `atomics` on a SharedArrayBuffer (its users pair
 * it with their own Atomics.wait/notify) and `futex` elsewhere; or the one asked for.
 *
 * One rule keeps every mix of handles on a SharedArrayBuffer waking each other: a
 * protocol primitive's wake there reaches both kinds of sleeper, V8's (Atomics.notify) and
 * the kernel's (futex wake for the rest of the count), whatever its backend, whenever the
 * addon is loaded (without it no thread can sleep in the kernel). So a handle made with
 * `{ backend: 'atomics' }` and one made with the default wake each other, as before the
 * default changed. FutexWord keeps each backend's own wake.
 */
import type { Region } from '../core/memory';
import { native, requireNative, type Native } from '../core/native';
import { describe } from '../core/validate';
import { atomicsBackend, atomicsWaitAsync } from './atomics';
import { futexBackend, kernelWait } from './futex';
import type { Backend, BackendName, PrimitiveOptions } from './types';

export type { Backend, BackendName, PrimitiveOptions, WaitResult } from './types';

let futex: Backend | undefined;
let sab: { atomics: Backend; futex: Backend; hybrid: Backend } | null | undefined;

/** V8's sleepers first (an empty notify is ~30 ns, an empty futex wake a syscall), then the kernel's. */
function wakeBoth(shim: Native): Backend['wake'] {
  return (view, index, count) => {
    const woken = Atomics.notify(view, index, count);
    return woken < count ? woken + shim.futexWake(view, index, count - woken) : woken;
  };
}

/** The protocol primitives' backends on a SharedArrayBuffer, or null without the addon. */
function sabBackends(): typeof sab {
  if (sab !== undefined) return sab;
  const shim = native();
  if (!shim) return (sab = null);
  const wake = wakeBoth(shim);
  const passOn = (view: Int32Array, index: number) => void wake(view, index, 1);
  const waitAsync = atomicsWaitAsync(passOn);
  return (sab = {
    atomics: { ...atomicsBackend, wake, waitAsync },
    futex: futexBackend(wake),
    hybrid: { name: 'hybrid', wait: kernelWait(shim), wake, waitAsync },
  });
}

/**
 * The backend for a primitive over `memory`: `options.backend` if given, else the
 * default above. `word`: for a FutexWord (its own wakes, `atomics` by default on a SAB).
 */
export function selectBackend(
  memory: Region,
  options: PrimitiveOptions | undefined,
  what: string,
  word = false,
): Backend {
  const name: BackendName | undefined = options?.backend;
  if (name !== undefined && name !== 'atomics' && name !== 'futex' && name !== 'hybrid') {
    throw new TypeError(`${what}: backend must be 'atomics', 'futex' or 'hybrid', got ${describe(name)}`);
  }
  if (!memory.shared) {
    if (name === 'atomics' || name === 'hybrid') {
      throw new TypeError(
        `${what}: the '${name}' backend needs a SharedArrayBuffer (Atomics.wait works only on shared memory); ` +
          "use backend 'futex' for other memory",
      );
    }
    return (futex ??= futexBackend());
  }
  if (word) {
    if (name === 'hybrid') requireNative("the 'hybrid' backend");
    if (name === undefined || name === 'atomics') return atomicsBackend;
    if (name === 'futex') return (futex ??= futexBackend());
  }
  const backends = sabBackends();
  if (backends) return backends[name ?? 'hybrid'];
  if (name === undefined || name === 'atomics') return atomicsBackend;
  requireNative(`the '${name}' backend`); // throws: no addon
  throw new Error('unreachable');
}
