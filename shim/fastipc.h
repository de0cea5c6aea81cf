/* fastipc shim: plain C over Linux syscalls. No Node-API here (see binding.c).
 * Every function returns >= 0 on success and -errno on failure. */
#ifndef FASTIPC_H
#define FASTIPC_H
#include <stddef.h>
#include <stdint.h>

/* futex.c: non-private futexes, so words in MAP_SHARED memory work across processes. */
enum { FX_OK = 0, FX_NOT_EQUAL = 1, FX_TIMED_OUT = 2 };
int fx_futex_wait(uint32_t *word, uint32_t expected, double timeout_ms);
int fx_futex_wake(uint32_t *word, int count);

/* shm.c: MAP_SHARED mappings, tracked so that an explicit unmap and a later GC
 * finalizer never unmap twice (or unmap a newer mapping at the same address). */
typedef struct fx_mapping fx_mapping;
int fx_map(int fd, size_t size, fx_mapping **out, void **addr);
int fx_unmap(void *addr);                 /* -ENOENT: not ours, or already unmapped */
void fx_mapping_release(fx_mapping *m);   /* the ArrayBuffer's finalizer */

/* proc.c: identity and liveness of processes and threads. */
int fx_gettid(void);
int64_t fx_start_time(int pid, int tid);  /* clock ticks since boot of /proc/pid/task/tid */
int fx_flock(int fd, int op);             /* op: 0 unlock, 1 shared, 2 exclusive; | 4 non-blocking */

const char *fx_errno_name(int err);
#endif
