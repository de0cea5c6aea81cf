/**
 * The Named primitives: one line each (named.ts does the rest).
 */
import {
  Condition,
  CONDITION_KIND,
  Event,
  EVENT_KIND,
  Mutex,
  MUTEX_KIND,
  RwLock,
  RWLOCK_KIND,
  Semaphore,
  SEMAPHORE_KIND,
  semaphoreInitial,
  type SemaphoreOptions,
} from '../primitives';
import { Barrier, BARRIER_KIND, barrierParties, type BarrierOptions } from '../primitives';
import { Latch, LATCH_KIND, latchCount, type LatchOptions } from '../primitives';
import { Channel, CHANNEL_KIND, channelBytes, namedChannelShape, type ChannelOptions } from '../primitives';
import { named, type NamedHandle, type NamedOptions } from './named';

export { named, type NamedClass, type NamedHandle, type NamedOptions } from './named';
export { SharedMemory, type SharedMemoryOptions } from './shared-memory';
export {
  locks,
  type Lock,
  type LockGrantedCallback,
  type LockInfo,
  type LockManager,
  type LockManagerSnapshot,
  type LockMode,
  type LockOptions,
} from './web-locks';

/**
 * A Mutex in its own named segment, shared by every process that opens the name.
 * @example
 * using m = new NamedMutex('jobs');
 * m.withLock(() => appendToTheSharedLog());
 */
export class NamedMutex extends named(Mutex, MUTEX_KIND) {}

/**
 * A Semaphore in its own named segment. `initial` applies only when this call creates it;
 * attaching never resets the count.
 * @example
 * using slots = new NamedSemaphore('slots', { initial: 4 });
 * if (slots.wait({ timeout: 1000 })) try { work(); } finally { slots.post(); }
 */
export class NamedSemaphore extends named<Semaphore, SemaphoreOptions>(Semaphore, SEMAPHORE_KIND, semaphoreInitial) {}

/**
 * An Event in its own named segment.
 * @example
 * using ready = new NamedEvent('ready');
 * await ready.waitAsync({ timeout: 5000 });
 */
export class NamedEvent extends named(Event, EVENT_KIND) {}

/**
 * A Condition in its own named segment (its Mutex is a NamedMutex, or any Mutex).
 * @example
 * using m = new NamedMutex('queue'), nonEmpty = new NamedCondition('queue');
 * m.withLock(() => nonEmpty.waitFor(m, () => queueLength() > 0, { timeout: 5000 }));
 */
export class NamedCondition extends named(Condition, CONDITION_KIND) {}

/**
 * A Barrier in its own named segment. `parties` is required; attaching with another number
 * of parties is a TypeError.
 * @example
 * using step = new NamedBarrier('step', { parties: 4 });   // in each of 4 processes
 * if (step.wait({ timeout: 5000 }) === 'last') publish();
 */
export class NamedBarrier extends named<Barrier, BarrierOptions>(Barrier, BARRIER_KIND, barrierParties) {}

/**
 * A Latch in its own named segment. `count` is required, and applies only when this call
 * creates it; attaching never resets the count.
 * @example
 * using ready = new NamedLatch('ready', { count: 3 });
 * await ready.waitAsync({ timeout: 5000 });   // until 3 countDown() calls, from any process
 */
export class NamedLatch extends named<Latch, LatchOptions>(Latch, LATCH_KIND, latchCount) {}

/**
 * A RwLock in its own named segment.
 * @example
 * using rw = new NamedRwLock('config');
 * const config = rw.withRead(() => readTheSharedConfig());
 */
export class NamedRwLock extends named(RwLock, RWLOCK_KIND) {}

const NamedChannelBase = named<Channel<any>, ChannelOptions<any>>(Channel, CHANNEL_KIND, namedChannelShape, (o) =>
  channelBytes(o.capacity!, o.maxMessageBytes!),
);

/**
 * A Channel in its own named segment, shared by every process that opens the name.
 * `capacity` and `maxMessageBytes` are required (they size the segment), and must match
 * an existing channel's (a TypeError naming both otherwise). close() closes this handle;
 * end() ends the channel for everyone.
 * @example
 * using jobs = new NamedChannel('jobs', { capacity: 256, maxMessageBytes: 4096, codec: codecs.json });
 * jobs.send({ file: 'a.txt' });            // another process: for await (const job of jobs) ...
 */
export class NamedChannel<T = Uint8Array> extends (NamedChannelBase as unknown as new <U>(
  name: string,
  options: ChannelOptions<U> & { capacity: number; maxMessageBytes: number } & NamedOptions,
) => Channel<U> & NamedHandle)<T> {}
