/**
 * Channel: a bounded multi-producer multi-consumer message queue in shared memory. Its
 * layout, its guarantees and their proof sketch; channel.ts implements them.
 *
 * Layout (offsets in bytes from byteOffset; int32 words; lines of 64 bytes):
 * | offset   | field         | meaning                                                      |
 * |----------|---------------|--------------------------------------------------------------|
 * | +0       | magic         | 'CHAN'                                                       |
 * | +4       | version       | layout version (1); 0 while being initialised                |
 * | +8       | capacity      | messages it holds, 1 to 2^24                                 |
 * | +12      | maxBytes      | largest message, bytes, 0 to 2^30                            |
 * | +16      | slotBytes     | 4 + maxBytes rounded up to 4: one slot                       |
 * | +20      | flags         | bit 0 ENDED: end() was called                                |
 * | +24      | recvSeq       | futex word of receivers waiting for a message                |
 * | +28      | recvSleepers  | receivers in or about to enter a wait on recvSeq             |
 * | +32      | sendSeq       | futex word of senders waiting for room                       |
 * | +36      | sendSleepers  | senders in or about to enter a wait on sendSeq               |
 * | +64      | send lock     | a Mutex (kind CHLK): one sender at a time writes a slot      |
 * | +128     | receive lock  | a Mutex (kind CHLK): one receiver at a time reads a slot     |
 * | +192..+199 | (CONTINUED) | header.ts's marker of a later line                           |
 * | +200     | tail          | position of the next message to write, 0 to 2*capacity-1     |
 * | +204     | headSeen      | the senders' last look at head (written under the send lock) |
 * | +256..+263 | (CONTINUED) |                                                              |
 * | +264     | head          | position of the next message to read, 0 to 2*capacity-1      |
 * | +268     | tailSeen      | the receivers' last look at tail (under the receive lock)    |
 * | +320     | slots         | capacity slots: int32 length, then the message's bytes      |
 *
 * Positions run modulo 2*capacity, so full (tail - head = capacity) and empty (tail = head)
 * differ; a position's slot is position mod capacity. Tail and head are on lines of their
 * own, each with the other side's value as its side last saw it: a sender reads head only
 * when headSeen says full, a receiver reads tail only when tailSeen says empty. The seen
 * values live in shared memory, under their side's lock, so every sender (every receiver)
 * shares them: headSeen <= head <= tail and tail - headSeen <= capacity always hold, so the
 * modular differences are exact.
 *
 * Send (message m, encoded first: an encoding error or a size over maxBytes sends nothing):
 *   take the send lock; if ENDED: unlock, throw ERR_FASTIPC_CHANNEL_ENDED; if full by
 *   headSeen, load head into headSeen; if still full: unlock, FULL (wait below). Else write
 *   m's length and bytes into slot(tail), store tail+1 (the publication), unlock; if
 *   recvSleepers > 0: add 1 to recvSeq and wake one.
 * Receive: take the receive lock; if empty by tailSeen: load flags, then tail into
 *   tailSeen; still empty: unlock, and DRAINED if ENDED was seen, else EMPTY. Else copy
 *   slot(head) out, store head+1, unlock; if sendSleepers > 0: add 1 to sendSeq, wake one.
 * end(): take the send lock, set ENDED, unlock; add 1 to both seq words and wake everyone.
 *
 * Guarantees and why:
 * - Exactly once, whole, FIFO: the locks order the senders' publications and the receivers'
 *   takes; a slot is written only while it is free (tail - head < capacity) and read only
 *   once published (head < tail); the bytes are plain writes before the Atomics.store of
 *   tail that publishes them, and plain reads after the Atomics.load that sees it
 *   (sequentially consistent atomics order them). Each position is taken by the one receiver
 *   whose store moves head past it. A sender's messages take increasing positions, so every
 *   receiver sees a sender's messages in the order they were sent.
 * - A killed party never wedges the others: the locks are robust Mutexes (mutex-word.ts),
 *   taken over from a dead holder within about 200 ms. Nothing a lock holder does is
 *   visible before its single store of tail or head, so the state it leaves is consistent:
 *   a sender killed before its store of tail sent nothing (its half-written slot is free
 *   and written over by the next sender); after it, the message is whole and delivered. A
 *   receiver killed before its store of head took nothing: the next receiver gets the same
 *   message (it was never returned, so this is no duplicate). A message is lost only if its
 *   receiver is killed in the few instructions between that store and receive's return.
 *   A torn message is never delivered. Waits sleep in slices of 200 ms and look again, so
 *   a wake lost with a killed party (a sender killed between its store and its wake, a
 *   woken receiver killed before taking) costs at most a slice.
 * - No lost wake: a waiter counts itself in the sleepers word, then loads the seq word,
 *   then tries (loading flags and tail, or head, with Atomics), and sleeps on the seq value
 *   it loaded. The other side stores tail (head, flags) and then loads the sleepers word.
 *   Either it sees the waiter and changes seq after the waiter loaded it (the sleep returns
 *   at once or is woken), or the waiter's count comes after its load, so the waiter's try
 *   sees the store. No syscall on the uncontended path: the wake happens only when someone
 *   sleeps. (A process killed while counted as a sleeper leaves the count high: every send
 *   then also wakes, harmlessly, until the channel is made anew.)
 * - Async send and receive never block the event loop: their lock is only ever tried
 *   (with a short spin); while another party holds it they sleep (async) a short slice.
 *   No lock is held across an await, so a thread's sync and async calls never meet a lock
 *   of their own. A thread's async sends (receives) on one handle run in FIFO order
 *   (wait.ts's TurnQueue), so a thread's unawaited sendAsync calls keep their order.
 */
