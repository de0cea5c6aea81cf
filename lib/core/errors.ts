/**
 * One error type for every system and state error fastipc throws: a FastipcError with a
 * `code`, as Node's own errors carry one (`name` stays 'Error', as theirs does). Mistakes in
 * arguments are TypeError or RangeError instead, without a code (lib/core/validate.ts).
 * The shim throws FastipcErrors too (native.ts hands it this class), with `errno` and
 * `syscall` as Node's system errors have them.
 */

/** The codes of fastipc's own errors. */
export type FastipcStateCode =
  /** The memory under a handle was closed (SharedMemory#close, a Named helper's close). */
  | 'ERR_FASTIPC_CLOSED'
  /** unlock() by a thread that does not hold the mutex. */
  | 'ERR_FASTIPC_NOT_OWNER'
  /** lock() by the thread that already holds the mutex. */
  | 'ERR_FASTIPC_RECURSIVE'
  /** The native addon did not load. */
  | 'ERR_FASTIPC_NO_ADDON'
  /** Something Linux-only was asked for on another platform. */
  | 'ERR_FASTIPC_UNSUPPORTED_PLATFORM'
  /** The async waiter thread's futex wait failed. */
  | 'ERR_FASTIPC_WAIT_FAILED'
  /** A primitive's initialiser never finished writing it (it died meanwhile). */
  | 'ERR_FASTIPC_NOT_INITIALISED'
  /** A Node-API call inside the addon failed (a bug, or the runtime is shutting down). */
  | 'ERR_FASTIPC_NAPI'
  /** The addon's async waits were used before their channel was set up (a bug). */
  | 'ERR_FASTIPC_NO_CHANNEL'
  /** Latch.countDown(n) with n more than the count (which stays as it was). */
  | 'ERR_FASTIPC_LATCH_UNDERFLOW'
  /** Channel.send() (trySend, sendAsync) after end(): nothing was sent. */
  | 'ERR_FASTIPC_CHANNEL_ENDED';

/** The errno names the shim and the segment code pass on (ETIMEDOUT also for acquire() timeouts). */
export type SystemErrorCode =
  | 'EPERM'
  | 'ENOENT'
  | 'ESRCH'
  | 'EINTR'
  | 'EIO'
  | 'EBADF'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EACCES'
  | 'EFAULT'
  | 'EBUSY'
  | 'EEXIST'
  | 'ENODEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'ENFILE'
  | 'EMFILE'
  | 'EFBIG'
  | 'ENOSPC'
  | 'ESPIPE'
  | 'EROFS'
  | 'ERANGE'
  | 'ENAMETOOLONG'
  | 'ENOSYS'
  | 'ELOOP'
  | 'EOVERFLOW'
  | 'ETIMEDOUT'
  | 'EUNKNOWN';

/** Every `code` a FastipcError can have. */
export type FastipcErrorCode = FastipcStateCode | SystemErrorCode;

const PREFIX = 'fastipc: ';

/**
 * A system or state error from fastipc. Test `err.code`, which names what happened:
 *
 * @example
 * try {
 *   mutex.unlock();
 * } catch (err) {
 *   if (err instanceof FastipcError && err.code === 'ERR_FASTIPC_NOT_OWNER') console.warn('not ours');
 *   else throw err;
 * }
 */
export class FastipcError extends Error {
  /** What happened: an `ERR_FASTIPC_*` code, or the errno name of a failed system call. */
  readonly code: FastipcErrorCode;
  /** For a failed system call: its negated errno, as Node's system errors have it. */
  errno?: number;
  /** For a failed system call: its name. */
  syscall?: string;

  /** `message` gets the `fastipc: ` prefix unless it has it already. */
  constructor(code: FastipcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.startsWith(PREFIX) ? message : PREFIX + message, options);
    this.code = code;
  }
}

/** The memory under a primitive was closed while it was in use. */
export function closedError(what = 'the memory was closed while a wait was pending'): FastipcError {
  return new FastipcError('ERR_FASTIPC_CLOSED', what);
}
