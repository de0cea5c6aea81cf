/* Node-API glue for processes and threads (sys/proc.c): who is running, whether a thread
 * still exists, since when, and flock(2). */
#include <limits.h>

#include "glue.h"

static napi_value gettid_(napi_env env, napi_callback_info info) { return fx_int(env, fx_gettid()); }

/* startTime(pid, tid) -> clock ticks since boot; throws with code ENOENT when gone */
static napi_value start_time(napi_env env, napi_callback_info info) {
  fx_arg a[2];
  if (!FX_GET_ARGS(env, info, a, FX_INT("pid", 1, INT_MAX), FX_INT("tid", 1, INT_MAX))) return NULL;
  int64_t t = fx_start_time((int)a[0].i, (int)a[1].i);
  if (t < 0) return throw_errno(env, (int)-t, "open /proc/pid/task/tid/stat");
  return fx_int(env, t);
}

/* threadExists(pid, tid) -> whether thread tid of process pid (0: of any process) exists,
 * by tgkill/tkill with signal 0 */
static napi_value thread_exists(napi_env env, napi_callback_info info) {
  fx_arg a[2];
  if (!FX_GET_ARGS(env, info, a, FX_INT("pid", 0, INT_MAX), FX_INT("tid", 1, INT_MAX))) return NULL;
  int rc = fx_thread_exists((int)a[0].i, (int)a[1].i);
  if (rc < 0) return throw_errno(env, -rc, "tgkill");
  return fx_bool(env, rc);
}

/* flock(fd, op): op 0 unlock, 1 shared, 2 exclusive, | 4 non-blocking */
static napi_value flock_(napi_env env, napi_callback_info info) {
  fx_arg a[2];
  if (!FX_GET_ARGS(env, info, a, FX_INT("fd", 0, INT_MAX), FX_INT("op", 0, 7))) return NULL;
  int rc = fx_flock((int)a[0].i, (int)a[1].i);
  if (rc < 0) return throw_errno(env, -rc, "flock");
  return NULL;
}

const fx_function fx_process_functions[] = {
    {"gettid", gettid_}, {"startTime", start_time}, {"threadExists", thread_exists}, {"flock", flock_}, {NULL, NULL},
};
