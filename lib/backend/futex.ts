/**
 * The `futex` backend: the kernel's shared (non-private) futex through the shim. Works on
 * any memory, across processes for MAP_SHARED memory (the kernel keys a shared futex by
 * the physical page). Deadlines are absolute CLOCK_MONOTONIC inside the shim, so EINTR
 * neither shortens nor stretches a timeout.
 *
 * Async waits go to the shim's waiter threads (shim/waiter.c: futex_waitv on up to 127
 * words each), which report back through a thread-safe function as (id, code); the shim
 * refs it while any wait is pending, so a pending wait keeps the process alive.
 */
import { requireNative, type Native } from '../native';
import type { Backend, WaitResult } from './types';

const OK = 0;
const NOT_EQUAL = 1;
const RESULTS: WaitResult[] = ['ok', 'not-equal', 'timed-out'];
const CLOSED = 3;

export function futexBackend(): Backend {
  const shim = requireNative("the 'futex' backend");
  let async: ((view: Int32Array, index: number, expected: number, timeout: number, signal?: AbortSignal) => Promise<WaitResult>) | undefined;
  return {
    name: 'futex',
    wait: (view, index, expected, timeout) => shim.futexWait(view, index, expected, timeout),
    wake: (view, index, count) => shim.futexWake(view, index, count),
    waitAsync: (view, index, expected, timeout, signal) => (async ??= asyncWaits(shim))(view, index, expected, timeout, signal),
  };
}

function closedError(): Error {
  return Object.assign(new Error('fastipc: the memory was closed while a wait was pending'), { code: 'ERR_FASTIPC_CLOSED' });
}

function asyncWaits(shim: Native) {
  const pending = new Map<number, (code: number) => void>();
  const channel = shim.waitAsyncInit((id: number, code: number) => {
    const settle = pending.get(id);
    if (settle) {
      pending.delete(id);
      settle(code);
    }
  });
  // Ids are unique across the copies of the library in this thread: channel in the top byte.
  const base = (channel & 0xff) * 2 ** 24;
  let seq = 0;

  return function waitAsync(view: Int32Array, index: number, expected: number, timeout: number, signal?: AbortSignal): Promise<WaitResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let id: number;
    do id = base + (seq = (seq + 1) & 0xffffff);
    while (pending.has(id));
    if (shim.waitAsync(view, index, expected, timeout, id, channel) === NOT_EQUAL) return Promise.resolve('not-equal');
    return new Promise<WaitResult>((resolve, reject) => {
      const onAbort = () => {
        if (!shim.waitAsyncCancel(id)) {
          // Already completed, not yet delivered: if that was a wake, pass it on.
          pending.set(id, (code) => code === OK && shim.futexWake(view, index, 1));
        } else {
          pending.delete(id);
        }
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.set(id, (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (code === CLOSED) reject(closedError());
        else resolve(RESULTS[code]);
      });
    });
  };
}
