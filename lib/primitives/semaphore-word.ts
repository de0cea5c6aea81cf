/**
 * Semaphore: the words of a counting semaphore and the protocol over them. Waiters take a
 * token by CAS(count -> count-1); with none, they register as sleepers and sleep on the
 * count word while it is 0. post(n) adds n tokens and wakes min(n, sleepers) threads, and
 * makes no syscall when nobody sleeps (glibc's sem_t made ~1.4 futex calls per token
 * under a fast producer here; a registered-sleeper count made 58 per million).
 *
 * Words (int32, offsets in bytes from byteOffset):
 * | offset | field    | meaning                                                       |
 * |--------|----------|---------------------------------------------------------------|
 * | +0     | magic    | 'SEMA'                                                        |
 * | +4     | version  | layout version (1); 0 while being initialised                 |
 * | +8     | count    | the futex word: tokens available, 0 to 2^31-1                 |
 * | +12    | sleepers | threads in or about to enter a wait on count; 0 to 2^31-1     |
 * | +16    | handoff  | how many of the tokens are reserved for waiters that have     |
 * |        |          | slept (fairness, below); 0 to 2^31-1                          |
 * | +20    | starving | 1: a waiter has waited STARVE_MS since it first slept         |
 * | +24    | starvers | a wake sequence that starving waiters sleep on (fairness)     |
 * | +28..63| reserved | zero                                                          |
 *
 * Why no token can sit unused while a waiter sleeps: a sleeper increments `sleepers`
 * before it re-checks `count`, and post() adds to `count` before it reads `sleepers`;
 * Atomics are sequentially consistent, so either the sleeper sees the token or the
 * poster sees the sleeper and wakes it. A woken waiter takes a token if one is there
 * before it looks at its deadline; a waiter that still leaves without one while tokens
 * remain and others sleep wakes one of them in its place (a starver first), so a wake is
 * never absorbed. Where a wake misses a starver (below), the starver sees the token at the
 * end of its slice instead (up to RECHECK_MS once its slices have grown; a post() that
 * throws on overflow has already taken `starving` and wakes no one).
 *
 * Fairness (as the Mutex's HANDOFF): a waiter that has slept, has waited STARVE_MS since
 * it first slept and finds no token sets `starving`. The next post() clears it and reserves
 * one token (handoff += 1) before it adds to `count`. A newcomer (the fast path, tryWait,
 * spinners, a first attempt) takes a token only while count > handoff; a waiter that has
 * slept takes any, and takes one off `handoff` if it is non-zero. Since `handoff` grows
 * before `count` and both are sequentially consistent, a newcomer that sees the new count
 * sees the reservation. The reserved token goes to a sleeper, starvers first (below), then
 * the others in the order they slept. A sleeper that starved sets `starving` again as it
 * takes a reservation, so reserving goes on while waiters starve (as the Mutex keeps
 * HANDOFF). A reservation whose taker died or left is taken by another sleeper, or by a
 * newcomer after one HANDOFF_GRACE_MS sleep; the last sleeper to leave drops every
 * reservation.
 *
 * Starvers (wait.ts, STARVER_SLICE_MS; why: mutex-word.ts): a starving sync waiter that
 * finds count 0 reads `starvers` (its ticket), sets `starving`, loads count again and, if
 * it is still 0, sleeps while starvers == ticket. A post() that reserved, or that finds
 * `starving` set after its add, or a reservation not yet taken, wakes starvers first
 * (starvers += 1, then up to all of its wakes there) and the rest of its wakes on count.
 * The starver's second load saw 0, so it preceded the add; a post that reads `starving`
 * after its add sees the store, unless a post exchanged it meanwhile, and that one woke
 * starvers (maybe other ones: this one then waits out its slice at worst). Async waits
 * never sleep there (wait.ts says why); a starving one sets `starving` and sleeps on count.
 * This file holds the layout and the kind (how `fastipc inspect` shows the words);
 * semaphore.ts implements the protocol.
 * The layout stays version 1: `handoff`, `starving` and `starvers` were zero words, and a
 * fastipc that does not know them is merely unfair.
 */
import { defineKind } from './kinds';

/** The Semaphore's word indexes (int32, from byteOffset): semaphore.ts. */
export const SEMAPHORE_WORDS = { COUNT: 2, SLEEPERS: 3, HANDOFF: 4, STARVING: 5, STARVERS: 6 } as const;
const { COUNT, SLEEPERS, HANDOFF, STARVING } = SEMAPHORE_WORDS;

export const SEMAPHORE_KIND = defineKind({
  name: 'Semaphore',
  tag: 'SEMA',
  bytes: 64,
  named: 'semaphore',
  fields: [{ name: 'count' }, { name: 'sleepers' }, { name: 'handoff' }, { name: 'starving' }, { name: 'starvers' }],
  // (handoff and starving only when set: the usual state keeps its two fields)
  decode: (w) => ({
    count: w[COUNT],
    sleepers: w[SLEEPERS],
    ...(w[HANDOFF] ? { handoff: w[HANDOFF] } : {}),
    ...(w[STARVING] ? { starving: true } : {}),
  }),
  describe: (s) =>
    `count ${s.count}` +
    (s.handoff ? ` (${s.handoff} reserved for waiters)` : '') +
    (s.sleepers ? `, ${s.sleepers} waiting` : ''),
});
