/**
 * The `atomics` backend: V8's own waiter lists through Atomics.wait / Atomics.notify /
 * Atomics.waitAsync. Works only on a SharedArrayBuffer and only among the threads of one
 * process (V8's waiter list is per process), but needs no native code.
 */
import { holdLoop } from './keepalive';
import type { Backend, WaitResult } from './types';

function waitAsync(view: Int32Array, index: number, expected: number, timeout: number, signal?: AbortSignal): Promise<WaitResult> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const r = Atomics.waitAsync(view, index, expected, timeout);
  if (!r.async) return Promise.resolve(r.value);
  holdLoop(1);
  return new Promise<WaitResult>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      if (done) return;
      done = true;
      holdLoop(-1);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    r.value.then((result) => {
      if (done) {
        // Aborted, but V8 still counted this waiter in a notify: pass that wake on.
        if (result === 'ok') Atomics.notify(view, index, 1);
        return;
      }
      done = true;
      signal?.removeEventListener('abort', onAbort);
      holdLoop(-1);
      resolve(result);
    });
  });
}

export const atomicsBackend: Backend = {
  name: 'atomics',
  wait: (view, index, expected, timeout) => Atomics.wait(view, index, expected, timeout),
  wake: (view, index, count) => Atomics.notify(view, index, count),
  waitAsync,
};
