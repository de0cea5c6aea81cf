/* Who is running, and since when: the owner-death and PID-registry checks use
 * (pid, tid, start time) because PIDs and TIDs are reused (pid_max can be 32768). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "fastipc.h"

int fx_gettid(void) { return (int)syscall(SYS_gettid); }

/* Field 22 of /proc/PID/task/TID/stat: start time in clock ticks after boot.
 * The comm field (2) may hold spaces and parentheses, so parse after the last ')'. */
int64_t fx_start_time(int pid, int tid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int e = errno;
  close(fd);
  if (n <= 0) return n < 0 ? -e : -ESRCH;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || !p[1] || !p[2]) return -EINVAL;
  if (p[2] == 'Z' || p[2] == 'X') return -ESRCH; /* field 3: a zombie runs no more */
  p++;
  for (int field = 3; field < 22; field++) { /* p sits on the space before field 3 */
    p = strchr(p + 1, ' ');
    if (!p) return -EINVAL;
  }
  return strtoll(p + 1, NULL, 10);
}

int fx_thread_exists(int pid, int tid) {
  /* Signal 0 checks existence and permission without sending anything: ESRCH is "gone",
   * EPERM is "there, but not ours"; unlike /proc, hidepid= does not hide it. */
  long rc = pid > 0 ? syscall(SYS_tgkill, pid, tid, 0) : syscall(SYS_tkill, tid, 0); /* pid 0: any process */
  if (rc == 0) return 1;
  if (errno == ESRCH) return 0;
  if (errno == EPERM) return 1;
  return -errno;
}

int fx_flock(int fd, int op) {
  int how = (op & 3) == 0 ? LOCK_UN : (op & 3) == 1 ? LOCK_SH : LOCK_EX;
  if (op & 4) how |= LOCK_NB;
  for (;;) {
    if (flock(fd, how) == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

const char *fx_errno_name(int err) {
#define E(x) \
  { x, #x }
  static const struct {
    int err;
    const char *name;
  } names[] = {
      E(EPERM),  E(ENOENT), E(ESRCH),        E(EINTR),  E(EIO),    E(EBADF),     E(EAGAIN),
      E(ENOMEM), E(EACCES), E(EFAULT),       E(EBUSY),  E(EEXIST), E(ENODEV),    E(ENOTDIR),
      E(EISDIR), E(EINVAL), E(ENFILE),       E(EMFILE), E(EFBIG),  E(ENOSPC),    E(ESPIPE),
      E(EROFS),  E(ERANGE), E(ENAMETOOLONG), E(ENOSYS), E(ELOOP),  E(EOVERFLOW), E(ETIMEDOUT),
  };
#undef E
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].err == err) return names[i].name;
  return "EUNKNOWN";
}
