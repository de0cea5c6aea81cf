/* What the async waiter's three files share, and nothing outside them uses: the records of
 * waits, slots and waiter threads, and the small helpers they all call.
 *   waiter.c           the protocol, and the waiter threads' loop in futex_waitv(2)
 *   waiter-fallback.c  the same threads without futex_waitv: FUTEX_WAIT_BITSET on one word
 *   waiter-api.c       the fx_waiters_* calls of fastipc.h, made on the JS thread
 * Every field is read and written under fx_waiters.lock unless it says otherwise. */
#ifndef FASTIPC_WAITER_INTERNAL_H
#define FASTIPC_WAITER_INTERNAL_H
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "fastipc.h"

#define SLOTS_PER_THREAD (FUTEX_WAITV_MAX - 1) /* entry 0 is the control word */
#define FALLBACK_THREADS 64                    /* per JS thread, without futex_waitv */
#define POLL_MS 2                              /* fallback: a thread's slots after the first */
#define STACK_BYTES (256 * 1024)

/* A wait. Its completion is the record itself, queued as it is: completing allocates
 * nothing, so it cannot fail. */
typedef struct wait_rec {
  fx_completion c;       /* id, user, addr (the word, for passing on a wake it took) */
  int64_t deadline_ns;   /* CLOCK_MONOTONIC; INT64_MAX = none */
  struct wait_rec *next; /* in its slot */
} wait_rec;

typedef struct {
  uint32_t *addr; /* NULL: free */
  uint32_t expected;
  wait_rec *waits;
} slot;

typedef struct wthread {
  fx_waiters *owner;
  pthread_t thread;
  uint32_t ctl;           /* bumped to make the thread rebuild its vector */
  int in_wait;            /* inside futex_waitv (set and cleared under the lock) */
  uint32_t *sleep_addr;   /* fallback: the shared word it sleeps on; NULL: ctl */
  uint32_t kick_bit;      /* fallback: its FUTEX_WAKE_BITSET bit (never bit 31) */
  int64_t sleep_deadline; /* the deadline of its current sleep */
  int kick_hit;           /* fallback: a kick's wake woke someone during this sleep */
  int closing;            /* close_range: has a slot in the range being closed */
  uint64_t rounds;        /* returns from futex_waitv processed */
  int retries;            /* consecutive futex_waitv failures */
  int nslots;
  slot slots[SLOTS_PER_THREAD];
  struct wthread *next;
} wthread;

struct fx_waiters {
  pthread_mutex_t lock;
  pthread_cond_t round_done; /* a waiter thread finished a round (close_range waits) */
  wthread *threads;
  int nthreads;
  int fallback; /* no futex_waitv: plain FUTEX_WAIT per thread */
  int stopping;
  fx_completion *done; /* completions not yet taken by the JS thread, oldest first */
  fx_completion **done_tail;
  int notified; /* notify() called since the last take */
  void (*notify)(void *);
  void *notify_arg;
};

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline struct timespec abs_ts(int64_t ns) {
  return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

static inline uint32_t load(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

/* Pass a wake on to another sleeper on the word (EFAULT when unmapped: harmless). */
static inline void pass_wake(uint32_t *addr) { fx_futex_wake(addr, 1); }

/* Queue a completion; caller holds the lock. */
static inline void complete(fx_waiters *w, wait_rec *r, int code) {
  r->c.code = code;
  r->c.next = NULL;
  *w->done_tail = &r->c;
  w->done_tail = &r->c.next;
}

static inline void complete_all(fx_waiters *w, slot *s, int code) {
  for (wait_rec *r = s->waits, *next; r; r = next) {
    next = r->next;
    complete(w, r, code);
  }
  s->waits = NULL;
  s->addr = NULL;
}

/* waiter.c */
void *fx_waiter_run(void *arg);                 /* a waiter thread's body */
void fx_waiter_kick(fx_waiters *w, wthread *t); /* make t rebuild its vector; caller holds the lock */

/* waiter-fallback.c: the pieces of fx_waiter_run and fx_waiter_kick without futex_waitv */
long fx_fallback_sleep(fx_waiters *w, wthread *t, struct futex_waitv *v, int nv, int64_t deadline);
void fx_fallback_kick(fx_waiters *w, wthread *t);
int fx_fallback_kick_taken(wthread *t, const struct futex_waitv *v, int nv, long ret);
#endif
