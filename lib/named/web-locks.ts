/**
 * Web Locks (the `navigator.locks` API of the W3C Web Locks spec) across processes: the
 * scope of a lock name is every process of this user on the machine, not one origin of
 * one browser, and a holder that dies releases its lock (the next holder sees
 * `recovered: true`).
 *
 *   await locks.request('jobs', async (lock) => { ... });            // exclusive
 *   await locks.request('cache', { mode: 'shared' }, async () => { ... });
 *
 * Each name is a RwLock (exclusive = write, shared = read) in its own segment,
 * /dev/shm/fastipc.weblock.<sha-256 of the name, 40 hex digits>, which also holds the name
 * (for query()):
 *
 * | offset  | field                                                              |
 * |---------|--------------------------------------------------------------------|
 * | +0      | the RwLock (RwLock.BYTES)                                          |
 * | +NAME_AT| u32 byte length of the name, then the name in UTF-8 (written by    |
 * |         | every opener, all with the same bytes)                             |
 *
 * The segment is 4096 bytes, or more for a long name (its size follows from the name, so
 * every opener asks for the same). A process keeps a name's segment open while it has a
 * request for it, pending or granted, and closes it after the last one (the last live
 * user's close unlinks it, SharedMemory's lifecycle; a segment whose users all died
 * stays, so that the next holder sees `recovered`).
 *
 * Semantics, as the spec's where they apply: the lock is held from the callback's call
 * until the promise it returns settles, then released; request() resolves (or rejects)
 * with what the callback's promise did. `ifAvailable`: if the lock cannot be granted at
 * once, the callback is called with null. `signal`: aborting it rejects a pending request
 * with `signal.reason` (a granted one runs on). Names starting with "-" are reserved
 * (NotSupportedError); `steal` is not offered (NotSupportedError). Beyond the spec:
 * `timeout` (ms) rejects a request not granted in time with a FastipcError ETIMEDOUT.
 * Order: one thread's requests for a name are granted in the order made (each starts
 * taking the RwLock once the one before it was granted or gave up; `ifAvailable` fails
 * while any is queued); between processes, exclusive requests are served in turn (the
 * RwLock's writer lock is fair) and a waiting exclusive request keeps new shared ones out
 * (writers are not starved), but the order is not strictly that of the requests. query() reports every
 * process's held locks (read from the segments) and this process's pending requests.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkAsyncWaitOptions, type AbortSignalLike } from '../core/deadline';
import { FastipcError } from '../core/errors';
import { currentThread } from '../core/identity';
import { describe } from '../core/validate';
import { RwLock, RWLOCK_KIND, rwLockHolders } from '../primitives';
import { SharedMemory, shmDir, PREFIX } from './shared-memory';

/** Where the name starts in a lock's segment (after the RwLock). */
const NAME_AT = 2048;
const SEGMENT_PREFIX = 'weblock.';

/** A lock's mode: one exclusive holder, or any number of shared holders. */
export type LockMode = 'exclusive' | 'shared';

/** The lock a callback is granted. */
export interface Lock {
  /** The name requested. */
  readonly name: string;
  /** The mode requested. */
  readonly mode: LockMode;
  /** The last exclusive holder died holding it (repair what it guards; shared holders see it too). */
  readonly recovered: boolean;
}

/** Options of locks.request(). */
export interface LockOptions {
  /** 'exclusive' (default): one holder; 'shared': any number of shared holders, no exclusive one. */
  mode?: LockMode;
  /** Grant it only if that can be done at once; else call the callback with null. */
  ifAvailable?: boolean;
  /** Aborting it rejects the request while it is pending. */
  signal?: AbortSignalLike;
  /** ms to wait for the lock before rejecting with ETIMEDOUT (not in the spec). */
  timeout?: number;
  /** Not offered: a NotSupportedError. */
  steal?: boolean;
}

/** A held or pending lock, as query() reports it. */
export interface LockInfo {
  /** The lock's name. */
  readonly name: string;
  /** Its mode. */
  readonly mode: LockMode;
  /** "<pid>" of the holder (and "/<tid>" where known): the process, not a browser client. */
  readonly clientId: string;
}

/** What locks.query() returns. */
export interface LockManagerSnapshot {
  /** Locks held now, by every process of this user. */
  readonly held: LockInfo[];
  /** Requests of this thread not yet granted. */
  readonly pending: LockInfo[];
}

