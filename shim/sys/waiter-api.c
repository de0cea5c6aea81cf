/* The fx_waiters_* calls of fastipc.h, all made on the JS thread: starting the waiters and
 * their threads, adding a wait (checked against its word under the lock, then placed in a
 * slot), cancelling one, taking the completed ones, closing the waits on memory about to
 * be unmapped, and tearing everything down. The protocol they keep is at the top of
 * waiter.c (and, without futex_waitv, of waiter-fallback.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "waiter-internal.h"

int fx_waiters_fallback(fx_waiters *w) {
  pthread_mutex_lock(&w->lock);
  int f = w->fallback;
  pthread_mutex_unlock(&w->lock);
  return f;
}
fx_waiters *fx_waiters_new(void (*notify)(void *), void *arg) {
  fx_waiters *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* fx_fallback_kick's timed waits */
  pthread_cond_init(&w->round_done, &ca);
  pthread_condattr_destroy(&ca);
  w->fallback = fx_waitv_supported() < 0;
  w->done_tail = &w->done;
  w->notify = notify;
  w->notify_arg = arg;
  return w;
}

static wthread *start_thread(fx_waiters *w) {
  wthread *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->owner = w;
  /* Spread over bits 0-30, across processes too: a kick that also reaches another
   * process's thread on the same word and bit is a spurious wake there. */
  static uint32_t started;
  t->kick_bit = 1u << (((uint32_t)getpid() * 7u + __atomic_fetch_add(&started, 1, __ATOMIC_RELAXED)) % 31u);
  t->sleep_deadline = INT64_MAX;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, STACK_BYTES);
  int rc = pthread_create(&t->thread, &attr, fx_waiter_run, t);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    free(t);
    return NULL;
  }
  t->next = w->threads;
  w->threads = t;
  w->nthreads++;
  return t;
}

int fx_waiters_add(fx_waiters *w, uint32_t *addr, uint32_t expected, double timeout_ms, uint32_t id, void *user) {
  wait_rec *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->c.id = id;
  r->c.user = user;
  r->c.addr = addr;
  r->deadline_ns = INT64_MAX;
  if (!(timeout_ms >= 0)) timeout_ms = 0;
  if (!isinf(timeout_ms) && timeout_ms < 1e12) r->deadline_ns = now_ns() + (int64_t)(timeout_ms * 1e6);

  pthread_mutex_lock(&w->lock);
  if (load(addr) != expected) {
    pthread_mutex_unlock(&w->lock);
    free(r);
    return FX_NOT_EQUAL;
  }
  /* Join the slot for (addr, expected) if one exists, else take a free one: with
   * futex_waitv, in the first thread with room (else a new thread); without, in an idle
   * thread, else a new one while there are fewer than FALLBACK_THREADS, else in the one
   * with the fewest slots (where it is polled). A thread that cannot be started leaves
   * the slot to a thread with room, if any. */
  int rc = -ENOMEM;
  wthread *home = NULL, *room = NULL;
  slot *s = NULL;
  for (wthread *t = w->threads; t && !s; t = t->next) {
    for (int i = 0; i < t->nslots; i++) {
      if (t->slots[i].addr == addr && t->slots[i].expected == expected) {
        s = &t->slots[i];
        home = t;
        break;
      }
    }
    if (t->nslots < SLOTS_PER_THREAD && (!room || (w->fallback && t->nslots < room->nslots))) room = t;
  }
  int fresh = !s;
  if (!s) {
    int may_start = !w->fallback || w->nthreads < FALLBACK_THREADS;
    if (may_start && (!room || (w->fallback && room->nslots > 0))) {
      wthread *started = start_thread(w);
      if (started) room = started;
    }
    if (!room) {
      if (!may_start) rc = -EAGAIN;
      goto fail;
    }
    home = room;
    s = &room->slots[room->nslots++];
    s->addr = addr;
    s->expected = expected;
    s->waits = NULL;
  }
  r->next = s->waits;
  s->waits = r;
  /* A new slot, or a deadline earlier than the one the thread sleeps to: make it rebuild
   * (a thread not asleep rebuilds anyway before it sleeps again). */
  if (fresh || (home->in_wait && r->deadline_ns < home->sleep_deadline)) fx_waiter_kick(w, home);
  pthread_mutex_unlock(&w->lock);
  return 0;
fail:
  pthread_mutex_unlock(&w->lock);
  free(r);
  return rc;
}

