/* Node-API glue: converts arguments, calls the plain C in futex.c / shm.c / proc.c,
 * converts results. No policy lives here. System errors become Error objects with
 * `code` ('ENOENT', ...), `errno` and `syscall`, as Node's own system errors do. */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fastipc.h"

#define MAX_ARGS 5

/* One helper per repeated chore. Each returns NULL/false after throwing. */

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value code, message, error, num, sys;
  napi_create_string_utf8(env, fx_errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
  return NULL;
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = MAX_ARGS;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want) {
    napi_throw_type_error(env, NULL, "fastipc shim: too few arguments");
    return false;
  }
  return true;
}

static bool arg_double(napi_env env, napi_value v, const char *name, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "fastipc shim: %s must be a number", name);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

/* An integer argument within [lo, hi], read through a double so that values
 * past 32 bits are rejected rather than silently truncated. */
static bool arg_int(napi_env env, napi_value v, const char *name, double lo, double hi, int64_t *out) {
  double d;
  if (!arg_double(env, v, name, &d)) return false;
  if (!(d >= lo && d <= hi) || d != floor(d)) {
    char msg[128];
    snprintf(msg, sizeof msg, "fastipc shim: %s must be an integer in [%.0f, %.0f]", name, lo, hi);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

/* The 32-bit word at `index` of an Int32Array or Uint32Array, bounds-checked; a
 * detached or closed buffer has length 0 and fails here instead of faulting. */
static uint32_t *arg_word(napi_env env, napi_value view, napi_value index) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  bool is_typed;
  napi_is_typedarray(env, view, &is_typed);
  if (!is_typed ||
      napi_get_typedarray_info(env, view, &type, &length, &data, NULL, NULL) != napi_ok ||
      (type != napi_int32_array && type != napi_uint32_array)) {
    napi_throw_type_error(env, NULL, "fastipc shim: expected an Int32Array or Uint32Array");
    return NULL;
  }
  int64_t i;
  if (!arg_int(env, index, "index", 0, 4294967295.0, &i)) return NULL;
  if (data == NULL || (size_t)i >= length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE",
                           "fastipc shim: word index out of range (is the memory closed?)");
    return NULL;
  }
  return (uint32_t *)data + i;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

/* futexWait(view, index, expected, timeoutMs) -> 'ok' | 'not-equal' | 'timed-out' */
static napi_value futex_wait(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 4, argv)) return NULL;
  uint32_t *word = arg_word(env, argv[0], argv[1]);
  if (!word) return NULL;
  int64_t expected;
  double timeout;
  if (!arg_int(env, argv[2], "expected", INT32_MIN, UINT32_MAX, &expected)) return NULL;
  if (!arg_double(env, argv[3], "timeout", &timeout)) return NULL;
  int rc = fx_futex_wait(word, (uint32_t)expected, timeout);
  if (rc < 0) return throw_errno(env, -rc, "futex_wait");
  static const char *names[] = {"ok", "not-equal", "timed-out"};
  napi_value out;
  napi_create_string_latin1(env, names[rc], NAPI_AUTO_LENGTH, &out);
  return out;
}

/* futexWake(view, index, count) -> number woken */
static napi_value futex_wake(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 3, argv)) return NULL;
  uint32_t *word = arg_word(env, argv[0], argv[1]);
  if (!word) return NULL;
  double count;
  if (!arg_double(env, argv[2], "count", &count)) return NULL;
  int n = !(count >= 0) ? 0 : count >= INT_MAX ? INT_MAX : (int)count;
  int rc = fx_futex_wake(word, n);
  if (rc < 0) return throw_errno(env, -rc, "futex_wake");
  return make_int(env, rc);
}

/* ---- async waits: waiter.c's threads, delivered to JS through a thread-safe function ---- */

