/**
 * The ring of a Channel (channel-word.ts): its slots, its two locks, and one try to send
 * or to take a message, with the wait protocols built on them; channel.ts is the public
 * class on top.
 */
import type { PrimitiveOptions } from '../backend';
import { remaining } from '../core/deadline';
import { region, type Memory } from '../core/memory';
import { CHANNEL_KIND, CHANNEL_LOCK_KIND, CHANNEL_WORDS, channelBytes, ENDED } from './channel-word';
import { RECV_LOCK, SEND_LOCK, SLOTS, slotBytesOf } from './channel-word';
import { MAGIC, VERSION } from './header';
import { Mutex } from './mutex';
import { Primitive } from './primitive';
import { Spinner } from './spin';
import type { WaitProtocol } from './wait';

const { CAPACITY, MAX_BYTES, SLOT_BYTES, FLAGS, RECV_SEQ, RECV_SLEEPERS, SEND_SEQ, SEND_SLEEPERS } = CHANNEL_WORDS;
const { TAIL, HEAD_SEEN, HEAD, TAIL_SEEN } = CHANNEL_WORDS;
/** Results of one try (a message's length otherwise, 0 or more). */
const SENT = 0;
const EMPTY = -1; // nothing to take (or, sending: no room)
const DRAINED = -2; // nothing to take, and ended
const BUSY = -3; // another party holds the lock (async tries only)
const SHUT = -4; // sending on an ended channel
const TOO_SMALL = -5; // receiveInto's target is too small for the next message
/** Longest sleep: a wake lost with a killed party costs at most this. */
const CHECK_MS = 200;
/** Sleep of an async try that found the lock held (by a party in its copy, or a dead one). */
const BUSY_MS = 1;
const LOCK_SPINS = 64;

/** The two locks: Mutexes of a kind of their own. */
class ChannelLock extends Mutex {
  protected static override readonly KIND = CHANNEL_LOCK_KIND;
}

export { SENT, EMPTY, DRAINED, BUSY, SHUT, TOO_SMALL };

/** What one call carries through the wait driver. */
export interface Call {
  message: Uint8Array | undefined; // sending
  into: Uint8Array | undefined; // receiveInto's target
  out: Uint8Array | undefined; // the copy taken
  result: number;
  deadline: number;
}
export const newCall = (message?: Uint8Array, deadline = Infinity): Call => ({
  message,
  into: undefined,
  out: undefined,
  result: EMPTY,
  deadline,
});

/** The slots and locks of a Channel, and the tries of its calls: the base of Channel, not for use on its own. */
export abstract class ChannelRing extends Primitive {
  /** @internal */
  protected readonly cap: number;
  /** @internal */
  protected readonly maxBytes: number;
  /** @internal */
  protected readonly bytes: Uint8Array;
  /** @internal */
  protected readonly slotWords: number;
  /** @internal */
  protected readonly sendLock: Mutex;
  /** @internal */
  protected readonly recvLock: Mutex;
  /** @internal Senders this handle has counted in sendSleepers. */
  protected sendSleeping = 0;
  private views: Uint8Array[] | undefined;

  /** @internal Creates or attaches to the channel of this shape (checked by Channel). */
  protected constructor(
    memory: Memory,
    byteOffset: number,
    opts: PrimitiveOptions,
    capacity: number,
    maxBytes: number,
  ) {
    const init = (view: Int32Array) => {
      view[CAPACITY] = capacity;
      view[MAX_BYTES] = maxBytes;
      view[SLOT_BYTES] = slotBytesOf(maxBytes);
      new ChannelLock(memory, byteOffset + SEND_LOCK, opts);
      new ChannelLock(memory, byteOffset + RECV_LOCK, opts);
    };
    super(CHANNEL_KIND, memory, byteOffset, opts, init, channelBytes(capacity, maxBytes));
    this.cap = capacity;
    this.maxBytes = maxBytes;
    this.bytes = new Uint8Array(this.view.buffer, this.view.byteOffset, this.view.byteLength);
    this.slotWords = slotBytesOf(maxBytes) / 4;
    this.sendLock = new ChannelLock(memory, byteOffset + SEND_LOCK, opts);
    this.recvLock = new ChannelLock(memory, byteOffset + RECV_LOCK, opts);
  }

