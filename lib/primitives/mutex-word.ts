/**
 * The Mutex's words: where they are, what the bits of its state word mean, and its kind
 * (how `fastipc inspect` shows them). The protocol over them is mutex.ts's, whose table
 * at the top is the reference.
 */
import { defineKind } from './kinds';
import { describeOwner, OWNER_FIELDS, ownerText } from './owner';

/** The Mutex's word indexes (int32, from byteOffset) and the bits of its state word (mutex.ts). */
export const MUTEX_WORDS = {
  STATE: 2,
  OWNER_PID: 3,
  OWNER_START_LO: 4,
  OWNER_START_HI: 5,
  OWNER_TID: 6,
  UNLOCKED: 0,
  TID_MASK: 0x0fffffff,
  HANDOFF: 0x10000000,
  OWNER_DIED: 0x20000000,
  WAITERS: 0x40000000,
} as const;
const { STATE, OWNER_PID, TID_MASK, HANDOFF, OWNER_DIED, WAITERS } = MUTEX_WORDS;

function stateText(state: number): string {
  const tid = state & TID_MASK;
  const parts = [tid ? `tid ${tid}` : 'unlocked'];
  if (state & HANDOFF) parts.push('HANDOFF');
  if (state & OWNER_DIED) parts.push('OWNER_DIED');
  if (state & WAITERS) parts.push('WAITERS');
  return parts.join(' | ');
}

export const MUTEX_KIND = defineKind({
  name: 'Mutex',
  tag: 'MUTX',
  bytes: 64,
  named: 'mutex',
  version: 2,
  fields: [{ name: 'state', meaning: stateText }, ...OWNER_FIELDS],
  decode: (w) => ({
    locked: (w[STATE] & TID_MASK) !== 0,
    ...describeOwner(w, OWNER_PID, w[STATE] & TID_MASK), // ownerPid, ownerTid, ownerAlive
    ownerDied: (w[STATE] & OWNER_DIED) !== 0,
    waiters: (w[STATE] & WAITERS) !== 0,
    ...(w[STATE] & HANDOFF ? { handoff: true } : {}), // only when set: the usual state keeps its fields
  }),
  describe: (s) =>
    (s.locked ? ownerText(s) : 'unlocked') +
    (s.waiters ? ', waiters' : '') +
    (s.handoff ? (s.locked ? ', to be handed to a waiter' : ', reserved for a waiter') : '') +
    (s.locked && s.ownerDied ? ', recovered from a dead owner' : ''),
});