typedef struct {
  napi_env env;
  fx_waiters *waiters;
  napi_threadsafe_function tsfn;
  uint32_t pending;          /* waits started and not yet delivered or cancelled */
  napi_ref *callbacks;       /* one per copy of the library loaded in this thread */
  uint32_t ncallbacks;
} async_ctx;

/* What a pending wait keeps: its memory (so it cannot be collected while the waiter
 * thread watches it) and which callback to report to. */
typedef struct {
  napi_ref memory;
  uint32_t channel;
} wait_user;

static async_ctx *get_ctx(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

/* The thread-safe function keeps the event loop alive only while a wait is pending,
 * as a pending timer does. Both calls run on the JS thread. */
static void pending_add(async_ctx *c, int delta) {
  uint32_t before = c->pending;
  c->pending += delta;
  if (before == 0 && c->pending > 0) napi_ref_threadsafe_function(c->env, c->tsfn);
  if (before > 0 && c->pending == 0) napi_unref_threadsafe_function(c->env, c->tsfn);
}

static void notify_js(void *arg) {
  napi_call_threadsafe_function(((async_ctx *)arg)->tsfn, NULL, napi_tsfn_nonblocking);
}

/* On the JS thread: hand every completion to its channel's callback as (id, code). */
static void deliver(napi_env env, napi_value js_cb, void *context, void *data) {
  async_ctx *c = context;
  if (!env) return;  /* tearing down */
  fx_completion *list = fx_waiters_take(c->waiters);
  napi_value undefined, argv[2], fn;
  napi_get_undefined(env, &undefined);
  napi_value first_error = NULL;
  for (fx_completion *done = list, *next; done; done = next) {
    next = done->next;
    wait_user *u = done->user;
    napi_delete_reference(env, u->memory);
    pending_add(c, -1);
    napi_create_uint32(env, done->id, &argv[0]);
    napi_create_int32(env, done->code, &argv[1]);
    if (napi_get_reference_value(env, c->callbacks[u->channel], &fn) == napi_ok && fn &&
        napi_call_function(env, undefined, fn, 2, argv, NULL) == napi_pending_exception) {
      /* deliver the rest of the batch first; then let the first error surface */
      napi_value e;
      napi_get_and_clear_last_exception(env, &e);
      if (!first_error) first_error = e;
    }
    free(u);
    fx_completion_free(done);
  }
  if (first_error) napi_throw(env, first_error);
}

static void drop_ref(void *user, void *arg) { free(user); /* the env takes its references along */ }

static void teardown(void *arg) {
  async_ctx *c = arg;
  napi_set_instance_data(c->env, NULL, NULL, NULL);  /* a late mapping finalizer finds none */
  fx_waiters_free(c->waiters, drop_ref, NULL);  /* joins the waiter threads first */
  napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
  free(c->callbacks);
  free(c);
}

/* waitAsyncInit(callback(id, code)) -> channel: once per copy of the library in a JS
 * thread (an ESM and a CJS copy, or jest's per-file module registries, each get theirs). */
static napi_value wait_async_init(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 1, argv)) return NULL;
  async_ctx *c = get_ctx(env);
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c) return throw_errno(env, ENOMEM, "waitAsyncInit");
    c->env = env;
    c->waiters = fx_waiters_new(notify_js, c);
    napi_value name;
    napi_create_string_utf8(env, "fastipc waiter", NAPI_AUTO_LENGTH, &name);
    if (!c->waiters ||
        napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, c, deliver, &c->tsfn) != napi_ok) {
      free(c);
      napi_throw_error(env, NULL, "fastipc shim: cannot start the async waiter");
      return NULL;
    }
    napi_unref_threadsafe_function(env, c->tsfn);
    napi_set_instance_data(env, c, NULL, NULL);
    napi_add_env_cleanup_hook(env, teardown, c);  /* after the tsfn's own hook: runs before it */
  }
  napi_ref *grown = realloc(c->callbacks, (c->ncallbacks + 1) * sizeof *grown);
  if (!grown) return throw_errno(env, ENOMEM, "waitAsyncInit");
  c->callbacks = grown;
  napi_create_reference(env, argv[0], 1, &c->callbacks[c->ncallbacks]);
  return make_int(env, c->ncallbacks++);
}

