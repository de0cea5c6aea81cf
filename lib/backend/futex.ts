/**
 * The `futex` backend: the kernel's shared (non-private) futex through the shim. Works on
 * any memory, across processes for MAP_SHARED memory (the kernel keys a shared futex by
 * the physical page). Deadlines are absolute CLOCK_MONOTONIC inside the shim, so EINTR
 * neither shortens nor stretches a timeout.
 */
import { requireNative } from '../native';
import type { Backend } from './types';

export function futexBackend(): Backend {
  const shim = requireNative("the 'futex' backend");
  return {
    name: 'futex',
    wait: (view, index, expected, timeout) => shim.futexWait(view, index, expected, timeout),
    wake: (view, index, count) => shim.futexWake(view, index, count),
  };
}