  /** tail - head, modulo 2 * capacity. */
  /** @internal */
  protected distance(tail: number, head: number): number {
    return tail >= head ? tail - head : tail - head + 2 * this.cap;
  }

  /** The first word of the slot of position `pos`. */
  /** @internal */
  protected slotAt(pos: number): number {
    return SLOTS / 4 + (pos >= this.cap ? pos - this.cap : pos) * this.slotWords;
  }

  /** A view of the bytes of the slot of position `pos`, maxMessageBytes long, made once. */
  /** @internal */
  protected slotView(pos: number): Uint8Array {
    const slot = pos >= this.cap ? pos - this.cap : pos;
    const views = (this.views ??= new Array<Uint8Array>(this.cap));
    const from = (SLOTS / 4 + slot * this.slotWords) * 4 + 4;
    return (views[slot] ??= this.bytes.subarray(from, from + this.maxBytes));
  }

  /** Takes `lock`: waiting for it (sync calls) until the call's deadline, or only trying (async). */
  /** @internal */
  protected take(lock: Mutex, call: Call, sync: boolean): boolean {
    if (sync) {
      if (lock.tryLock()) return true; // (no options object, no clock: the common case)
      return call.deadline === Infinity ? lock.lock() : lock.lock({ timeout: remaining(call.deadline) });
    }
    for (let i = 0; i < LOCK_SPINS && lock.isLocked; i++);
    return lock.tryLock();
  }

  /** One try to send call.message (channel-word.ts, Send); true when done (sent, or ended). */
  /** @internal */
  protected trySendCall(call: Call, sync: boolean): boolean {
    if (!this.take(this.sendLock, call, sync)) return ((call.result = BUSY), false);
    const v = this.view;
    try {
      if (Atomics.load(v, FLAGS) & ENDED) return ((call.result = SHUT), true);
      const tail = v[TAIL];
      if (this.distance(tail, v[HEAD_SEEN]) === this.cap) {
        const head = (v[HEAD_SEEN] = Atomics.load(v, HEAD));
        if (this.distance(tail, head) === this.cap) return ((call.result = EMPTY), false);
      }
      const message = call.message!;
      const at = this.slotAt(tail);
      v[at] = message.length;
      this.bytes.set(message, at * 4 + 4);
      Atomics.store(v, TAIL, tail + 1 === 2 * this.cap ? 0 : tail + 1);
    } finally {
      this.sendLock.unlock();
    }
    call.result = SENT;
    if (Atomics.load(v, RECV_SLEEPERS) !== 0) this.wakeOne(RECV_SEQ);
    return true;
  }

  /** One try to take a message (channel-word.ts, Receive); true when done (taken, drained, too small). */
  /** @internal */
  protected tryReceiveCall(call: Call, sync: boolean): boolean {
    if (!this.take(this.recvLock, call, sync)) return ((call.result = BUSY), false);
    const v = this.view;
    let length: number;
    try {
      const head = v[HEAD];
      if (head === v[TAIL_SEEN]) {
        const flags = Atomics.load(v, FLAGS); // (before tail: every send precedes ENDED)
        const tail = (v[TAIL_SEEN] = Atomics.load(v, TAIL));
        if (head === tail) return (call.result = flags & ENDED ? DRAINED : EMPTY) === DRAINED;
      }
      const at = this.slotAt(head);
      length = v[at];
      const from = at * 4 + 4;
      // (a full-size message copies from a view made once per slot: no view to allocate)
      const source = length === this.maxBytes ? this.slotView(head) : this.bytes.subarray(from, from + length);
      if (call.into === undefined) (call.out = new Uint8Array(length)).set(source);
      else if (length > call.into.length) return ((call.out = source), (call.result = TOO_SMALL), true);
      else call.into.set(source);
      Atomics.store(v, HEAD, head + 1 === 2 * this.cap ? 0 : head + 1);
    } finally {
      this.recvLock.unlock();
    }
    call.result = length;
    if (Atomics.load(v, SEND_SLEEPERS) !== 0) this.wakeOne(SEND_SEQ);
    return true;
  }