import { checkInteger } from '../core/validate';
import { checkCodec } from './codecs';
import { LINE } from './header';
import { defineKind } from './kinds';

/** Word indexes (int32) from byteOffset. */
export const CHANNEL_WORDS = {
  CAPACITY: 2,
  MAX_BYTES: 3,
  SLOT_BYTES: 4,
  FLAGS: 5,
  RECV_SEQ: 6,
  RECV_SLEEPERS: 7,
  SEND_SEQ: 8,
  SEND_SLEEPERS: 9,
  TAIL: 50, // +200
  HEAD_SEEN: 51,
  HEAD: 66, // +264
  TAIL_SEEN: 67,
} as const;
export const ENDED = 1;
/** Byte offsets of the two locks and of the first slot. */
export const SEND_LOCK = LINE;
export const RECV_LOCK = 2 * LINE;
export const SLOTS = 5 * LINE;
export const CAPACITY_MAX = 2 ** 24;
export const MAX_BYTES_MAX = 2 ** 30;
/** The largest Channel: 2^40 bytes (a TypedArray's limit is higher; memory runs out first). */
export const BYTES_MAX = 2 ** 40;

const { CAPACITY, MAX_BYTES, FLAGS, RECV_SLEEPERS, SEND_SLEEPERS } = CHANNEL_WORDS;

export const CHANNEL_KIND = defineKind({
  name: 'Channel',
  tag: 'CHAN',
  bytes: SLOTS, // the fixed part: its slots come on top (bytesFor)
  named: 'channel',
  fields: [
    { name: 'capacity' },
    { name: 'maxMessageBytes' },
    { name: 'slotBytes' },
    { name: 'flags', meaning: (v) => (v & ENDED ? 'ended' : 'open') },
    { name: 'receiveSeq' },
    { name: 'receivers waiting' },
    { name: 'sendSeq' },
    { name: 'senders waiting' },
  ],
  decode: (w) => ({
    capacity: w[CAPACITY],
    maxMessageBytes: w[MAX_BYTES],
    ended: (w[FLAGS] & ENDED) !== 0,
    receiversWaiting: w[RECV_SLEEPERS],
    sendersWaiting: w[SEND_SLEEPERS],
  }),
  describe: (s) =>
    `capacity ${s.capacity} x ${s.maxMessageBytes} bytes` +
    (s.ended ? ', ended' : '') +
    (s.receiversWaiting ? `, ${s.receiversWaiting} receiving` : '') +
    (s.sendersWaiting ? `, ${s.sendersWaiting} sending` : ''),
});

/** The locks: Mutexes of a kind of their own, so that no Mutex attaches to a Channel's lines. */
export const CHANNEL_LOCK_KIND = defineKind({
  name: 'Channel lock',
  tag: 'CHLK',
  bytes: 64,
  named: 'channel-lock',
  part: true,
  fields: [],
  decode: () => ({}),
  describe: () => 'part of a Channel',
});

/** Bytes of one slot: the length word, then maxBytes rounded up to a multiple of 4. */
export function slotBytesOf(maxBytes: number): number {
  return 4 + Math.ceil(maxBytes / 4) * 4;
}

/** Bytes a Channel of this shape takes, a multiple of 64. */
export function channelBytes(capacity: number, maxBytes: number): number {
  return Math.ceil((SLOTS + capacity * slotBytesOf(maxBytes)) / LINE) * LINE;
}

/** @internal The shape options, checked; either may be missing (attaching). */
export function channelShape(options: { capacity?: unknown; maxMessageBytes?: unknown }): {
  capacity?: number;
  maxMessageBytes?: number;
} {
  const shape = {
    capacity: options.capacity === undefined ? undefined : checkInteger(options.capacity, 'capacity', 1, CAPACITY_MAX),
    maxMessageBytes:
      options.maxMessageBytes === undefined
        ? undefined
        : checkInteger(options.maxMessageBytes, 'maxMessageBytes', 0, MAX_BYTES_MAX),
  };
  if (shape.capacity !== undefined && shape.maxMessageBytes !== undefined) {
    const bytes = channelBytes(shape.capacity, shape.maxMessageBytes);
    if (bytes > BYTES_MAX) {
      throw new RangeError(
        `capacity ${shape.capacity} x maxMessageBytes ${shape.maxMessageBytes} takes ${bytes} bytes, over ${BYTES_MAX}`,
      );
    }
  }
  return shape;
}

/** @internal A NamedChannel needs both (its segment's size): checked before the segment is opened. */
export function namedChannelShape(options: { capacity?: unknown; maxMessageBytes?: unknown; codec?: unknown }): void {
  checkCodec(options.codec);
  const { capacity, maxMessageBytes } = channelShape(options);
  if (capacity === undefined || maxMessageBytes === undefined) {
    throw new TypeError('NamedChannel: options.capacity and options.maxMessageBytes are required');
  }
}
