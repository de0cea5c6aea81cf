/* Async futex waits without blocking a JavaScript thread and without libuv's pool.
 *
 * Each JS thread (Node-API env) owns an fx_waiters: a few waiter threads, each blocked in
 * futex_waitv(2) on up to 127 watched words plus one private control word. A new wait
 * that needs a new slot bumps the control word, so its thread rebuilds its vector.
 * Completed waits are queued and handed to the JS thread through `notify` (shim/napi/futex.c
 * calls a thread-safe function), never by blocking it.
 *
 * A slot is one (address, expected value) pair; all JS waits on the same pair share it,
 * so 10,000 waits on one word cost one entry. When the kernel wakes the slot, or its word
 * no longer holds the expected value, every wait in it completes 'ok' (a spurious wake
 * for all but one, which the callers' loops absorb). A slot whose waits were all
 * cancelled but that the kernel woke before we stopped watching it passes the wake on
 * with FUTEX_WAKE(1), so a cancelled wait never swallows a wake meant for someone else.
 *
 * Lost-wake safety: a wait is added only after checking *addr == expected under `lock`
 * (waiter-api.c), and the thread checks every slot's word under `lock` after each return
 * from futex_waitv, whose own value check is atomic with going to sleep.
 *
 * Without futex_waitv (Linux < 5.16, or a seccomp profile that refuses it) the same
 * threads and the same loop below run in fallback mode, sleeping in FUTEX_WAIT_BITSET on
 * one word each: its protocol is at the top of waiter-fallback.c.
 *
 * This file: the waiter threads' loop and how they are kicked. The records they share with
 * waiter-fallback.c and waiter-api.c are in waiter-internal.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "waiter-internal.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

/* Make t rebuild its vector. Asleep on its control word, the changed word wakes it
 * race-free. Asleep on a watched word (fallback), it is woken by its bit, again until it
 * has been round: it may not have entered the kernel yet. Caller holds the lock. */
void fx_waiter_kick(fx_waiters *w, wthread *t) {
  __atomic_add_fetch(&t->ctl, 1, __ATOMIC_SEQ_CST);
  if (!t->in_wait || !t->sleep_addr) {
    fx_futex_wake_private(&t->ctl, 1);
    return;
  }
  fx_fallback_kick(w, t);
}

/* A slot leaves the vector without its word being read: after a cancel its memory may
 * already be unmapped. If the kernel may have woken it, the wake is passed on (a wake on
 * an unmapped address fails harmlessly with EFAULT). */
static void drop_slot(slot *s, int maybe_woken) {
  if (maybe_woken) pass_wake(s->addr);
  s->addr = NULL;
}

/* One sleep in futex_waitv on the vector: the index woken, or -1 with errno. Called with
 * the lock held; returns without it. */
static long sleep_waitv(fx_waiters *w, wthread *t, struct futex_waitv *v, int nv, int64_t deadline) {
  struct timespec ts = abs_ts(deadline);
  t->sleep_addr = NULL;
  t->sleep_deadline = deadline;
  t->in_wait = 1;
  pthread_mutex_unlock(&w->lock);
  return syscall(SYS_futex_waitv, v, nv, 0, deadline == INT64_MAX ? NULL : &ts, CLOCK_MONOTONIC);
}

/* Complete what one return from the sleep decided, for the vector's entries 1..nv-1. */
static void settle(fx_waiters *w, wthread *t, struct futex_waitv *v, const int *index, int nv, long ret, int failed) {
  int64_t now = now_ns();
  /* Slots appended while we slept are not in this vector: only entries < nv. The kernel
   * reports only the highest index it woke: entry `ret` was woken for sure; a lower
   * entry may have been too, but all the primitives change their word before they wake,
   * so a changed word stands for its wake (a raw FutexWord wake that changes nothing may
   * be missed: the README says so). */
  for (int e = 1; e < nv; e++) {
    slot *s = &t->slots[index[e]];
    int woken = ret == e;
    if (!s->addr) {
      /* Closed while we slept (close_range waits for this round, so the memory is still
       * mapped): a wake we may have taken for it must go on to another sleeper (any
       * entry <= ret may have been woken: an extra wake is harmless). */
      if (ret >= e) pass_wake((uint32_t *)(uintptr_t)v[e].uaddr);
      continue;
    }
    if (!s->waits) { /* all cancelled: never read it */
      drop_slot(s, ret >= e);
      continue;
    }
    if (failed) {
      complete_all(w, s, FX_FAILED);
      continue;
    }
    if (woken || load(s->addr) != s->expected) {
      complete_all(w, s, FX_OK);
      continue;
    }
    for (wait_rec **pp = &s->waits; *pp;) {
      wait_rec *r = *pp;
      if (r->deadline_ns <= now) {
        *pp = r->next;
        complete(w, r, FX_TIMED_OUT);
      } else {
        pp = &r->next;
      }
    }
  }
}

