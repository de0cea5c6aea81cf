/**
 * The package: every public class and type (README, API).
 */
export type { Memory } from './core/memory';
export { alignToCacheLine } from './core/memory';
export type { AbortSignalLike, AsyncWaitOptions, WaitOptions } from './core/deadline';
export { FastipcError, type FastipcErrorCode, type FastipcStateCode, type SystemErrorCode } from './core/errors';
export type { BackendName, PrimitiveOptions, WaitResult } from './backend';
export {
  AtomicU32,
  AtomicU64,
  Barrier,
  Channel,
  codecs,
  Condition,
  Event,
  FutexWord,
  Latch,
  Mutex,
  RwLock,
  Semaphore,
  type BarrierOptions,
  type ChannelOptions,
  type Codec,
  type Held,
  type LatchOptions,
  type SemaphoreOptions,
} from './primitives';
export {
  NamedBarrier,
  NamedChannel,
  NamedCondition,
  NamedLatch,
  NamedEvent,
  NamedMutex,
  NamedRwLock,
  locks,
  type Lock,
  type LockGrantedCallback,
  type LockInfo,
  type LockManager,
  type LockManagerSnapshot,
  type LockMode,
  type LockOptions,
  NamedSemaphore,
  SharedMemory,
  type NamedClass,
  type NamedHandle,
  type NamedOptions,
  type SharedMemoryOptions,
} from './named';
