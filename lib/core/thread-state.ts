/**
 * Per-thread bookkeeping that every copy of fastipc loaded in this thread shares: an ESM
 * import and a CJS require (as when a CJS dependency also uses fastipc), or two installed
 * copies of this version, behave as one library. Kept on globalThis under a registered
 * symbol whose name carries the state's version; a copy with another state version keeps
 * its own record (and then behaves as a separate library, as every copy did before).
 *
 * What lives here: this thread's open segment handles (so closing a handle of one copy
 * never releases a lock the thread holds through another), its registration id in the
 * PID directory, its identity, the keep-alive count of pending async waits, and the
 * futex backend's async-wait channel.
 */
import type { Identity } from './identity';

export const THREAD_STATE_VERSION = 1;
const KEY = Symbol.for(`fastipc.thread-state.v${THREAD_STATE_VERSION}`);

/** An open SharedMemory handle, as any copy's class makes it. */
export interface OpenHandle {
  close(): void;
}

export interface ThreadState {
  readonly version: typeof THREAD_STATE_VERSION;
  /** Open handles by segment (`file@inode`). */
  readonly open: Map<string, Set<OpenHandle>>;
  exitHook: boolean;
  /** This thread's library id in registration names (hex). */
  readonly copy: string;
  identity?: Identity;
  readonly keepalive: { pending: number; timer?: NodeJS.Timeout };
  /** The futex backend's async waits (one channel of the shim for every copy). */
  futexAsync?: unknown;
}

export function threadState(): ThreadState {
  const g = globalThis as { [KEY]?: ThreadState };
  let s = g[KEY];
  if (!s) {
    s = {
      version: THREAD_STATE_VERSION,
      open: new Map(),
      exitHook: false,
      copy: Math.floor(Math.random() * 2 ** 32).toString(16),
      keepalive: { pending: 0 },
    };
    Object.defineProperty(g, KEY, { value: s, enumerable: false, configurable: false, writable: false });
  }
  return s;
}
