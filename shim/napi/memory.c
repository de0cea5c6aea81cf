/* Node-API glue for shared memory: mmap hands MAP_SHARED memory (sys/shm.c) to JS as an
 * external ArrayBuffer; munmap unmaps it and detaches the buffer. */
#include <limits.h>

#include "glue.h"

/* Reached when nothing references the memory any more, or when its thread's env is torn
 * down: a terminated worker's ArrayBuffers are freed before its cleanup hook stops its
 * waiter threads, with waits possibly still pending on them, and a waiter thread reading a
 * word of a range unmapped under it killed the whole process (SIGSEGV). So the env's
 * waiters let go of the range first, as close() does. The finalizer runs on the JS thread
 * that made the buffer, and only that thread's waits can watch it (Node does not transfer
 * an external ArrayBuffer); after that env's teardown hook, it has no waiters left.
 * Not covered: a second load of this addon in the same thread (two installed copies of
 * fastipc: each load has its own env and waiters) waiting on this buffer, or waits on a
 * buffer another library maps and unmaps; the README says so (Known limits). The cure
 * would be a waiter read that cannot fault (process_vm_readv on ourselves, EFAULT
 * completing the slot as closed). */
static void finalize_mapping(napi_env env, void *data, void *hint) {
  fx_mapping *m = hint;
  size_t size;
  void *addr = fx_mapping_addr(m, &size);
  if (addr) fx_async_close_range(env, addr, size);
  fx_mapping_release(m);
}

/* mmap(fd, size) -> ArrayBuffer over MAP_SHARED memory */
static napi_value map(napi_env env, napi_callback_info info) {
  fx_arg a[2];
  if (!FX_GET_ARGS(env, info, a, FX_INT("fd", 0, INT_MAX), FX_INT("size", 1, 9007199254740991.0))) return NULL;
  fx_mapping *m;
  void *addr;
  int rc = fx_map((int)a[0].i, (size_t)a[1].i, &m, &addr);
  if (rc < 0) return throw_errno(env, -rc, "mmap");
  napi_value ab;
  if (NAPI_FAILED(env, napi_create_external_arraybuffer(env, addr, (size_t)a[1].i, finalize_mapping, m, &ab))) {
    fx_mapping_release(m);
    return NULL;
  }
  return ab;
}

/* munmap(arrayBuffer): unmap now and detach, so stale views read nothing. */
static napi_value unmap(napi_env env, napi_callback_info info) {
  fx_arg a[1];
  if (!FX_GET_ARGS(env, info, a, FX_BUFFER("buffer"))) return NULL;
  bool detached = false;
  NAPI_CALL(env, napi_is_detached_arraybuffer(env, a[0].value, &detached));
  if (detached) return NULL;
  void *data;
  size_t length;
  NAPI_CALL(env, napi_get_arraybuffer_info(env, a[0].value, &data, &length));
  fx_async_close_range(env, data, length); /* before the memory goes */
  int rc = fx_unmap(data);
  if (rc < 0) return throw_errno(env, -rc, "munmap");
  NAPI_CALL(env, napi_detach_arraybuffer(env, a[0].value));
  return NULL;
}

const fx_function fx_memory_functions[] = {
    {"mmap", map},
    {"munmap", unmap},
    {NULL, NULL},
};
