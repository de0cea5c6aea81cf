export type { Memory } from './memory';
export { alignToCacheLine } from './memory';
export type { BackendName, PrimitiveOptions, WaitResult } from './backend';
export { FutexWord } from './futex-word';
export { AtomicU32 } from './atomic-u32';
export { AtomicU64 } from './atomic-u64';
export { SharedMemory, type SharedMemoryOptions } from './shared-memory';
