/**
 * Channel: a bounded message queue over shared memory, for any number of senders and
 * receivers, threads or processes. Its layout, protocol, guarantees and their proof sketch
 * are the table at the top of channel-word.ts; this file implements them. Waiting is the
 * wait driver's (wait.ts), with the protocols made by sendWait() and receiveWait().
 */
import type { PrimitiveOptions } from '../backend';
import { checkAsyncWaitOptions, checkWaitOptions, deadlineOf, throwIfAborted } from '../core/deadline';
import type { AsyncWaitOptions, WaitOptions } from '../core/deadline';
import { FastipcError } from '../core/errors';
import type { Memory } from '../core/memory';
import { checkOptions, describe } from '../core/validate';
import { type Call, ChannelRing, checkShape, existingShape, newCall, SHUT, TOO_SMALL } from './channel-ring';
import { CHANNEL_WORDS, channelBytes, channelShape, ENDED } from './channel-word';
import { checkCodec, type Codec } from './codecs';
import { TurnQueue, waitAsync, waitSync, type WaitProtocol } from './wait';

const { CAPACITY, MAX_BYTES, FLAGS, RECV_SEQ, RECV_SLEEPERS, SEND_SEQ, SEND_SLEEPERS, TAIL, HEAD } = CHANNEL_WORDS;

/** Options of a Channel. */
export interface ChannelOptions<T = Uint8Array> extends PrimitiveOptions {
  /** Messages it holds, 1 to 2^24: required to create it; attaching, it must match (or be omitted). */
  capacity?: number;
  /** The largest message in bytes, 0 to 2^30, encoded: as capacity. */
  maxMessageBytes?: number;
  /** How messages become bytes and back (default codecs.bytes): codecs.utf8, codecs.json, codecs.v8, or your own. */
  codec?: Codec<T>;
}

function endedError(method: string): FastipcError {
  return new FastipcError('ERR_FASTIPC_CHANNEL_ENDED', `Channel.${method}(): the channel has ended (end() was called)`);
}

/**
 * A bounded queue of messages over shared memory: any number of senders and receivers, in
 * worker threads (a SharedArrayBuffer) or processes (a SharedMemory segment; see
 * NamedChannel). Each message is received once, whole, by one receiver, in the order its
 * sender sent it. A party killed at any point does not wedge the others (the guarantees
 * are in the README, Channel). No system call unless someone waits.
 *
 * @example
 * const sab = new SharedArrayBuffer(Channel.bytesFor({ capacity: 64, maxMessageBytes: 1024 }));
 * const jobs = new Channel(sab, 0, { capacity: 64, maxMessageBytes: 1024, codec: codecs.json });
 * jobs.send({ id: 1 });                          // in a worker, on the same sab:
 * jobs.end();                                    // for await (const job of jobs) handle(job);
 */
export class Channel<T = Uint8Array> extends ChannelRing {
  private readonly codec: Codec<T>;
  private readonly sendTurns = new TurnQueue();
  private readonly recvTurns = new TurnQueue();
  private readonly syncCall = newCall();
  private readonly sendSync: WaitProtocol;
  private readonly receiveSync: WaitProtocol;

  /**
   * Bytes of memory a Channel of this shape takes (a multiple of 64).
   * @throws {TypeError|RangeError} capacity or maxMessageBytes missing or out of range
   */
  static bytesFor(options: { capacity: number; maxMessageBytes: number }): number {
    const { capacity, maxMessageBytes } = channelShape(checkOptions(options));
    if (capacity === undefined || maxMessageBytes === undefined) {
      throw new TypeError('Channel.bytesFor: options.capacity and options.maxMessageBytes are required');
    }
    return channelBytes(capacity, maxMessageBytes);
  }

