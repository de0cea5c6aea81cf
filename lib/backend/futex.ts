/**
 * The `futex` backend: the kernel's shared (non-private) futex through the shim. Works on
 * any memory, across processes for MAP_SHARED memory (the kernel keys a shared futex by
 * the physical page). Deadlines are absolute CLOCK_MONOTONIC inside the shim, so EINTR
 * neither shortens nor stretches a timeout.
 *
 * Async waits go to the shim's waiter threads (shim/sys/waiter.c: futex_waitv on up to 127
 * words each), which report back through a thread-safe function as (id, code); the shim
 * refs it while any wait is pending, so a pending wait keeps the process alive.
 */
import { closedError, FastipcError } from '../core/errors';
import { requireNative, type Native } from '../core/native';
import { threadState } from '../core/thread-state';
import type { Backend, WaitResult } from './types';

const OK = 0;
const NOT_EQUAL = 1;
const RESULTS: WaitResult[] = ['ok', 'not-equal', 'timed-out'];
const CLOSED = 3;
const FAILED = 4;

/**
 * A thread asleep in FUTEX_WAIT cannot be stopped: worker.terminate() and process.exit()
 * would wait for it forever. So a long sync wait sleeps in slices of SLICE_MS, returning
 * to JavaScript (where termination takes effect) in between. The result is the same as
 * one long wait: 'not-equal' only if the word differed at the start, 'timed-out' only at
 * the deadline, which the shim's absolute deadlines never bring early.
 */
const SLICE_MS = 100;

function slicedWait(shim: Native, view: Int32Array, index: number, expected: number, timeout: number): WaitResult {
  if (timeout <= SLICE_MS) return shim.futexWait(view, index, expected, timeout);
  const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
  let first = true;
  for (;;) {
    const left = deadline === Infinity ? SLICE_MS : Math.min(SLICE_MS, deadline - performance.now());
    if (left <= 0) return 'timed-out';
    const result = shim.futexWait(view, index, expected, left);
    if (result === 'ok') return 'ok';
    if (result === 'not-equal') return first ? 'not-equal' : 'ok'; // it changed while we slept
    first = false;
    // Look at the word between slices. (Measured: without a builtin call here, V8 let a
    // terminated worker run on for ~2 s of slices before stopping it.)
    if (Atomics.load(view, index) !== expected) return 'ok';
  }
}

export function futexBackend(): Backend {
  const shim = requireNative("the 'futex' backend");
  let async: AsyncWait | undefined;
  return {
    name: 'futex',
    wait: (view, index, expected, timeout) => slicedWait(shim, view, index, expected, timeout),
    wake: (view, index, count) => shim.futexWake(view, index, count),
    waitAsync: (view, index, expected, timeout, signal) =>
      (async ??= sharedAsyncWaits(shim))(view, index, expected, timeout, signal),
  };
}

/** The kernel's futex for sync waits (sliced, as the futex backend's): the protocol primitives' on a SAB (index.ts). */
export function kernelWait(shim: Native): Backend['wait'] {
  return (view, index, expected, timeout) => slicedWait(shim, view, index, expected, timeout);
}

function failedError(): FastipcError {
  return new FastipcError('ERR_FASTIPC_WAIT_FAILED', "the async waiter thread's futex wait failed");
}

type AsyncWait = Backend['waitAsync'];

/** One channel of the shim for every copy of the library in this thread (thread-state.ts). */
function sharedAsyncWaits(shim: Native): AsyncWait {
  const state = threadState();
  return ((state.futexAsync as AsyncWait | undefined) ??= asyncWaits(shim));
}

function asyncWaits(shim: Native): AsyncWait {
  const pending = new Map<number, (code: number) => void>();
  const channel = shim.waitAsyncInit((id: number, code: number) => {
    const settle = pending.get(id);
    if (settle) {
      pending.delete(id);
      settle(code);
    }
  });
  // Ids are unique across the copies of the library in this thread: channel in the top
  // 12 bits, a sequence number in the low 20.
  const base = (channel % 4096) * 2 ** 20;
  let seq = 0;

  return (view, index, expected, timeout, signal) => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let id: number;
    do id = base + (seq = (seq + 1) & 0xfffff);
    while (pending.has(id));
    if (shim.waitAsync(view, index, expected, timeout, id, channel) === NOT_EQUAL) return Promise.resolve('not-equal');
    return new Promise<WaitResult>((resolve, reject) => {
      const onAbort = () => {
        if (!shim.waitAsyncCancel(id)) {
          // Already completed, not yet delivered: if that was a wake, pass it on (unless
          // the memory has been closed meanwhile).
          pending.set(id, (code) => {
            if (code === OK && view.length > index) shim.futexWake(view, index, 1);
          });
        } else {
          pending.delete(id);
        }
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.set(id, (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (code === CLOSED) reject(closedError());
        else if (code === FAILED) reject(failedError());
        else resolve(RESULTS[code]);
      });
    });
  };
}