/* waitAsync(view, index, expected, timeoutMs, id, channel) -> 0 started (the channel's
 * callback gets (id, code) later), 1 'not-equal' now */
static napi_value wait_async(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  async_ctx *c = get_ctx(env);
  if (argc < 6 || !c) {
    napi_throw_error(env, NULL, "fastipc shim: waitAsync needs waitAsyncInit and 5 arguments");
    return NULL;
  }
  uint32_t *word = arg_word(env, argv[0], argv[1]);
  if (!word) return NULL;
  int64_t expected, id;
  double timeout;
  if (!arg_int(env, argv[2], "expected", INT32_MIN, UINT32_MAX, &expected)) return NULL;
  if (!arg_double(env, argv[3], "timeout", &timeout)) return NULL;
  if (!arg_int(env, argv[4], "id", 0, UINT32_MAX, &id)) return NULL;
  int64_t channel;
  if (!arg_int(env, argv[5], "channel", 0, c->ncallbacks - 1.0, &channel)) return NULL;
  wait_user *u = malloc(sizeof *u);
  if (!u) return throw_errno(env, ENOMEM, "waitAsync");
  u->channel = (uint32_t)channel;
  napi_create_reference(env, argv[0], 1, &u->memory);
  int rc = fx_waiters_add(c->waiters, word, (uint32_t)expected, timeout, (uint32_t)id, u);
  if (rc != 0) {
    napi_delete_reference(env, u->memory);
    free(u);
  }
  if (rc < 0) return throw_errno(env, -rc, "waitAsync");
  if (rc == 0) pending_add(c, 1);
  return make_int(env, rc);
}

/* waitAsyncCancel(id) -> true if it was still pending (no callback will come). Ids are
 * unique per thread: the JS side draws them from one counter per channel, channel in the
 * top 12 bits. */
static napi_value wait_async_cancel(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 1, argv)) return NULL;
  async_ctx *c = get_ctx(env);
  int64_t id;
  if (!arg_int(env, argv[0], "id", 0, UINT32_MAX, &id)) return NULL;
  void *user = NULL;
  int found = c && fx_waiters_cancel(c->waiters, (uint32_t)id, &user);
  if (found) {
    napi_delete_reference(env, ((wait_user *)user)->memory);
    free(user);
    pending_add(c, -1);
  }
  napi_value out;
  napi_get_boolean(env, found, &out);
  return out;
}

/* waitAsyncMode() -> 'futex_waitv' | 'futex_wait': how this thread's async waits sleep
 * (the second without futex_waitv: Linux < 5.16, or a seccomp profile that refuses it). */
static napi_value wait_async_mode(napi_env env, napi_callback_info info) {
  async_ctx *c = get_ctx(env);
  int fallback = c ? fx_waiters_fallback(c->waiters) : fx_waitv_supported() < 0;
  napi_value out;
  napi_create_string_latin1(env, fallback ? "futex_wait" : "futex_waitv", NAPI_AUTO_LENGTH, &out);
  return out;
}

/* Only reached when nothing references the memory, so no pending wait watches it (each
 * holds a reference), and waiter.c never reads a slot's word after its last wait was
 * cancelled and its thread has been round (a cancel waits for that round in fallback
 * mode; with futex_waitv a cancelled slot's word is never read). */
static void finalize_mapping(napi_env env, void *data, void *hint) {
  fx_mapping_release((fx_mapping *)hint);
}