  /**
   * Creates the channel (empty) at `byteOffset` in `memory` if the memory there is zeroed,
   * or attaches to the one already there (then capacity and maxMessageBytes may be omitted).
   * @param memory a SharedArrayBuffer, an ArrayBuffer (SharedMemory#buffer) or a view of one
   * @param byteOffset a multiple of 64 from the buffer start, Channel.bytesFor(options) bytes within it
   * @throws {TypeError} memory of another kind; capacity or maxMessageBytes missing (creating) or
   *   other than the existing channel's (the message names both); a bad codec
   * @throws {RangeError} a misaligned or out-of-bounds offset, memory not zeroed (creating),
   *   capacity or maxMessageBytes out of range
   */
  constructor(memory: Memory, byteOffset = 0, options?: ChannelOptions<T>) {
    const opts = checkOptions<ChannelOptions<T>>(options);
    const codec = checkCodec<T>(opts.codec);
    const asked = channelShape(opts);
    const found = existingShape(memory, byteOffset);
    if (found) checkShape(found, asked, byteOffset);
    const capacity = asked.capacity ?? found?.capacity;
    const maxBytes = asked.maxMessageBytes ?? found?.maxMessageBytes;
    if (capacity === undefined || maxBytes === undefined) {
      throw new TypeError(
        `Channel: options.capacity and options.maxMessageBytes are required to create one (no Channel at ` +
          `byteOffset ${describe(byteOffset)})`,
      );
    }
    super(memory, byteOffset, opts, capacity, maxBytes);
    // (another creator may have made it meanwhile, with its own shape)
    checkShape({ capacity: this.view[CAPACITY], maxMessageBytes: this.view[MAX_BYTES] }, asked, byteOffset);
    this.codec = codec;
    this.sendSync = this.sendWait(this.syncCall, true);
    this.receiveSync = this.receiveWait(this.syncCall, true);
  }

  /**
   * Sends `message`, waiting while the channel is full; blocks the calling thread.
   * @returns true when sent, false only when the timeout passed (nothing was sent)
   * @throws {RangeError} the encoded message is over maxMessageBytes (nothing is sent)
   * @throws {TypeError} the codec cannot encode it; bad options
   * @throws {FastipcError} ERR_FASTIPC_CHANNEL_ENDED once end() was called (also while waiting)
   */
  send(message: T, options?: WaitOptions): boolean {
    if (options !== undefined) checkWaitOptions(options);
    const bytes = this.encode(message);
    const deadline = deadlineOf(options);
    const call = this.syncCall;
    call.message = bytes;
    call.deadline = deadline;
    try {
      // (waiting, send a copy: the caller's view could change size or bytes meanwhile, as a
      // length-tracking view of a growable buffer can)
      const sent =
        this.trySendCall(call, true) ||
        ((call.message = bytes.slice()), waitSync(this.impl, this.view, this.sendSync, 0, deadline));
      if (call.result === SHUT) throw endedError('send');
      return sent;
    } finally {
      call.message = undefined;
    }
  }

  /**
   * Sends `message` if there is room; never waits for room (only, briefly, for another
   * sender's copy to finish).
   * @returns true when sent, false when full
   * @throws as send()
   */
  trySend(message: T): boolean {
    const call = newCall(this.encode(message));
    const sent = this.trySendCall(call, true);
    if (call.result === SHUT) throw endedError('trySend');
    return sent;
  }