  /** @internal */
  protected wakeOne(seq: number): void {
    Atomics.add(this.view, seq, 1);
    this.impl.wake(this.view, seq, 1);
  }

  /** @internal The wait of a send: on sendSeq while full. */
  protected sendWait(call: Call, sync: boolean): WaitProtocol {
    const v = this.view;
    return {
      index: SEND_SEQ,
      spinner: sync ? new Spinner() : undefined,
      slice: () => (call.result === BUSY ? BUSY_MS : CHECK_MS),
      // (a spin looks at head, and takes the lock only when there may be room)
      grab: () =>
        (this.distance(Atomics.load(v, TAIL), Atomics.load(v, HEAD)) < this.cap ||
          (Atomics.load(v, FLAGS) & ENDED) !== 0) &&
        this.trySendCall(call, sync),
      enter: () => {
        Atomics.add(v, SEND_SLEEPERS, 1);
        this.sendSleeping++;
      },
      attempt: () => {
        const seq = Atomics.load(v, SEND_SEQ);
        return this.trySendCall(call, sync) || seq;
      },
      recheck: (_seq, slept) => !slept && this.trySendCall(call, sync),
      exit: (taken, queued) => {
        this.sendSleeping--;
        // leaving without sending: a wake meant for a sender may have come to us
        if (Atomics.sub(v, SEND_SLEEPERS, 1) > 1 && !taken && !queued) this.wakeOne(SEND_SEQ);
      },
    };
  }

  /** @internal The wait of a receive: on receiveSeq while empty. */
  protected receiveWait(call: Call, sync: boolean): WaitProtocol {
    const v = this.view;
    return {
      index: RECV_SEQ,
      spinner: sync ? new Spinner() : undefined,
      slice: () => (call.result === BUSY ? BUSY_MS : CHECK_MS),
      grab: () =>
        (Atomics.load(v, TAIL) !== Atomics.load(v, HEAD) || (Atomics.load(v, FLAGS) & ENDED) !== 0) &&
        this.tryReceiveCall(call, sync),
      enter: () => this.addSleeper(RECV_SLEEPERS),
      attempt: () => {
        const seq = Atomics.load(v, RECV_SEQ);
        return this.tryReceiveCall(call, sync) || seq;
      },
      recheck: (_seq, slept) => !slept && this.tryReceiveCall(call, sync),
      exit: (taken, queued) => {
        // leaving without a message (a target too small leaves it queued): pass a wake on
        const left = !taken || call.result === TOO_SMALL;
        if (this.removeSleeper(RECV_SLEEPERS) > 1 && left && !queued) this.wakeOne(RECV_SEQ);
      },
    };
  }
}

/** The shape of a ready Channel at `byteOffset` of `memory`, if one is there. */
export function existingShape(
  memory: Memory,
  byteOffset: number,
): { capacity: number; maxMessageBytes: number } | undefined {
  const r = region(memory, byteOffset, 64, 4, 'Channel');
  const w = new Int32Array(r.buffer, r.offset, 16);
  if (Atomics.load(w, MAGIC) !== CHANNEL_KIND.magic || Atomics.load(w, VERSION) === 0) return undefined;
  return { capacity: w[CAPACITY], maxMessageBytes: w[MAX_BYTES] };
}

export function checkShape(
  found: { capacity: number; maxMessageBytes: number },
  asked: { capacity?: number; maxMessageBytes?: number },
  byteOffset: number,
): void {
  const { capacity = found.capacity, maxMessageBytes = found.maxMessageBytes } = asked;
  if (capacity === found.capacity && maxMessageBytes === found.maxMessageBytes) return;
  throw new TypeError(
    `the Channel at byteOffset ${byteOffset} has capacity ${found.capacity} and maxMessageBytes ` +
      `${found.maxMessageBytes}, not capacity ${capacity} and maxMessageBytes ${maxMessageBytes}`,
  );
}
