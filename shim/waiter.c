/* Async futex waits without blocking a JavaScript thread and without libuv's pool.
 *
 * Each JS thread (Node-API env) owns an fx_waiters: a few waiter threads, each blocked in
 * futex_waitv(2) on up to 127 watched words plus one private control word. A new wait
 * that needs a new slot bumps the control word, so its thread rebuilds its vector.
 * Completed waits are queued and handed to the JS thread through `notify` (binding.c
 * calls a thread-safe function), never by blocking it.
 *
 * A slot is one (address, expected value) pair; all JS waits on the same pair share it,
 * so 10,000 waits on one word cost one entry. When the kernel wakes the slot, or its word
 * no longer holds the expected value, every wait in it completes 'ok' (a spurious wake
 * for all but one, which the callers' loops absorb). A slot whose waits were all
 * cancelled but that the kernel woke before we stopped watching it passes the wake on
 * with FUTEX_WAKE(1), so a cancelled wait never swallows a wake meant for someone else.
 *
 * Lost-wake safety: a wait is added only after checking *addr == expected under `lock`,
 * and the thread checks every slot's word under `lock` after each return from
 * futex_waitv, whose own value check is atomic with going to sleep.
 *
 * Without futex_waitv (Linux < 5.16, or a seccomp profile that refuses it: ENOSYS or
 * EPERM, found by a probe at start or on any later call) the same threads run in
 * fallback mode: each sleeps in plain FUTEX_WAIT_BITSET on the word of its first slot
 * (or, with no slot, on its control word). A new slot goes to an idle thread, or a new
 * one, up to FALLBACK_THREADS per JS thread; past that, slots join the thread with the
 * fewest, which then also looks at its other words every POLL_MS (a degraded mode: their
 * wakes arrive up to POLL_MS late, none is lost, since a polled word has no kernel entry
 * of ours to absorb a wake). To make such a thread rebuild (a new earlier deadline, a
 * cancel, a close) it is woken by its own bit: FUTEX_WAKE_BITSET on its word with
 * kick_bit, repeated until it has been round, since a wake sent before it entered the
 * kernel would be lost. Sync waits (futex.c) sleep on bit 31 only, which no kick uses;
 * every ordinary FUTEX_WAKE matches all bits. A thread that returns woken while a kick's
 * wake reached someone (kick_hit) cannot tell the kick from a real wake: when its word
 * is unchanged it passes a wake on instead of completing its waits (an extra wake is
 * harmless; a swallowed one is not). If no kick's wake reached anyone, the wake was real.
 */
#define _GNU_SOURCE
#include "fastipc.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

#define SLOTS_PER_THREAD (FUTEX_WAITV_MAX - 1)  /* entry 0 is the control word */
#define FALLBACK_THREADS 64                       /* per JS thread, without futex_waitv */
#define POLL_MS 2                                 /* fallback: a thread's slots after the first */
#define STACK_BYTES (256 * 1024)

/* A wait. Its completion is the record itself, queued as it is: completing allocates
 * nothing, so it cannot fail. */
typedef struct wait_rec {
  fx_completion c;              /* id, user, addr (the word, for passing on a wake it took) */
  int64_t deadline_ns;          /* CLOCK_MONOTONIC; INT64_MAX = none */
  struct wait_rec *next;        /* in its slot */
} wait_rec;

typedef struct {
  uint32_t *addr;               /* NULL: free */
  uint32_t expected;
  wait_rec *waits;
} slot;

typedef struct wthread {
  fx_waiters *owner;
  pthread_t thread;
  uint32_t ctl;                 /* bumped to make the thread rebuild its vector */
  int in_wait;                  /* inside futex_waitv (set and cleared under the lock) */
  uint32_t *sleep_addr;         /* fallback: the shared word it sleeps on; NULL: ctl */
  uint32_t kick_bit;            /* fallback: its FUTEX_WAKE_BITSET bit (never bit 31) */
  int64_t sleep_deadline;       /* the deadline of its current sleep */
  int kick_hit;                 /* fallback: a kick's wake woke someone during this sleep */
  int closing;                  /* close_range: has a slot in the range being closed */
  uint64_t rounds;              /* returns from futex_waitv processed */
  int retries;                  /* consecutive futex_waitv failures */
  int nslots;
  slot slots[SLOTS_PER_THREAD];
  struct wthread *next;
} wthread;

