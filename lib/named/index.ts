/**
 * The Named primitives: one line each (named.ts does the rest).
 */
import {
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
import { named } from './named';

export { named, type NamedClass, type NamedHandle, type NamedOptions } from './named';
export { SharedMemory, type SharedMemoryOptions } from './shared-memory';

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
 * A RwLock in its own named segment.
 * @example
 * using rw = new NamedRwLock('config');
 * const config = rw.withRead(() => readTheSharedConfig());
 */
export class NamedRwLock extends named(RwLock, RWLOCK_KIND) {}
