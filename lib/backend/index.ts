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

/**
 * Which queue a wake asks first. V8's, mostly: an Atomics.notify that finds nobody costs
 * ~30 ns, a futex wake that finds nobody a syscall (~0.4 µs). But with V8's first always,
 * a sync waiter (asleep in the kernel) would get a wake(1) only when no async waiter of
 * another thread was asleep in V8: under a steady async load, never. So one wake in four,
 * chosen at random (a per-thread xorshift: a counter would fall into step with a caller
 * that wakes two words in turn, and always ask V8 first on one of them), asks the kernel
 * first. A sync waiter then gets about one wake(1) in four meant for either queue.
 */
let seed = (Math.random() * 2 ** 32) | 0 || 1;
function kernelFirst(): boolean {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed & 3) === 0;
}

/** A wake that reaches V8's sleepers (Atomics.notify) and the kernel's (futex wake). */
function wakeBoth(shim: Native): Backend['wake'] {
  return (view, index, count) => {
    if (kernelFirst()) {
      const woken = shim.futexWake(view, index, count);
      return woken < count ? woken + Atomics.notify(view, index, count - woken) : woken;
    }
    const woken = Atomics.notify(view, index, count);
    return woken < count ? woken + shim.futexWake(view, index, count - woken) : woken;
  };
}

/**
 * The protocol primitives' backends on a SharedArrayBuffer, or null without the addon.
 * Their async waits there always sleep in V8 (Atomics.waitAsync), also on `{ backend:
 * 'futex' }`: a wake that the addon passes on by itself (an async wait cancelled as it
 * was woken, a thread torn down with waits pending) reaches only the kernel's sleepers,
 * so no async waiter of the addon may sleep where V8's can. Sync waits sleep in the
 * kernel on 'futex' and 'hybrid', which are therefore the same there.
 */
function sabBackends(): typeof sab {
  if (sab !== undefined) return sab;
  const shim = native();
  if (!shim) return (sab = null);
  const wake = wakeBoth(shim);
  const waitAsync = atomicsWaitAsync((view, index) => void wake(view, index, 1));
  const wait = kernelWait(shim);
  return (sab = {
    atomics: { ...atomicsBackend, wake, waitAsync },
    futex: { name: 'futex', wait, wake, waitAsync },
    hybrid: { name: 'hybrid', wait, wake, waitAsync },
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