int fx_waiters_cancel(fx_waiters *w, uint32_t id, void **user) {
  int found = 0;
  pthread_mutex_lock(&w->lock);
  for (wthread *t = w->threads; t && !found; t = t->next) {
    for (int i = 0; i < t->nslots && !found; i++) {
      for (wait_rec **pp = &t->slots[i].waits; *pp; pp = &(*pp)->next) {
        if ((*pp)->c.id == id) {
          wait_rec *r = *pp;
          *pp = r->next;
          *user = r->c.user;
          free(r);
          found = 1;
          if (!t->slots[i].waits) fx_waiter_kick(w, t); /* stop watching the word: see drop_slot in waiter.c */
          break;
        }
      }
    }
  }
  pthread_mutex_unlock(&w->lock);
  return found;
}

fx_completion *fx_waiters_take(fx_waiters *w) {
  pthread_mutex_lock(&w->lock);
  fx_completion *list = w->done;
  w->done = NULL;
  w->done_tail = &w->done;
  w->notified = 0;
  pthread_mutex_unlock(&w->lock);
  return list;
}

void fx_completion_free(fx_completion *c) { free((wait_rec *)c); /* c is its record's first member */ }

void fx_waiters_close_range(fx_waiters *w, void *base, size_t len) {
  uintptr_t lo = (uintptr_t)base, hi = lo + len;
  pthread_mutex_lock(&w->lock);
  int any = 0;
  /* First every slot on the memory, in every thread, before the lock is let go (kick and
   * the round waits below let it go): no wait on it can complete 'ok' after this. */
  for (wthread *t = w->threads; t; t = t->next) {
    t->closing = 0;
    /* (also empty slots: their wait was cancelled, but the kernel may have woken them) */
    for (int i = 0; i < t->nslots; i++) {
      uintptr_t a = (uintptr_t)t->slots[i].addr;
      if (a >= lo && a < hi) {
        /* The memory is still mapped: pass on a wake the slot may have absorbed, so a
         * sleeper in another process never sleeps on with its condition true. */
        pass_wake(t->slots[i].addr);
        complete_all(w, &t->slots[i], FX_CLOSED);
        t->closing = any = 1;
      }
    }
  }
  /* Waits that completed but have not reached JavaScript yet: if one took a wake, that
   * wake must go on before the memory goes. */
  for (fx_completion *c = w->done; c; c = c->next) {
    uintptr_t a = (uintptr_t)c->addr;
    if (a >= lo && a < hi && c->code == FX_OK) pass_wake(c->addr);
  }
  for (wthread *t = w->threads; t; t = t->next) {
    if (!t->closing) continue;
    /* Until the thread leaves futex_waitv, its kernel entry for the word can still take
     * a wake: wait for that round to end (it passes such a wake on, see fx_waiter_run). */
    uint64_t round = t->rounds;
    fx_waiter_kick(w, t);
    while (t->in_wait && t->rounds == round && !w->stopping) pthread_cond_wait(&w->round_done, &w->lock);
  }
  if (any && w->done && !w->notified) {
    w->notified = 1;
    w->notify(w->notify_arg);
  }
  pthread_mutex_unlock(&w->lock);
}

void fx_waiters_free(fx_waiters *w, void (*drop)(void *user, void *arg), void *arg) {
  pthread_mutex_lock(&w->lock);
  w->stopping = 1;
  for (wthread *t = w->threads; t; t = t->next) fx_waiter_kick(w, t);
  pthread_mutex_unlock(&w->lock);
  for (wthread *t = w->threads, *next; t; t = next) {
    next = t->next;
    pthread_join(t->thread, NULL);
    for (int i = 0; i < t->nslots; i++) {
      /* The thread (a worker, say) is going away with waits pending; any of them may have
       * absorbed a wake meant to hand over a token or a lock: pass one on per word. The
       * memory may already be gone; then the wake fails harmlessly with EFAULT. */
      if (t->slots[i].addr) pass_wake(t->slots[i].addr);
      for (wait_rec *r = t->slots[i].waits, *rn; r; r = rn) {
        rn = r->next;
        drop(r->c.user, arg);
        free(r);
      }
    }
    free(t);
  }
  for (fx_completion *c = w->done, *next; c; c = next) {
    next = c->next;
    if (c->code == FX_OK) pass_wake(c->addr);
    drop(c->user, arg);
    fx_completion_free(c);
  }
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->round_done);
  free(w);
}
