/**
 * The `atomics` backend: V8's own waiter lists through Atomics.wait / Atomics.notify /
 * Atomics.waitAsync. Works only on a SharedArrayBuffer and only among the threads of one
 * process (V8's waiter list is per process), but needs no native code.
 */
import { holdLoop } from './keepalive';
import type { Backend, WaitResult } from './types';

/**
 * V8 cannot take back an Atomics.waitAsync: an aborted one stays in its waiter list until
 * notified or timed out. So each is armed for at most a slice of 4 to 6 s (spread, so
 * that a thousand waits started together do not all re-arm in the same tick) and re-armed
 * while the wait goes on; an aborted one lingers for at most a slice, and a wake it takes
 * then is passed on.
 */
const sliceMs = () => 4000 + Math.random() * 2000;

/**
 * Atomics.waitAsync with slices and abort; `passOn` wakes one waiter for a wake that an
 * aborted wait took (Atomics.notify, or a wake that reaches the kernel's sleepers too).
 */
export const atomicsWaitAsync =
  (passOn: (view: Int32Array, index: number) => void): Backend['waitAsync'] =>
  (view, index, expected, timeout, signal) => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    const slice = sliceMs();
    const first = Atomics.waitAsync(view, index, expected, Math.min(timeout, slice));
    if (!first.async) return Promise.resolve(first.value);
    holdLoop(1);
    return new Promise<WaitResult>((resolve, reject) => {
      let done = false;
      const finish = (settle: () => void) => {
        done = true;
        signal?.removeEventListener('abort', onAbort);
        holdLoop(-1);
        settle();
      };
      const onAbort = () => {
        if (!done) finish(() => reject(signal!.reason));
      };
      const onSlice = (result: WaitResult) => {
        if (done) {
          // Aborted, but V8 counted this waiter in a notify: pass that wake on.
          if (result === 'ok') passOn(view, index);
          return;
        }
        const left = deadline === Infinity ? slice : Math.min(slice, deadline - performance.now());
        if (result !== 'timed-out' || left <= 0) return finish(() => resolve(result));
        const next = Atomics.waitAsync(view, index, expected, left);
        // 'not-equal' now: it changed meanwhile, which is a wake
        if (!next.async) return finish(() => resolve(next.value === 'not-equal' ? 'ok' : next.value));
        next.value.then(onSlice);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      first.value.then(onSlice);
    });
  };

export const atomicsBackend: Backend = {
  name: 'atomics',
  wait: (view, index, expected, timeout) => Atomics.wait(view, index, expected, timeout),
  wake: (view, index, count) => Atomics.notify(view, index, count),
  waitAsync: atomicsWaitAsync((view, index) => void Atomics.notify(view, index, 1)),
};