  /**
   * As send(), without blocking the event loop. A thread's sendAsync calls on one handle
   * send in the order they were made.
   * @returns a promise of true when sent, false when the timeout passed; it rejects as send()
   *   throws, with `signal.reason` on abort, and with ERR_FASTIPC_CLOSED if the memory is closed
   */
  async sendAsync(message: T, options?: AsyncWaitOptions): Promise<boolean> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    const call = newCall(this.encode(message), deadlineOf(options));
    // not ahead of this thread's own queued sends (FIFO)
    if (this.sendTurns.idle && this.trySendCall(call, false)) {
      if (call.result === SHUT) throw endedError('sendAsync');
      return true;
    }
    call.message = call.message!.slice(); // (a copy: the caller may reuse its bytes while we wait)
    const p = this.sendWait(call, false);
    const sent = await waitAsync(this.impl, this.view, p, 0, call.deadline, signal, this.sendTurns);
    if (call.result === SHUT) throw endedError('sendAsync');
    return sent;
  }

  /**
   * Takes the next message, waiting while the channel is empty; blocks the calling thread.
   * @returns the message; undefined when the timeout passed, or the channel has ended and
   *   every message was taken (a codec that can decode to undefined, v8, cannot tell these apart)
   * @throws {TypeError|RangeError} bad options
   */
  receive(options?: WaitOptions): T | undefined {
    if (options !== undefined) checkWaitOptions(options);
    const bytes = this.receiveCall(this.syncCall, deadlineOf(options));
    return bytes === undefined ? undefined : this.codec.decode(bytes);
  }

  /**
   * Takes the next message if there is one; never waits for one.
   * @returns the message, or undefined when the channel is empty
   */
  tryReceive(): T | undefined {
    const call = newCall();
    return this.tryReceiveCall(call, true) && call.out !== undefined ? this.codec.decode(call.out) : undefined;
  }

  /**
   * As receive(), without blocking the event loop. A thread's receiveAsync calls on one
   * handle take messages in the order they were made.
   * @returns a promise of the message or undefined, as receive(); it rejects with
   *   `signal.reason` on abort, and with ERR_FASTIPC_CLOSED if the memory is closed
   */
  async receiveAsync(options?: AsyncWaitOptions): Promise<T | undefined> {
    const bytes = await this.receiveBytesAsync(options);
    return bytes === undefined ? undefined : this.codec.decode(bytes);
  }

  /**
   * As receive(), copying the message's bytes (as encoded, not decoded) into `target`:
   * no allocation.
   * @returns the message's length in bytes; -1 when nothing came (timeout, or ended and drained)
   * @throws {RangeError} `target` is shorter than the next message (which stays queued)
   * @throws {TypeError} `target` is not a Uint8Array; bad options
   */
  receiveInto(target: Uint8Array, options?: WaitOptions): number {
    if (!(target instanceof Uint8Array)) {
      throw new TypeError(`Channel.receiveInto: target must be a Uint8Array, got ${describe(target)}`);
    }
    if (options !== undefined) checkWaitOptions(options);
    const call = this.syncCall;
    call.into = target;
    try {
      this.receiveCall(call, deadlineOf(options));
    } finally {
      call.into = undefined;
    }
    if (call.result === TOO_SMALL) {
      throw new RangeError(
        `Channel.receiveInto: the next message has ${call.out!.length} bytes, target ${target.length}`,
      );
    }
    return call.result >= 0 ? call.result : -1;
  }

  /** The messages, as receiveAsync() takes them, until the channel has ended and is drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (let bytes; (bytes = await this.receiveBytesAsync()) !== undefined;) yield this.codec.decode(bytes);
  }

  /**
   * Ends the channel, for every handle and process: sends throw ERR_FASTIPC_CHANNEL_ENDED
   * from now on (waiting ones too); receivers take what is left, then get undefined.
   * Idempotent; there is no un-ending.
   */
  end(): void {
    const v = this.view;
    if (Atomics.load(v, FLAGS) & ENDED) return;
    this.sendLock.lock(); // (a send publishes either before ENDED or not at all)
    try {
      Atomics.or(v, FLAGS, ENDED);
    } finally {
      this.sendLock.unlock();
    }
    Atomics.add(v, RECV_SEQ, 1);
    Atomics.add(v, SEND_SEQ, 1);
    this.impl.wake(v, RECV_SEQ, Infinity);
    this.impl.wake(v, SEND_SEQ, Infinity);
  }

  /** Messages it holds. */
  get capacity(): number {
    return this.cap;
  }

  /** The largest message, in bytes (encoded). */
  get maxMessageBytes(): number {
    return this.maxBytes;
  }

  /** Whether end() was called (by any handle). */
  get ended(): boolean {
    return (Atomics.load(this.view, FLAGS) & ENDED) !== 0;
  }

  /** Messages queued now (a snapshot). */
  get size(): number {
    const head = Atomics.load(this.view, HEAD); // (first: a head past the tail loaded would wrap)
    return Math.min(this.cap, this.distance(Atomics.load(this.view, TAIL), head));
  }

  /** @internal Before the memory is closed under pending async waits (NamedChannel#close). */
  protected releaseMemory(_lastInThread: boolean): void {
    this.dropSleepers(RECV_SLEEPERS);
    if (this.sendSleeping > 0 && !this.memoryClosed) Atomics.sub(this.view, SEND_SLEEPERS, this.sendSleeping);
    this.sendSleeping = 0;
  }

  private encode(message: T): Uint8Array {
    const bytes = this.codec.encode(message);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`Channel: the codec's encode returned ${describe(bytes)}`);
    if (bytes.length > this.maxBytes) {
      throw new RangeError(`Channel: a message of ${bytes.length} bytes is over maxMessageBytes ${this.maxBytes}`);
    }
    return bytes;
  }

  /** A sync receive (receive, receiveInto): the bytes taken, or undefined. */
  private receiveCall(call: Call, deadline: number): Uint8Array | undefined {
    call.deadline = deadline;
    call.out = undefined;
    if (!this.tryReceiveCall(call, true)) waitSync(this.impl, this.view, this.receiveSync, 0, deadline);
    return call.result >= 0 ? call.out : undefined;
  }

  private async receiveBytesAsync(options?: AsyncWaitOptions): Promise<Uint8Array | undefined> {
    const signal = checkAsyncWaitOptions(options);
    throwIfAborted(signal);
    const call = newCall(undefined, deadlineOf(options));
    // not ahead of this thread's own queued receives (FIFO)
    if (!this.recvTurns.idle || !this.tryReceiveCall(call, false)) {
      const p = this.receiveWait(call, false);
      await waitAsync(this.impl, this.view, p, 0, call.deadline, signal, this.recvTurns);
    }
    return call.result >= 0 ? call.out : undefined;
  }
}