void *fx_waiter_run(void *arg) {
  wthread *t = arg;
  fx_waiters *w = t->owner;
  struct futex_waitv v[FUTEX_WAITV_MAX];
  int index[FUTEX_WAITV_MAX]; /* vector entry -> slot */
  pthread_mutex_lock(&w->lock);
  while (!w->stopping) {
    /* Compact: keep slots that have waits (only this thread removes slots, under the lock). */
    int n = 0;
    for (int i = 0; i < t->nslots; i++) {
      if (t->slots[i].addr && t->slots[i].waits) t->slots[n++] = t->slots[i];
    }
    t->nslots = n;
    /* Entry 0 is the control word. futex_waitv returns only the highest index it woke,
     * so every slot at an index <= the result may have been woken as well. */
    v[0] =
        (struct futex_waitv){.val = load(&t->ctl), .uaddr = (uintptr_t)&t->ctl, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG};
    int nv = 1;
    int64_t deadline = INT64_MAX;
    for (int i = 0; i < n; i++) {
      slot *s = &t->slots[i];
      v[nv] = (struct futex_waitv){.val = s->expected, .uaddr = (uintptr_t)s->addr, .flags = FUTEX_32};
      index[nv++] = i;
      for (wait_rec *r = s->waits; r; r = r->next)
        if (r->deadline_ns < deadline) deadline = r->deadline_ns;
    }
    int fallback = w->fallback;
    long ret = fallback ? fx_fallback_sleep(w, t, v, nv, deadline) : sleep_waitv(w, t, v, nv, deadline);
    int err = ret < 0 ? errno : 0;

    pthread_mutex_lock(&w->lock);
    t->in_wait = 0;
    t->rounds++;
    pthread_cond_broadcast(&w->round_done);
    if (w->stopping) break;
    if (!fallback && (err == ENOSYS || err == EPERM)) {
      /* futex_waitv went away (a seccomp filter installed since the probe): nothing was
       * watched this round, so nothing was absorbed; go on without it. */
      w->fallback = 1;
      continue;
    }
    /* Fallback: woken by what may have been a kick (see waiter-fallback.c) counts as a
     * signal, its wake passed on instead of completing the waits on it. */
    if (fallback && fx_fallback_kick_taken(t, v, nv, ret)) {
      ret = -1;
      err = EINTR;
    }
    /* Anything but a wake, a changed value, a timeout or a signal is an error. An EFAULT,
     * or any error after the vector changed under us (a segment closed between our
     * unlock and the syscall), just means: rebuild. Others (futex_waitv refused, say)
     * fail the waits after a few tries rather than spin on them. */
    int failed = ret < 0 && err != EAGAIN && err != ETIMEDOUT && err != EINTR;
    if (failed && (err == EFAULT || load(&t->ctl) != v[0].val) && t->retries < 16) failed = 0;
    t->retries = ret < 0 && err != EAGAIN && err != ETIMEDOUT && err != EINTR ? t->retries + 1 : 0;
    settle(w, t, v, index, nv, ret, failed);
    if (w->done && !w->notified) {
      w->notified = 1;
      w->notify(w->notify_arg);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int fx_waitv_supported(void) {
  /* An empty vector is EINVAL where futex_waitv exists; ENOSYS before Linux 5.16, EPERM
   * where a seccomp profile refuses it. */
  if (syscall(SYS_futex_waitv, NULL, 0, 0, NULL, CLOCK_MONOTONIC) < 0 && errno != EINVAL) return -errno;
  return 0;
}
