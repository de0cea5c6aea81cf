/* MAP_SHARED mappings handed to JavaScript as external ArrayBuffers.
 *
 * A mapping is unmapped either explicitly (SharedMemory#close, which then detaches
 * the ArrayBuffer) or by the ArrayBuffer's finalizer, whichever comes first; before
 * either, the JS thread's async waiters stop watching words in it (fx_async_close_range,
 * shim/napi/memory.c: the finalizer runs on the thread that made the ArrayBuffer, the only
 * one whose waits can watch it, since Node does not let an external ArrayBuffer move;
 * except through a second load of the addon in that thread: see memory.c). Each
 * mapping has its own record, found by address only while it is mapped, so a late
 * finalizer can never unmap a newer mapping that the kernel placed at the same address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "fastipc.h"

struct fx_mapping {
  void *addr; /* NULL once unmapped */
  size_t size;
  fx_mapping *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fx_mapping *live; /* every record not yet released by its finalizer */

int fx_map(int fd, size_t size, fx_mapping **out, void **addr) {
  fx_mapping *m = malloc(sizeof *m);
  if (!m) return -ENOMEM;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    free(m);
    return -e;
  }
  m->addr = p;
  m->size = size;
  pthread_mutex_lock(&lock);
  m->next = live;
  live = m;
  pthread_mutex_unlock(&lock);
  *out = m;
  *addr = p;
  return 0;
}

int fx_unmap(void *addr) {
  int rc = -ENOENT;
  pthread_mutex_lock(&lock);
  for (fx_mapping *m = live; m; m = m->next) {
    if (m->addr == addr) {
      rc = munmap(m->addr, m->size) == 0 ? 0 : -errno;
      m->addr = NULL;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

void *fx_mapping_addr(fx_mapping *m, size_t *size) {
  pthread_mutex_lock(&lock);
  void *addr = m->addr;
  *size = m->size;
  pthread_mutex_unlock(&lock);
  return addr;
}

void fx_mapping_release(fx_mapping *m) {
  pthread_mutex_lock(&lock);
  for (fx_mapping **pp = &live; *pp; pp = &(*pp)->next) {
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  }
  if (m->addr) munmap(m->addr, m->size);
  pthread_mutex_unlock(&lock);
  free(m);
}