/** What locks.request() calls holding the lock (with null for an ifAvailable request that could not have it). */
export type LockGrantedCallback<T> = (lock: Lock | null) => T | PromiseLike<T>;

/** The type of `locks`: request() and query() of the Web Locks spec. */
export interface LockManager {
  /**
   * Requests the lock `name` (exclusive), calls `callback` holding it, and releases it when
   * the callback's promise settles.
   * @returns a promise of what the callback returned (or resolved to); it rejects with what
   *   the callback threw
   */
  request<T>(name: string, callback: LockGrantedCallback<T>): Promise<T>;
  /** As request(name, callback), with options (mode, ifAvailable, signal, timeout). */
  request<T>(name: string, options: LockOptions, callback: LockGrantedCallback<T>): Promise<T>;
  /** The locks held by every process of this user, and those this thread waits for. */
  query(): Promise<LockManagerSnapshot>;
}

interface Entry {
  shm: SharedMemory;
  rw: RwLock;
  users: number;
  /** Settles when the latest request of this process has been granted or given up. */
  last: Promise<void>;
  /** Requests of this process not yet granted (nor given up). */
  acquiring: number;
}

/** This thread's open lock segments, by name, and its pending requests (module state: one per thread). */
const open = new Map<string, Entry>();
const pending = new Set<LockInfo>();

function notSupported(message: string): Error {
  return new DOMException(`fastipc: ${message}`, 'NotSupportedError');
}

function segmentOf(name: string): string {
  return SEGMENT_PREFIX + createHash('sha256').update(name).digest('hex').slice(0, 40);
}

function attach(name: string): Entry {
  let e = open.get(name);
  if (!e) {
    const bytes = Buffer.from(name, 'utf8');
    const size = Math.ceil((NAME_AT + 4 + bytes.length) / 4096) * 4096;
    const shm = SharedMemory.open(segmentOf(name), { size });
    try {
      const rw = new RwLock(shm.buffer, 0);
      new Uint8Array(shm.buffer, NAME_AT + 4, bytes.length).set(bytes);
      new DataView(shm.buffer).setUint32(NAME_AT, bytes.length, true);
      e = { shm, rw, users: 0, last: Promise.resolve(), acquiring: 0 };
    } catch (err) {
      shm.release(false); // (not ours to remove: it holds something else)
      throw err;
    }
    open.set(name, e);
  }
  e.users++;
  return e;
}

function detach(name: string, e: Entry): void {
  if (--e.users > 0) return;
  open.delete(name);
  // A lock that still records a dead holder (a writer's DIED or WRITER, a reader's slot) is
  // kept, if we were its last user, so that the next holder is told (recovered).
  const words = new Int32Array(e.shm.buffer, 0, RwLock.BYTES / 4);
  const state = RWLOCK_KIND.decode(Array.from(words)) as { writeLocked: boolean; writerDied: boolean };
  e.shm.release(!state.writeLocked && !state.writerDied && rwLockHolders(words).length === 0);
}

function checkRequest(name: unknown, options: LockOptions): { mode: LockMode; ifAvailable: boolean } {
  if (typeof name !== 'string') throw new TypeError(`locks.request(): name must be a string, got ${describe(name)}`);
  if (name.startsWith('-'))
    throw notSupported(`lock names starting with "-" are reserved, got ${JSON.stringify(name)}`);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`locks.request(): options must be an object, got ${describe(options)}`);
  }
  const { mode = 'exclusive', ifAvailable = false, signal, timeout, steal } = options;
  if (mode !== 'exclusive' && mode !== 'shared') {
    throw new TypeError(`locks.request(): mode must be 'exclusive' or 'shared', got ${describe(mode)}`);
  }
  if (typeof ifAvailable !== 'boolean') throw new TypeError(`locks.request(): ifAvailable must be a boolean`);
  if (steal !== undefined && steal !== false) throw notSupported('locks.request(): steal is not offered');
  if (ifAvailable && signal !== undefined) throw notSupported('locks.request(): ifAvailable and signal together');
  if (ifAvailable && timeout !== undefined) throw notSupported('locks.request(): ifAvailable and timeout together');
  checkAsyncWaitOptions({ signal, timeout });
  return { mode, ifAvailable };
}