/* mmap(fd, size) -> ArrayBuffer over MAP_SHARED memory */
static napi_value map(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 2, argv)) return NULL;
  int64_t fd, size;
  if (!arg_int(env, argv[0], "fd", 0, INT_MAX, &fd)) return NULL;
  if (!arg_int(env, argv[1], "size", 1, 9007199254740991.0, &size)) return NULL;
  fx_mapping *m;
  void *addr;
  int rc = fx_map((int)fd, (size_t)size, &m, &addr);
  if (rc < 0) return throw_errno(env, -rc, "mmap");
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, (size_t)size, finalize_mapping, m, &ab) != napi_ok) {
    fx_mapping_release(m);
    napi_throw_error(env, NULL, "fastipc shim: cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return ab;
}

/* munmap(arrayBuffer): unmap now and detach, so stale views read nothing. */
static napi_value unmap(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 1, argv)) return NULL;
  bool is_ab = false, detached = false;
  napi_is_arraybuffer(env, argv[0], &is_ab);
  if (!is_ab) {
    napi_throw_type_error(env, NULL, "fastipc shim: expected an ArrayBuffer");
    return NULL;
  }
  napi_is_detached_arraybuffer(env, argv[0], &detached);
  if (detached) return NULL;
  void *data;
  size_t length;
  napi_get_arraybuffer_info(env, argv[0], &data, &length);
  async_ctx *c = get_ctx(env);
  if (c) fx_waiters_close_range(c->waiters, data, length);  /* before the memory goes */
  int rc = fx_unmap(data);
  if (rc < 0) return throw_errno(env, -rc, "munmap");
  napi_detach_arraybuffer(env, argv[0]);
  return NULL;
}

/* threadExists(pid, tid) -> whether thread tid of process pid (0: of any process) exists,
 * by tgkill/tkill with signal 0 */
static napi_value thread_exists(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 2, argv)) return NULL;
  int64_t pid, tid;
  if (!arg_int(env, argv[0], "pid", 0, INT_MAX, &pid)) return NULL;
  if (!arg_int(env, argv[1], "tid", 1, INT_MAX, &tid)) return NULL;
  int rc = fx_thread_exists((int)pid, (int)tid);
  if (rc < 0) return throw_errno(env, -rc, "tgkill");
  napi_value out;
  napi_get_boolean(env, rc, &out);
  return out;
}

static napi_value gettid_(napi_env env, napi_callback_info info) {
  return make_int(env, fx_gettid());
}

/* startTime(pid, tid) -> clock ticks since boot; throws with code ENOENT when gone */
static napi_value start_time(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 2, argv)) return NULL;
  int64_t pid, tid;
  if (!arg_int(env, argv[0], "pid", 1, INT_MAX, &pid)) return NULL;
  if (!arg_int(env, argv[1], "tid", 1, INT_MAX, &tid)) return NULL;
  int64_t t = fx_start_time((int)pid, (int)tid);
  if (t < 0) return throw_errno(env, (int)-t, "open /proc/pid/task/tid/stat");
  return make_int(env, t);
}

/* flock(fd, op): op 0 unlock, 1 shared, 2 exclusive, | 4 non-blocking */
static napi_value flock_(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  if (!get_args(env, info, 2, argv)) return NULL;
  int64_t fd, op;
  if (!arg_int(env, argv[0], "fd", 0, INT_MAX, &fd)) return NULL;
  if (!arg_int(env, argv[1], "op", 0, 7, &op)) return NULL;
  int rc = fx_flock((int)fd, (int)op);
  if (rc < 0) return throw_errno(env, -rc, "flock");
  return NULL;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback fn; } fns[] = {
      {"futexWait", futex_wait}, {"futexWake", futex_wake}, {"mmap", map},
      {"munmap", unmap},         {"gettid", gettid_},       {"startTime", start_time},
      {"flock", flock_},         {"waitAsyncInit", wait_async_init},
      {"waitAsync", wait_async}, {"waitAsyncCancel", wait_async_cancel},
      {"threadExists", thread_exists}, {"waitAsyncMode", wait_async_mode},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
