/**
 * The `atomics` backend: V8's own waiter lists through Atomics.wait / Atomics.notify.
 * Works only on a SharedArrayBuffer and only among the threads of one process (V8's
 * waiter list is per process), but needs no native code.
 */
import type { Backend } from './types';

export const atomicsBackend: Backend = {
  name: 'atomics',
  wait: (view, index, expected, timeout) => Atomics.wait(view, index, expected, timeout),
  wake: (view, index, count) => Atomics.notify(view, index, count),
};