async function request<T>(name: string, a: LockOptions | LockGrantedCallback<T>, b?: LockGrantedCallback<T>) {
  const [options, callback] = typeof a === 'function' ? [{}, a] : [a, b];
  const { mode, ifAvailable } = checkRequest(name, options);
  if (typeof callback !== 'function') throw new TypeError('locks.request(): callback must be a function');
  const { signal, timeout } = options;
  if (signal?.aborted) throw signal.reason;
  const e = attach(name);
  // This process's requests for a name are granted in the order made (as the spec's queue):
  // each starts taking the RwLock once the one before it was granted or gave up.
  // (an ifAvailable request never queues, so it takes no place in the chain)
  const before = e.last;
  let turnOver = () => {};
  if (!ifAvailable) e.last = new Promise<void>((r) => (turnOver = r));
  try {
    const shared = mode === 'shared';
    const me = currentThread();
    const info: LockInfo = { name, mode, clientId: `${me.pid}/${me.tid}` };
    let taken = false;
    if (ifAvailable) {
      const now = { timeout: 0 };
      taken = e.acquiring === 0 && (await (shared ? e.rw.readLockAsync(now) : e.rw.writeLockAsync(now)));
    } else {
      e.acquiring++;
      pending.add(info);
      try {
        const deadline = timeout === undefined ? Infinity : performance.now() + timeout;
        await turn(before, signal, deadline, name);
        const wait = { signal, timeout: Math.max(0, deadline - performance.now()) };
        taken = await (shared ? e.rw.readLockAsync(wait) : e.rw.writeLockAsync(wait));
      } finally {
        e.acquiring--;
        pending.delete(info);
        // one that gives up lets the next go only once the one before it is through
        if (taken) turnOver();
        else void before.then(turnOver);
      }
      if (!taken) throw new FastipcError('ETIMEDOUT', `locks.request(${JSON.stringify(name)}): timed out`);
    }
    if (!taken) return await callback(null);
    try {
      return await callback({ name, mode, recovered: e.rw.recovered });
    } finally {
      if (shared) e.rw.readUnlock();
      else e.rw.writeUnlock();
    }
  } finally {
    detach(name, e);
  }
}

/** Waits for `before` to settle; rejects with the signal's reason on abort, ETIMEDOUT at the deadline. */
function turn(before: Promise<void>, signal: AbortSignalLike | undefined, deadline: number, name: string) {
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (settle: () => void) => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () => done(() => reject(signal!.reason));
    const timedOut = () => new FastipcError('ETIMEDOUT', `locks.request(${JSON.stringify(name)}): timed out`);
    // (setTimeout takes at most 2^31-1 ms: a longer deadline is armed again in pieces)
    const arm = () => {
      const left = deadline - performance.now();
      if (left <= 0) return done(() => reject(timedOut()));
      timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
    };
    if (deadline !== Infinity) arm();
    signal?.addEventListener('abort', onAbort, { once: true });
    void before.then(() => done(resolve));
  });
}

/** The name stored in a lock segment's file, or null (not a lock segment, or unreadable). */
function readLockFile(file: string): { name: string; words: Int32Array } | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const head = Buffer.alloc(NAME_AT + 4);
    if (fs.readSync(fd, head, 0, head.length, 0) !== head.length) return null;
    const length = head.readUInt32LE(NAME_AT);
    const bytes = Buffer.alloc(length);
    if (fs.readSync(fd, bytes, 0, length, NAME_AT + 4) !== length) return null;
    const words = new Int32Array(head.buffer, head.byteOffset, NAME_AT / 4);
    return { name: bytes.toString('utf8'), words };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function query(): Promise<LockManagerSnapshot> {
  const held: LockInfo[] = [];
  const dir = shmDir();
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir).filter((f) => f.startsWith(PREFIX + SEGMENT_PREFIX));
  } catch {
    /* no segment folder: no locks */
  }
  for (const file of files.sort()) {
    const lock = readLockFile(path.join(dir, file));
    if (!lock || segmentOf(lock.name) !== file.slice(PREFIX.length)) continue;
    for (const h of rwLockHolders(lock.words)) {
      held.push({ name: lock.name, mode: h.mode, clientId: h.tid ? `${h.pid}/${h.tid}` : `${h.pid}` });
    }
  }
  return { held, pending: [...pending].map((p) => ({ ...p })) };
}

/**
 * Web Locks across the processes of this user (see the top of this file).
 * @example
 * await locks.request('invoice-42', async (lock) => {
 *   if (lock.recovered) await repairInvoice(42);
 *   await writeInvoice(42);
 * });
 */
export const locks: LockManager = { request, query };
