/**
 * Every primitive, in the order their kinds are listed (`fastipc list` sorts by it).
 */
export { Mutex } from './mutex';
export { MUTEX_KIND } from './mutex-word';
export { Semaphore, SEMAPHORE_KIND, type SemaphoreOptions } from './semaphore';
export { Event, EVENT_KIND } from './event';
export { Condition, CONDITION_KIND } from './condition';
export { Barrier, BARRIER_KIND, barrierParties, type BarrierOptions } from './barrier';
export { Latch, LATCH_KIND, latchCount, type LatchOptions } from './latch';
export { RwLock } from './rwlock';
export { RWLOCK_KIND, rwLockHolders } from './rwlock-word';
export { Channel, type ChannelOptions } from './channel';
export { CHANNEL_KIND, channelBytes, namedChannelShape } from './channel-word';
export { codecs, type Codec } from './codecs';
export { FutexWord } from './futex-word';
export { AtomicU32 } from './atomic-u32';
export { AtomicU64 } from './atomic-u64';
export { allKinds, kindOfMagic, kindOfNamed, type Kind } from './kinds';
export { semaphoreInitial } from './semaphore';
export { EVENT_WORDS } from './event';
export { defineKind, magicOf, type KindSpec, type WordField } from './kinds';
export { Primitive } from './primitive';
export type { Held } from './guard';
