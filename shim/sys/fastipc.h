/* fastipc's plain C over Linux syscalls: the interface of shim/sys/. No Node-API here
 * (that is shim/napi/). Every function returns >= 0 on success and -errno on failure. */
#ifndef FASTIPC_H
#define FASTIPC_H
#include <stddef.h>
#include <stdint.h>

struct timespec;

/* futex.c: non-private futexes, so words in MAP_SHARED memory work across processes
 * (the _private helpers are for words of this process only). The only file that makes
 * futex(2) calls. */
enum { FX_OK = 0, FX_NOT_EQUAL = 1, FX_TIMED_OUT = 2, FX_CLOSED = 3, FX_FAILED = 4 };
#define FX_SYNC_WAIT_BIT 0x80000000u /* the bitset of sync waits (see futex.c, waiter-fallback.c) */
int fx_futex_wait(uint32_t *word, uint32_t expected, double timeout_ms);
int fx_futex_wake(uint32_t *word, int count);
/* One FUTEX_WAIT_BITSET sleep, not retried: 0 when woken, else -errno (-EAGAIN: *word !=
 * expected; -ETIMEDOUT; -EINTR). deadline: absolute CLOCK_MONOTONIC, NULL for none. */
int fx_futex_wait_bitset(uint32_t *word, uint32_t expected, const struct timespec *deadline, uint32_t bitset,
                         int is_private);
/* Wakes up to count sleepers whose bitset shares a bit with `bitset`: how many, or -errno. */
int fx_futex_wake_bitset(uint32_t *word, int count, uint32_t bitset);
int fx_futex_wake_private(uint32_t *word, int count);

/* shm.c: MAP_SHARED mappings, tracked so that an explicit unmap and a later GC
 * finalizer never unmap twice (or unmap a newer mapping at the same address). */
typedef struct fx_mapping fx_mapping;
int fx_map(int fd, size_t size, fx_mapping **out, void **addr);
int fx_unmap(void *addr);                           /* -ENOENT: not ours, or already unmapped */
void fx_mapping_release(fx_mapping *m);             /* the ArrayBuffer's finalizer */
void *fx_mapping_addr(fx_mapping *m, size_t *size); /* NULL once unmapped */

/* waiter.c, waiter-fallback.c, waiter-api.c: async waits, completed on waiter threads in
 * futex_waitv(2), or without it in FUTEX_WAIT_BITSET (one word per thread). */
typedef struct fx_waiters fx_waiters;
typedef struct fx_completion {
  uint32_t id;
  int code;
  void *user;
  uint32_t *addr;
  struct fx_completion *next;
} fx_completion;
int fx_waitv_supported(void);           /* 0, or -ENOSYS / -EPERM */
int fx_waiters_fallback(fx_waiters *w); /* 1: without futex_waitv (plain FUTEX_WAIT per thread) */
fx_waiters *fx_waiters_new(void (*notify)(void *), void *arg);
/* 0 when added, FX_NOT_EQUAL when *addr != expected already, -errno on failure (-EAGAIN:
 * without futex_waitv, more distinct words than the fallback threads can watch) */
int fx_waiters_add(fx_waiters *w, uint32_t *addr, uint32_t expected, double timeout_ms, uint32_t id, void *user);
int fx_waiters_cancel(fx_waiters *w, uint32_t id, void **user); /* 1 if it was pending */
fx_completion *fx_waiters_take(fx_waiters *w);                  /* completed waits, oldest first */
void fx_completion_free(fx_completion *c);
void fx_waiters_close_range(fx_waiters *w, void *base, size_t len); /* completes FX_CLOSED */
void fx_waiters_free(fx_waiters *w, void (*drop)(void *user, void *arg), void *arg);

/* proc.c: identity and liveness of processes and threads. */
int fx_gettid(void);
int64_t fx_start_time(int pid, int tid); /* clock ticks since boot of /proc/pid/task/tid; -ESRCH for a zombie */
int fx_thread_exists(int pid, int tid);  /* tgkill(pid, tid, 0): 1 exists, 0 not, -errno */
int fx_flock(int fd, int op);            /* op: 0 unlock, 1 shared, 2 exclusive; | 4 non-blocking */

const char *fx_errno_name(int err);
#endif