struct fx_waiters {
  pthread_mutex_t lock;
  pthread_cond_t round_done;    /* a waiter thread finished a round (close_range waits) */
  wthread *threads;
  int nthreads;
  int fallback;                 /* no futex_waitv: plain FUTEX_WAIT per thread */
  int stopping;
  fx_completion *done;          /* completions not yet taken by the JS thread, oldest first */
  fx_completion **done_tail;
  int notified;                 /* notify() called since the last take */
  void (*notify)(void *);
  void *notify_arg;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t load(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

static void wake_private(uint32_t *p) { syscall(SYS_futex, p, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3) {
  return syscall(SYS_futex, word, op, val, ts, NULL, val3);
}

/* Make t rebuild its vector. Asleep on its control word, the changed word wakes it
 * race-free. Asleep on a watched word (fallback), it is woken by its bit, again until it
 * has been round: it may not have entered the kernel yet. Caller holds the lock. */
static void kick(fx_waiters *w, wthread *t) {
  __atomic_add_fetch(&t->ctl, 1, __ATOMIC_SEQ_CST);
  if (!t->in_wait || !t->sleep_addr) {
    wake_private(&t->ctl);
    return;
  }
  uint64_t round = t->rounds;
  while (t->in_wait && t->rounds == round) {
    /* A wake that reached someone has most likely reached t (others with its bit on the
     * same word are rare): give t time to come round before sending another. */
    if (futex(t->sleep_addr, FUTEX_WAKE_BITSET, INT_MAX, NULL, t->kick_bit) > 0) t->kick_hit = 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += t->kick_hit ? 5000000 : 200000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&w->round_done, &w->lock, &ts);
  }
}

/* Pass a wake on to another sleeper on the word (EFAULT when unmapped: harmless). */
static void pass_wake(uint32_t *addr) { fx_futex_wake(addr, 1); }

/* Queue a completion; caller holds the lock. */
static void complete(fx_waiters *w, wait_rec *r, int code) {
  r->c.code = code;
  r->c.next = NULL;
  *w->done_tail = &r->c;
  w->done_tail = &r->c.next;
}

static void complete_all(fx_waiters *w, slot *s, int code) {
  for (wait_rec *r = s->waits, *next; r; r = next) {
    next = r->next;
    complete(w, r, code);
  }
  s->waits = NULL;
  s->addr = NULL;
}

/* A slot leaves the vector without its word being read: after a cancel its memory may
 * already be unmapped. If the kernel may have woken it, the wake is passed on (a wake on
 * an unmapped address fails harmlessly with EFAULT). */
static void drop_slot(slot *s, int maybe_woken) {
  if (maybe_woken) pass_wake(s->addr);
  s->addr = NULL;
}

static struct timespec abs_ts(int64_t ns) { return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}; }

/* Fallback: sleep on one word like futex_waitv on the vector, returning what it would
 * (the index woken, or -1 with errno): entry 1 (the first slot) in the kernel, the
 * control word by its value, the other slots by looking again every POLL_MS. Called with
 * the lock held; returns without it. */
static long sleep_one(fx_waiters *w, wthread *t, struct futex_waitv *v, int nv, int64_t deadline) {
  if (nv == 1) {
    t->sleep_addr = NULL;
    t->sleep_deadline = deadline;
    t->in_wait = 1;
    pthread_mutex_unlock(&w->lock);
    struct timespec ts = abs_ts(deadline);
    long r = futex(&t->ctl, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, (uint32_t)v[0].val,
                   deadline == INT64_MAX ? NULL : &ts, FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : -1;
  }
  if (nv > 2 && now_ns() + POLL_MS * 1000000LL < deadline) deadline = now_ns() + POLL_MS * 1000000LL;
  uint32_t *addr = (uint32_t *)(uintptr_t)v[1].uaddr;
  t->sleep_addr = addr;
  t->sleep_deadline = deadline;
  t->kick_hit = 0;
  t->in_wait = 1;
  pthread_mutex_unlock(&w->lock);
  if (load(&t->ctl) != v[0].val) {  /* kicked already: no need to sleep */
    errno = EAGAIN;
    return -1;
  }
  struct timespec ts = abs_ts(deadline);
  long r = futex(addr, FUTEX_WAIT_BITSET, (uint32_t)v[1].val, deadline == INT64_MAX ? NULL : &ts, t->kick_bit);
  return r == 0 ? 1 : -1;
}

static void *run(void *arg) {
  wthread *t = arg;
  fx_waiters *w = t->owner;
  struct futex_waitv v[FUTEX_WAITV_MAX];
  int index[FUTEX_WAITV_MAX];  /* vector entry -> slot */
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
    v[0] = (struct futex_waitv){.val = load(&t->ctl), .uaddr = (uintptr_t)&t->ctl, .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG};
    int nv = 1;
    int64_t deadline = INT64_MAX;
    for (int i = 0; i < n; i++) {
      slot *s = &t->slots[i];
      v[nv] = (struct futex_waitv){.val = s->expected, .uaddr = (uintptr_t)s->addr, .flags = FUTEX_32};
      index[nv++] = i;
      for (wait_rec *r = s->waits; r; r = r->next)
        if (r->deadline_ns < deadline) deadline = r->deadline_ns;
    }
    long ret;
    int fallback = w->fallback;
    if (fallback) {
      ret = sleep_one(w, t, v, nv, deadline);
    } else {
      struct timespec ts = abs_ts(deadline);
      t->sleep_addr = NULL;
      t->sleep_deadline = deadline;
      t->in_wait = 1;
      pthread_mutex_unlock(&w->lock);
      ret = syscall(SYS_futex_waitv, v, nv, 0, deadline == INT64_MAX ? NULL : &ts, CLOCK_MONOTONIC);
    }
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
    /* (This reads v[1]'s word even if its slot was cancelled meanwhile: still mapped, since
     * a cancel, like a close, kicks a thread asleep on a word and waits for its round.)
     * Fallback: woken while a kick's wake reached someone, with the word unchanged, may
     * have been the kick: pass the wake on rather than complete on it (see the top of the
     * file). A kick whose wakes reached nobody cannot have woken us: that was a real wake. */
    if (fallback && ret == 1 && t->kick_hit && nv > 1 &&
        load((uint32_t *)(uintptr_t)v[1].uaddr) == v[1].val) {
      pass_wake((uint32_t *)(uintptr_t)v[1].uaddr);
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
      if (!s->waits) {                                /* all cancelled: never read it */
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
    if (w->done && !w->notified) {
      w->notified = 1;
      w->notify(w->notify_arg);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int fx_waiters_fallback(fx_waiters *w) {
  pthread_mutex_lock(&w->lock);
  int f = w->fallback;
  pthread_mutex_unlock(&w->lock);
  return f;
}

int fx_waitv_supported(void) {
  /* An empty vector is EINVAL where futex_waitv exists; ENOSYS before Linux 5.16, EPERM
   * where a seccomp profile refuses it. */
  if (syscall(SYS_futex_waitv, NULL, 0, 0, NULL, CLOCK_MONOTONIC) < 0 && errno != EINVAL) return -errno;
  return 0;
}

fx_waiters *fx_waiters_new(void (*notify)(void *), void *arg) {
  fx_waiters *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);  /* kick()'s timed waits */
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
  int rc = pthread_create(&t->thread, &attr, run, t);
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
  if (fresh || (home->in_wait && r->deadline_ns < home->sleep_deadline)) kick(w, home);
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
          if (!t->slots[i].waits) kick(w, t);  /* stop watching the word: see the pass-on above */
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
     * a wake: wait for that round to end (it passes such a wake on, see run()). */
    uint64_t round = t->rounds;
    kick(w, t);
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
  for (wthread *t = w->threads; t; t = t->next) kick(w, t);
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
