/* The waiter threads without futex_waitv: one word per thread, in FUTEX_WAIT_BITSET.
 *
 * Without futex_waitv (Linux < 5.16, or a seccomp profile that refuses it: ENOSYS or
 * EPERM, found by a probe at start or on any later call) the same threads run in
 * fallback mode: each sleeps in plain FUTEX_WAIT_BITSET on the word of its first slot
 * (or, with no slot, on its control word). A new slot goes to an idle thread, or a new
 * one, up to FALLBACK_THREADS per JS thread (waiter-api.c); past that, slots join the
 * thread with the fewest, which then also looks at its other words every POLL_MS (a
 * degraded mode: their wakes arrive up to POLL_MS late, none is lost, since a polled word
 * has no kernel entry of ours to absorb a wake). To make such a thread rebuild (a new
 * earlier deadline, a cancel, a close) it is woken by its own bit: FUTEX_WAKE_BITSET on
 * its word with kick_bit, repeated until it has been round, since a wake sent before it
 * entered the kernel would be lost. Sync waits (futex.c) sleep on bit 31 only, which no
 * kick uses; every ordinary FUTEX_WAKE matches all bits. A thread that returns woken while
 * a kick's wake reached someone (kick_hit) cannot tell the kick from a real wake: when its
 * word is unchanged it passes a wake on instead of completing its waits (an extra wake is
 * harmless; a swallowed one is not). If no kick's wake reached anyone, the wake was real.
 *
 * The loop that calls these is fx_waiter_run (waiter.c); every futex call goes through
 * futex.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "waiter-internal.h"

/* The waiting half of fx_waiter_kick, for t asleep on a watched word: wake it by its bit
 * until it has been round. Caller holds the lock (the timed waits let it go). */
void fx_fallback_kick(fx_waiters *w, wthread *t) {
  uint64_t round = t->rounds;
  while (t->in_wait && t->rounds == round) {
    /* A wake that reached someone has most likely reached t (others with its bit on the
     * same word are rare): give t time to come round before sending another. */
    if (fx_futex_wake_bitset(t->sleep_addr, INT_MAX, t->kick_bit) > 0) t->kick_hit = 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += t->kick_hit ? 5000000 : 200000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&w->round_done, &w->lock, &ts);
  }
}

/* Sleep on one word like futex_waitv on the vector, returning what it would (the index
 * woken, or -1 with errno): entry 1 (the first slot) in the kernel, the control word by
 * its value, the other slots by looking again every POLL_MS. Called with the lock held;
 * returns without it. */
long fx_fallback_sleep(fx_waiters *w, wthread *t, struct futex_waitv *v, int nv, int64_t deadline) {
  if (nv == 1) {
    t->sleep_addr = NULL;
    t->sleep_deadline = deadline;
    t->in_wait = 1;
    pthread_mutex_unlock(&w->lock);
    struct timespec ts = abs_ts(deadline);
    int rc = fx_futex_wait_bitset(&t->ctl, (uint32_t)v[0].val, deadline == INT64_MAX ? NULL : &ts,
                                  FUTEX_BITSET_MATCH_ANY, 1);
    if (rc == 0) return 0;
    errno = -rc;
    return -1;
  }
  if (nv > 2 && now_ns() + POLL_MS * 1000000LL < deadline) deadline = now_ns() + POLL_MS * 1000000LL;
  uint32_t *addr = (uint32_t *)(uintptr_t)v[1].uaddr;
  t->sleep_addr = addr;
  t->sleep_deadline = deadline;
  t->kick_hit = 0;
  t->in_wait = 1;
  pthread_mutex_unlock(&w->lock);
  if (load(&t->ctl) != v[0].val) { /* kicked already: no need to sleep */
    errno = EAGAIN;
    return -1;
  }
  struct timespec ts = abs_ts(deadline);
  int rc = fx_futex_wait_bitset(addr, (uint32_t)v[1].val, deadline == INT64_MAX ? NULL : &ts, t->kick_bit, 0);
  if (rc == 0) return 1;
  errno = -rc;
  return -1;
}

/* After a return from fx_fallback_sleep (ret), under the lock: 1 when the wake on entry 1
 * may have been a kick and has been passed on, so the round must not complete on it.
 * Woken while a kick's wake reached someone, with the word unchanged, may have been the
 * kick: pass the wake on rather than complete on it (see the top of the file). A kick
 * whose wakes reached nobody cannot have woken us: that was a real wake. (This reads
 * v[1]'s word even if its slot was cancelled meanwhile: still mapped, since a cancel, like
 * a close, kicks a thread asleep on a word and waits for its round.) */
int fx_fallback_kick_taken(wthread *t, const struct futex_waitv *v, int nv, long ret) {
  if (ret == 1 && t->kick_hit && nv > 1 && load((uint32_t *)(uintptr_t)v[1].uaddr) == v[1].val) {
    pass_wake((uint32_t *)(uintptr_t)v[1].uaddr);
    return 1;
  }
  return 0;
}
