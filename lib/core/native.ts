/**
 * Loads the C shim (shim/) with node-gyp-build: `build/Release/` from a source build
 * if there is one, else the prebuild for this platform, arch and libc from `prebuilds/`
 * (linux-x64 and linux-arm64, glibc and musl). Off Linux there is no addon.
 *
 * The package root is found by walking up from this file, not taken as `__dirname`:
 * this code runs from `lib/` under ts-jest and from `dist/` (ESM and CJS) when bundled.
 * A missing addon is not fatal: the `atomics` backend and every uncontended path work
 * without it; what needs it calls `requireNative()`, which throws an Error that says
 * what is missing and how to rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { FastipcError } from './errors';

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

export interface Native {
  futexWait(view: Int32Array, index: number, expected: number, timeoutMs: number): WaitResult;
  futexWake(view: Int32Array, index: number, count: number): number;
  mmap(fd: number, size: number): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  gettid(): number;
  /** Clock ticks after boot at which the thread started; throws ESRCH for a zombie, ENOENT when gone. */
  startTime(pid: number, tid: number): number;
  /** tgkill(pid, tid, 0): whether the thread exists (EPERM counts as existing). */
  threadExists(pid: number, tid: number): boolean;
  flock(fd: number, op: number): void;
  /** Registers this copy of the library's completion callback; returns its channel. */
  waitAsyncInit(callback: (id: number, code: number) => void): number;
  /** 0: started, the channel's callback gets (id, code) later; 1: 'not-equal' now. */
  waitAsync(view: Int32Array, index: number, expected: number, timeoutMs: number, id: number, channel: number): number;
  waitAsyncCancel(id: number): boolean;
  /** Makes the shim throw its system and state errors as `new ctor(code, message)`. */
  setErrorClass?(ctor: new (code: string, message: string) => Error): void;
  /** How async waits sleep here: futex_waitv, or plain FUTEX_WAIT threads where it is missing or refused. */
  waitAsyncMode(): 'futex_waitv' | 'futex_wait';
}

let loaded: Native | null | undefined;
let loadError: Error | undefined;

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`fastipc: no package root above ${__dirname}`);
    dir = parent;
  }
}

/** The addon, or null when it cannot be loaded (see `nativeLoadError`). */
export function native(): Native | null {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') {
    loadError = new Error(`there is no addon for ${process.platform}`);
    return (loaded = null);
  }
  if (process.env.FASTIPC_NO_ADDON) {
    loadError = new Error('FASTIPC_NO_ADDON is set');
    return (loaded = null);
  }
  try {
    loaded = nodeGypBuild(packageRoot()) as Native;
    // Errors the shim throws are FastipcErrors (an older build without setErrorClass: plain Errors).
    loaded.setErrorClass?.(FastipcError as new (code: string, message: string) => Error);
  } catch (err) {
    loadError = err as Error;
    loaded = null;
  }
  return loaded;
}

export function requireNative(what: string): Native {
  const n = native();
  if (n) return n;
  if (process.platform !== 'linux') {
    throw new FastipcError(
      'ERR_FASTIPC_UNSUPPORTED_PLATFORM',
      `${what} is Linux-only (it needs the kernel's futex and /dev/shm), and this is ${process.platform}. ` +
        "Here the 'atomics' backend works: Mutex, Semaphore, Event, FutexWord and the atomics over a " +
        'SharedArrayBuffer, between the worker threads of one process.',
    );
  }
  throw new FastipcError(
    'ERR_FASTIPC_NO_ADDON',
    `${what} needs the native addon, which did not load (${loadError?.message}). ` +
      'Rebuild it with `npm rebuild fastipc` (needs python3, make and a C compiler), ' +
      "or use a SharedArrayBuffer with { backend: 'atomics' }.",
  );
}
