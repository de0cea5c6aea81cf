/* futex(2) wait and wake on a 32-bit word: every futex(2) call of the shim is made here.
 *
 * The OS contract: atomically, if *word == expected, sleep until woken or the
 * deadline passes; may wake spuriously. Callers re-check their condition.
 *
 * The wait uses FUTEX_WAIT_BITSET, whose timeout is an absolute CLOCK_MONOTONIC
 * deadline: a retry after EINTR keeps the same deadline, so a signal neither cuts
 * the timeout short nor stretches it (plain FUTEX_WAIT takes a relative timeout).
 * Never FUTEX_PRIVATE_FLAG: the word may live in memory shared between processes.
 * Sync waits sleep on bitset bit 31 alone: FUTEX_WAKE matches every bit, and the async
 * waiter threads' targeted kicks (waiter-fallback.c, bits 0-30) never disturb a sync
 * sleeper. The waiter threads' own sleeps and wakes use the single-shot bitset helpers
 * at the end, which leave retrying and deadlines to their caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "fastipc.h"

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3) {
  return syscall(SYS_futex, word, op, val, ts, NULL, val3);
}

int fx_futex_wait(uint32_t *word, uint32_t expected, double timeout_ms) {
  struct timespec deadline, *ts = NULL;
  if (!(timeout_ms >= 0)) timeout_ms = 0;        /* NaN and negatives: JS validates; be safe */
  if (!isinf(timeout_ms) && timeout_ms < 1e15) { /* ~31,000 years: beyond that, forever */
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    double whole = floor(timeout_ms / 1000.0);
    long nsec = (long)((timeout_ms - whole * 1000.0) * 1e6);
    deadline.tv_sec += (time_t)whole;
    deadline.tv_nsec += nsec;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1000000000L;
    }
    ts = &deadline;
  }
  int interrupted = 0;
  for (;;) {
    if (futex(word, FUTEX_WAIT_BITSET, expected, ts, FX_SYNC_WAIT_BIT) == 0) return FX_OK;
    switch (errno) {
      case EINTR: interrupted = 1; continue;
      /* After an EINTR the value may have moved on: that is a wake, not a mismatch. */
      case EAGAIN: return interrupted ? FX_OK : FX_NOT_EQUAL;
      case ETIMEDOUT: return FX_TIMED_OUT;
      default: return -errno;
    }
  }
}

int fx_futex_wake(uint32_t *word, int count) {
  long n = futex(word, FUTEX_WAKE, (uint32_t)count, NULL, 0);
  return n < 0 ? -errno : (int)n;
}

int fx_futex_wait_bitset(uint32_t *word, uint32_t expected, const struct timespec *deadline, uint32_t bitset,
                         int is_private) {
  int op = FUTEX_WAIT_BITSET | (is_private ? FUTEX_PRIVATE_FLAG : 0);
  return futex(word, op, expected, deadline, bitset) == 0 ? 0 : -errno;
}

int fx_futex_wake_bitset(uint32_t *word, int count, uint32_t bitset) {
  long n = futex(word, FUTEX_WAKE_BITSET, (uint32_t)count, NULL, bitset);
  return n < 0 ? -errno : (int)n;
}

int fx_futex_wake_private(uint32_t *word, int count) {
  long n = futex(word, FUTEX_WAKE_PRIVATE, (uint32_t)count, NULL, 0);
  return n < 0 ? -errno : (int)n;
}
